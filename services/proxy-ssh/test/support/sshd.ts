import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopbackPort } from '@portcullis/infra';
import { startSshd as startSshdIn, type Sshd } from '@portcullis/infra/targets';

export type TestSshd = Sshd;

/** infra's OpenSSH server (the same as npm start's demo host) in a temp dir on a free loopback port; stop() removes the dir. */
export async function startSshd(): Promise<TestSshd> {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-sshd-'));
  const sshd = await startSshdIn({ dir, port: await freeLoopbackPort() });
  return {
    ...sshd,
    async stop() {
      await sshd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
