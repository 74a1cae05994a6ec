import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSshd as startSshdIn, type Sshd } from '@portcullis/infra/targets';

export type TestSshd = Sshd;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** infra's OpenSSH server (the same as npm start's demo host) in a temp dir on a free loopback port; stop() removes the dir. */
export async function startSshd(): Promise<TestSshd> {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-sshd-'));
  const sshd = await startSshdIn({ dir, port: await freePort() });
  return {
    ...sshd,
    async stop() {
      await sshd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
