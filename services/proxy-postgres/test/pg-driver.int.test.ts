import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { startProxy, type RunningProxy } from './support/proxy-harness.ts';
import { createTestTarget, type TestTarget } from './support/target-database.ts';
import type { Judge } from './support/in-memory-gate.ts';
import { tokenFor } from './support/test-verifier.ts';

const judge: Judge = (command) => {
  const text = command.command.kind === 'sql' ? command.command.text : '';
  if (/\bdelete\b/i.test(text)) return { effect: 'block', ruleIds: ['no-deletes'], reasons: ['deletes need approval'] };
  return { effect: 'allow', ruleIds: ['allow-rest'] };
};

describe('the pg driver and pgbench through the proxy', () => {
  let target: TestTarget;
  let proxy: RunningProxy;

  before(async () => {
    target = await createTestTarget('pgdriver');
    await target.admin(`CREATE TABLE ${target.schema}.items (id int primary key, name text, qty int)`);
    await target.admin(`INSERT INTO ${target.schema}.items SELECT g, 'item ' || g, g * 10 FROM generate_series(1, 20) g`);
    await target.admin(`ALTER TABLE ${target.schema}.items OWNER TO ${target.role}`);
    proxy = await startProxy(target, { judge });
  });
  after(async () => {
    await proxy?.close();
    await target?.drop();
  });

  it('runs plain and parameterized queries', async () => {
    const client = await proxy.client();
    try {
      const plain = await client.query('SELECT count(*)::int AS n FROM items');
      assert.equal(plain.rows[0].n, 20);
      const param = await client.query('SELECT name, qty FROM items WHERE id = $1', [7]);
      assert.deepEqual(param.rows, [{ name: 'item 7', qty: 70 }]);
      // An unnamed statement: judged at Parse, and its execution is a command of its own with the bound value.
      const [parsed, executed] = proxy.gate.commands.slice(-2).map((c) => c.command);
      assert.deepEqual(parsed, { kind: 'sql', text: 'SELECT name, qty FROM items WHERE id = $1', phase: 'parse', statementName: '' });
      assert.deepEqual(executed, { kind: 'sql', text: 'SELECT name, qty FROM items WHERE id = $1', phase: 'bind', statementName: '', parameters: ['7'] });
    } finally {
      await client.end();
    }
  });

  it('records every execution of a prepared statement as its own command, with its parameters, before it runs', async () => {
    const client = await proxy.client();
    try {
      const before = proxy.gate.commands.length;
      for (let i = 1; i <= 5; i++) {
        const r = await client.query({ name: 'by-id', text: 'SELECT qty FROM items WHERE id = $1', values: [i] });
        assert.equal(r.rows[0].qty, i * 10);
      }
      const judged = proxy.gate.commands.slice(before);
      assert.deepEqual(
        judged.map((c) => (c.command.kind === 'sql' ? [c.command.phase, c.command.parameters ?? null] : [])),
        [['parse', null], ['bind', ['1']], ['bind', ['2']], ['bind', ['3']], ['bind', ['4']], ['bind', ['5']]],
      );
      // Each execution completed under its own command id, with its row.
      const completed = () => judged.slice(1).every((c) => proxy.sink.events.some((e) => e.type === 'CommandCompleted' && e.commandId === c.commandId));
      for (let i = 0; i < 50 && !completed(); i++) await new Promise((r) => setTimeout(r, 20));
      for (const c of judged.slice(1)) {
        const done = proxy.sink.events.find((e) => e.type === 'CommandCompleted' && e.commandId === c.commandId);
        assert.deepEqual(done && done.type === 'CommandCompleted' && [done.status, done.rows], ['executed', 1]);
      }
    } finally {
      await client.end();
    }
  });

  it('refuses an execution the policy now blocks, though the statement was allowed when it was prepared', async () => {
    const client = await proxy.client();
    const blockSecondExecution: Judge = (command) =>
      command.command.kind === 'sql' && command.command.phase === 'bind' && command.command.parameters?.[0] === '2'
        ? { effect: 'block', ruleIds: ['not-two'], reasons: ['item 2 is off limits'] }
        : judge(command);
    proxy.gate.judgeWith = blockSecondExecution;
    try {
      const first = await client.query({ name: 'qty-of', text: 'SELECT qty FROM items WHERE id = $1', values: [1] });
      assert.equal(first.rows[0].qty, 10);
      await assert.rejects(client.query({ name: 'qty-of', text: 'SELECT qty FROM items WHERE id = $1', values: [2] }), /rule not-two: item 2 is off limits/);
      const third = await client.query({ name: 'qty-of', text: 'SELECT qty FROM items WHERE id = $1', values: [3] });
      assert.equal(third.rows[0].qty, 30);
    } finally {
      proxy.gate.judgeWith = judge;
      await client.end();
    }
  });

  it('refuses a blocked statement in the extended protocol and the connection stays in sync', async () => {
    const client = await proxy.client();
    try {
      await assert.rejects(client.query('DELETE FROM items WHERE id = $1', [1]), (err: pg.DatabaseError) => {
        assert.equal(err.code, '42501');
        assert.match(err.message, /Portcullis blocked this statement: rule no-deletes: deletes need approval/);
        return true;
      });
      const r = await client.query('SELECT count(*)::int AS n FROM items WHERE id = $1', [1]);
      assert.equal(r.rows[0].n, 1);
      // pipelined: the driver sends the next queries before the error comes back
      const results = await Promise.allSettled([
        client.query('SELECT 1 AS a'),
        client.query({ name: 'doomed', text: 'DELETE FROM items WHERE id = $1', values: [2] }),
        client.query('SELECT $1::int AS b', [2]),
      ]);
      assert.equal(results[0].status, 'fulfilled');
      assert.equal(results[1].status, 'rejected');
      assert.equal(results[2].status, 'fulfilled');
      assert.equal((results[2] as PromiseFulfilledResult<pg.QueryResult>).value.rows[0].b, 2);
    } finally {
      await client.end();
    }
  });

  it('rolls back an extended-protocol batch whose later statement is refused', async () => {
    const client = await proxy.client();
    try {
      await client.query('BEGIN');
      await client.query('UPDATE items SET qty = 0 WHERE id = $1', [3]);
      await assert.rejects(client.query('DELETE FROM items WHERE id = $1', [3]));
      await assert.rejects(client.query('SELECT 1'), /current transaction is aborted/);
      await client.query('ROLLBACK');
      const r = await client.query('SELECT qty FROM items WHERE id = 3');
      assert.equal(r.rows[0].qty, 30);
    } finally {
      await client.end();
    }
  });

  it('serves a pool of concurrent clients', async () => {
    const pool = new pg.Pool({ ...proxy.clientConfig(), max: 8 });
    try {
      const work = Array.from({ length: 40 }, (_, i) => pool.query('SELECT id, qty FROM items WHERE id = $1', [(i % 20) + 1]));
      const results = await Promise.all(work);
      results.forEach((r, i) => assert.equal(r.rows[0].qty, ((i % 20) + 1) * 10));
    } finally {
      await pool.end();
    }
  });

  it('reads binary results', async () => {
    const client = await proxy.client({ binary: true } as Partial<pg.ClientConfig>);
    try {
      const r = await client.query({ text: 'SELECT id, name FROM items WHERE id = $1', values: [5], binary: true } as pg.QueryConfig);
      assert.equal(r.rows[0].id, 5);
      assert.equal(r.rows[0].name, 'item 5');
    } finally {
      await client.end();
    }
  });

  it('runs pgbench -i and then -S in simple, extended and prepared mode', async () => {
    const env = { PATH: process.env.PATH ?? '/usr/bin', PGPASSWORD: tokenFor('alice'), PGSSLMODE: 'require' };
    const base = ['-h', '127.0.0.1', '-p', String(proxy.port), '-U', 'alice'];
    const run = (args: string[]): Promise<{ code: number | null; out: string }> =>
      new Promise((resolve) => {
        const child = spawn('pgbench', [...base, ...args, proxy.resourceName], { env });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d));
        child.stderr.on('data', (d: Buffer) => (out += d));
        child.on('close', (code) => resolve({ code, out }));
      });
    const init = await run(['-i', '-s', '1', '-q']);
    assert.equal(init.code, 0, init.out);
    for (const mode of ['simple', 'extended', 'prepared']) {
      const before = proxy.gate.commands.length;
      const bench = await run(['-S', '-M', mode, '-T', '2', '-c', '4', '-j', '2']);
      assert.equal(bench.code, 0, bench.out);
      const tps = /tps = ([\d.]+)/.exec(bench.out);
      assert.ok(tps && Number(tps[1]) > 0, `${mode}: ${bench.out}`); // speed is bench:pg's business, not a test's
      console.log(`pgbench -S -M ${mode}: ${tps![1]} tps`);
      // Every transaction pgbench counted ran one SELECT on pgbench_accounts, and each one was a command with its aid.
      const processed = Number(/number of transactions actually processed: (\d+)/.exec(bench.out)?.[1]);
      const selects = proxy.gate.commands.slice(before).filter((c) => c.command.kind === 'sql' && c.command.text.startsWith('SELECT abalance FROM pgbench_accounts WHERE aid = ') && c.command.phase !== 'parse');
      assert.ok(selects.length >= processed && selects.length <= processed + 4, `${mode}: ${selects.length} commands for ${processed} transactions`);
      const odd = selects.filter((c) => !(c.command.kind === 'sql' && c.command.phase === 'bind' && /^\d+$/.test(c.command.parameters?.[0] ?? '')));
      if (mode !== 'simple') assert.deepEqual(odd.slice(0, 2).map((c) => c.command), []);
    }
  });
});
