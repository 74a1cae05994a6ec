import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { startProxy, type RunningProxy } from './support/proxy-harness.ts';
import { createTestTarget, type TestTarget } from './support/target-database.ts';
import type { Judge } from './support/in-memory-gate.ts';
import { tokenFor } from './support/test-verifier.ts';

const APPROVAL = '0190a4a4-0000-7000-8000-000000000001';

let gateDown = false;
const judge: Judge = (command) => {
  const text = command.command.kind === 'sql' ? command.command.text : '';
  if (gateDown && /delete/i.test(text)) throw new Error('verdict timed out after 5000 ms (Kafka unreachable)');
  if (/hang forever/i.test(text)) return new Promise(() => undefined);
  if (/delete/i.test(text)) return { effect: 'hold', ruleIds: ['four-eyes'], reasons: ['deletes need a second person'], approvalId: APPROVAL };
  return { effect: 'allow', ruleIds: ['allow'] };
};

describe('hold, fail closed and cancel', () => {
  let target: TestTarget;
  let proxy: RunningProxy;
  const count = async (id: number): Promise<number> =>
    (await target.admin(`SELECT count(*)::int AS n FROM ${target.schema}.orders WHERE id = $1`, [id])).rows[0].n;

  before(async () => {
    target = await createTestTarget('hold');
    await target.admin(`CREATE TABLE ${target.schema}.orders (id int primary key)`);
    await target.admin(`INSERT INTO ${target.schema}.orders SELECT generate_series(1, 10)`);
    await target.admin(`ALTER TABLE ${target.schema}.orders OWNER TO ${target.role}`);
    proxy = await startProxy(target, { judge, config: { verdictTimeoutMs: 500, holdTimeoutMs: 1500 } });
  });
  after(async () => {
    await proxy?.close();
    await target?.drop();
  });

  it('holds a statement, tells the caller how to approve, and runs it once approved', async () => {
    const held = proxy.gate.nextHeld();
    const run = proxy.psql(['-At', '-c', 'DELETE FROM orders WHERE id = 1']);
    const command = await held;
    assert.equal(await count(1), 1, 'nothing runs while held');
    proxy.gate.decideHeld(command.commandId, { effect: 'allow', ruleIds: ['four-eyes'] });
    const r = await run;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`NOTICE: {2}Portcullis is holding this statement for approval ${APPROVAL}`));
    assert.match(r.stderr, new RegExp(`portcullis approvals grant ${APPROVAL}`));
    assert.equal(r.stdout, 'DELETE 1\n');
    assert.equal(await count(1), 0);
  });

  it('fails a held statement that is denied', async () => {
    const held = proxy.gate.nextHeld();
    const run = proxy.psql(['-At', '-c', 'DELETE FROM orders WHERE id = 2']);
    proxy.gate.decideHeld((await held).commandId, { effect: 'block', ruleIds: ['four-eyes'], reasons: ['denied by bob'] });
    const r = await run;
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`ERROR: {2}Portcullis approval ${APPROVAL} was denied: rule four-eyes: denied by bob`));
    assert.equal(await count(2), 1);
  });

  it('fails a held statement whose approval does not come in time', async () => {
    const r = await proxy.psql(['-At', '-c', 'DELETE FROM orders WHERE id = 3']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ERROR: {2}Portcullis held this statement for approval .* and it was not approved: approval timed out/);
    assert.equal(await count(3), 1);
  });

  it('fails closed when the gate rejects: clear error, the row is not deleted', async () => {
    gateDown = true;
    try {
      const r = await proxy.psql(['-At', '-c', 'DELETE FROM orders WHERE id = 4']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /ERROR: {2}Portcullis could not get a verdict for this statement, so it was not run: verdict timed out after 5000 ms \(Kafka unreachable\)/);
      assert.equal(await count(4), 1);
      const refused = proxy.sink.ofType('CommandCompleted').at(-1)!;
      assert.equal(refused.status, 'refused');
    } finally {
      gateDown = false;
    }
  });

  it('fails closed when the gate never answers (engine deadline)', async () => {
    const client = await proxy.client();
    try {
      await assert.rejects(client.query("SELECT 'hang forever'"), /could not get a verdict for this statement, so it was not run: no verdict within 500 ms/);
      const r = await client.query('SELECT 1 AS ok');
      assert.equal(r.rows[0].ok, 1);
    } finally {
      await client.end();
    }
  });

  it('cancels a running statement on the target (CancelRequest via psql SIGINT)', async () => {
    const started = Date.now();
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn('psql', ['-X', '-h', '127.0.0.1', '-p', String(proxy.port), '-U', 'alice', '-d', proxy.resourceName, '-c', 'SELECT pg_sleep(30)'], {
        env: { PATH: process.env.PATH ?? '/usr/bin', PGPASSWORD: tokenFor('alice'), PGSSLMODE: 'require' },
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d));
      setTimeout(() => child.kill('SIGINT'), 1000);
      child.on('close', (code) => resolve({ code, stderr }));
    });
    assert.match(r.stderr, /canceling statement due to user request/);
    assert.ok(Date.now() - started < 10_000);
  });

  it('cancels a statement waiting for approval, and aborts the wait when the caller disconnects', async () => {
    const held = proxy.gate.nextHeld();
    const r = new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn('psql', ['-X', '-h', '127.0.0.1', '-p', String(proxy.port), '-U', 'alice', '-d', proxy.resourceName, '-c', 'DELETE FROM orders WHERE id = 5'], {
        env: { PATH: process.env.PATH ?? '/usr/bin', PGPASSWORD: tokenFor('alice'), PGSSLMODE: 'require' },
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d));
      void held.then(() => setTimeout(() => child.kill('SIGINT'), 100));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    const result = await r;
    assert.match(result.stderr, /ERROR: {2}canceling statement due to user request/);
    assert.equal(await count(5), 1);
    const cmd = await held;
    await new Promise((res) => setTimeout(res, 100));
    const completed = proxy.sink.ofType('CommandCompleted').find((e) => e.commandId === cmd.commandId);
    assert.equal(completed?.status, 'cancelled');

    // disconnect while held
    const held2 = proxy.gate.nextHeld();
    const client = await proxy.client();
    client.on('error', () => undefined);
    const pending = client.query('DELETE FROM orders WHERE id = 6').catch(() => undefined);
    const cmd2 = await held2;
    (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    await pending;
    await new Promise((res) => setTimeout(res, 200));
    const completed2 = proxy.sink.ofType('CommandCompleted').find((e) => e.commandId === cmd2.commandId);
    assert.equal(completed2?.status, 'cancelled');
    assert.equal(await count(6), 1);
  });
});
