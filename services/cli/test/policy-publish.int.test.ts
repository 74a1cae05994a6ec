import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { busConfigFromEnv, createBus, followTopic, silentLogger } from '@portcullis/kit';
import type { PolicySetPublished } from '@portcullis/schemas';

const bin = fileURLToPath(new URL('../bin/portcullis.js', import.meta.url));
const example = fileURLToPath(new URL('../../../policies/examples/automation-access.yaml', import.meta.url));

function portcullis(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

test('portcullis policy publish puts successive versions on the policies topic and refuses an invalid document', async () => {
  const namespace = `t-publish-${randomBytes(4).toString('hex')}`;
  const env = { PORTCULLIS_TOPIC_NAMESPACE: namespace };
  const unconfirmed = await portcullis(['policy', 'publish', example], env);
  assert.equal(unconfirmed.code, 1, 'a script without --yes publishes nothing');
  assert.match(unconfirmed.stdout, /what-if: .*automation-access\.yaml against the recorded commands from the log/);
  assert.match(unconfirmed.stderr, /not published: confirm on a terminal, or pass --yes in scripts/);
  const first = await portcullis(['policy', 'publish', '--yes', example], env);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /no command would be decided differently/);
  assert.match(first.stdout, /as version 1 of policy set "default"/);
  const second = await portcullis(['policy', 'publish', '--yes', '--no-whatif', example], env);
  assert.match(second.stdout, /as version 2/);

  const dir = mkdtempSync(join(tmpdir(), 'pcl-'));
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'apiVersion: portcullis/v1\nrules:\n  - id: x\n    effect: sometimes\n');
  const refused = await portcullis(['policy', 'publish', '--yes', bad], env);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /bad\.yaml:4: rules\[0\]\.effect/);

  const bus = createBus({ config: busConfigFromEnv('publish-check'), logger: silentLogger(), namespace });
  const seen: PolicySetPublished[] = [];
  const follower = await followTopic(bus, 'policies', (e) => void seen.push(e));
  await follower.caughtUp;
  await follower.stop();
  await bus.disconnect();
  assert.deepEqual(seen.map((e) => e.version), [1, 2], 'the refused document never reached the topic');
});
