import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { verifyChain, type ChainedEvent } from '@portcullis/schemas';
import { startProxy, type RunningProxy } from './support/proxy-harness.ts';
import { createTestTarget, type TestTarget } from './support/target-database.ts';
import type { Judge } from './support/in-memory-gate.ts';

/** Blocks DROP / TRUNCATE (like a policy would), allows everything else. */
const judge: Judge = (command) => {
  const text = command.command.kind === 'sql' ? command.command.text : '';
  if (command.command.kind === 'sql' && command.command.phase === 'function-call') return { effect: 'block', ruleIds: ['no-function-calls'], reasons: ['FunctionCall is not allowed'] };
  if (/\b(drop|truncate)\b/i.test(text)) return { effect: 'block', ruleIds: ['no-ddl-in-prod'], reasons: ['DDL needs a change ticket'] };
  return { effect: 'allow', ruleIds: ['read-write'] };
};

describe('psql through the proxy', () => {
  let target: TestTarget;
  let proxy: RunningProxy;

  before(async () => {
    target = await createTestTarget('psql');
    await target.admin(`CREATE TABLE ${target.schema}.accounts (id int primary key, owner text, balance numeric)`);
    await target.admin(`INSERT INTO ${target.schema}.accounts VALUES (1, 'alice', 10), (2, 'bob', 20), (3, 'carol', 30)`);
    await target.admin(`ALTER TABLE ${target.schema}.accounts OWNER TO ${target.role}`);
    proxy = await startProxy(target, { judge });
  });
  after(async () => {
    await proxy?.close();
    await target?.drop();
  });

  it('prints the rows of an allowed SELECT', async () => {
    const r = await proxy.psql(['-At', '-c', 'SELECT id, owner FROM accounts ORDER BY id']);
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '1|alice\n2|bob\n3|carol\n');
  });

  it('refuses a blocked DROP with the rule, and the table still exists', async () => {
    const r = await proxy.psql(['-At', '-c', 'DROP TABLE accounts']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ERROR: {2}Portcullis blocked this statement: rule no-ddl-in-prod: DDL needs a change ticket/);
    const still = await target.admin(`SELECT count(*)::int AS n FROM ${target.schema}.accounts`);
    assert.equal(still.rows[0].n, 3);
  });

  it('runs none of a multi-statement string when it is blocked', async () => {
    const r = await proxy.psql(['-At', '-c', "UPDATE accounts SET owner = 'mallory' WHERE id = 1; TRUNCATE accounts"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ERROR: {2}Portcullis blocked this statement/);
    const row = await target.admin(`SELECT owner FROM ${target.schema}.accounts WHERE id = 1`);
    assert.equal(row.rows[0].owner, 'alice');
  });

  it('runs a script from stdin, refusing only the blocked statement and keeping the transaction semantics', async () => {
    const script = [
      'SELECT count(*) FROM accounts;',
      'BEGIN;',
      "UPDATE accounts SET balance = balance + 1 WHERE id = 2;",
      'DROP TABLE accounts;',
      'SELECT 1;',
      'ROLLBACK;',
      'SELECT balance FROM accounts WHERE id = 2;',
    ].join('\n');
    const r = await proxy.psql(['-At', '-f', '-'], { input: script });
    assert.equal(r.code, 0, r.stderr);
    // the refused DROP aborts the transaction block exactly as a failing statement would
    assert.match(r.stderr, /Portcullis blocked this statement/);
    assert.match(r.stderr, /current transaction is aborted/);
    assert.equal(r.stdout, '3\nBEGIN\nUPDATE 1\nROLLBACK\n20\n');
  });

  it('refuses a bad token with FATAL 28P01 and nothing reaches the target', async () => {
    const before = proxy.gate.commands.length;
    const r = await proxy.psql(['-At', '-c', 'SELECT 1'], { token: 'not-a-jwt' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /FATAL: {2}access token rejected for user "alice": token signature is invalid/);
    assert.equal(proxy.gate.commands.length, before);
  });

  it('refuses a token over an unencrypted connection and says why', async () => {
    const r = await proxy.psql(['-At', '-c', 'SELECT 1'], { sslmode: 'disable' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /FATAL: {2}Portcullis accepts the access token only over TLS/);
  });

  it('refuses an unknown resource', async () => {
    const r = await proxy.psql(['-At', '-c', 'SELECT 1', '-d', 'no-such-resource']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /resource "no-such-resource" does not exist/);
  });

  it('takes the reason from options and hides it from the target', async () => {
    const r = await proxy.psql(['-At', '-c', "SELECT current_setting('statement_timeout'), current_setting('portcullis.reason', true) IS NULL"], {
      env: { PGOPTIONS: '-c portcullis.reason=INC-42\\ disk\\ full -c statement_timeout=90s' },
    });
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, '90s|t\n');
    const last = proxy.gate.commands.at(-1)!;
    assert.equal(last.reason, 'INC-42 disk full');
  });

  it('records the session: opened, commands, completions, output, closed — one unbroken chain', async () => {
    await proxy.psql(['-At', '-c', 'SELECT owner FROM accounts WHERE id = 3'], { env: { PGAPPNAME: 'audit-check' } });
    await new Promise((r) => setTimeout(r, 200));
    const opened = proxy.sink.ofType('SessionOpened').find((e) => e.applicationName === 'audit-check');
    assert.ok(opened);
    assert.equal(opened.identity.subject, 'alice');
    assert.equal(opened.resource.name, proxy.resourceName);
    const sessionId = opened.sessionId;
    const commands = proxy.gate.commands.filter((c) => c.sessionId === sessionId);
    const events = proxy.sink.events.filter((e) => e.sessionId === sessionId);
    assert.deepEqual(events.map((e) => e.type), ['SessionOpened', 'OutputRecorded', 'CommandCompleted', 'SessionClosed']);
    const completed = proxy.sink.ofType('CommandCompleted').find((e) => e.sessionId === sessionId)!;
    assert.equal(completed.status, 'executed');
    assert.equal(completed.rows, 1);
    assert.equal(completed.tag, 'SELECT 1');
    assert.equal(completed.commandId, commands[0]!.commandId);
    const output = proxy.sink.ofType('OutputRecorded').find((e) => e.sessionId === sessionId)!;
    assert.deepEqual(output.rows, [['carol']]);
    assert.deepEqual(output.columns, ['owner']);
    const chain = verifyChain([...commands, ...events] as unknown as ChainedEvent[]);
    assert.deepEqual(chain, { integrity: 'ok', lastSeq: 5 });
  });

  it('copies both ways with \\copy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pcl-copy-'));
    try {
      const file = join(dir, 'accounts.tsv');
      const out = await proxy.psql(['-At', '-c', `\\copy accounts TO '${file}'`]);
      assert.equal(out.stderr, '');
      assert.equal(out.stdout, 'COPY 3\n');
      assert.equal(readFileSync(file, 'utf8'), '1\talice\t10\n2\tbob\t20\n3\tcarol\t30\n');
      writeFileSync(file, '4\tdave\t40\n5\terin\t50\n');
      const into = await proxy.psql(['-At', '-c', `\\copy accounts FROM '${file}'`]);
      assert.equal(into.stderr, '');
      assert.equal(into.stdout, 'COPY 2\n');
      const n = await target.admin(`SELECT count(*)::int AS n FROM ${target.schema}.accounts`);
      assert.equal(n.rows[0].n, 5);
      const completed = proxy.sink.ofType('CommandCompleted').at(-1)!;
      assert.equal(completed.tag, 'COPY 2');
      assert.equal(completed.rows, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await target.admin(`DELETE FROM ${target.schema}.accounts WHERE id > 3`);
    }
  });

  it('judges FunctionCall messages (libpq large objects) and refuses them unless a rule allows', async () => {
    const r = await proxy.psql(['-At', '-c', '\\lo_import /etc/hostname']);
    assert.match(r.stderr, /Portcullis blocked this statement: rule no-function-calls/);
    const call = proxy.gate.commands.find((c) => c.command.kind === 'sql' && c.command.phase === 'function-call');
    assert.ok(call && call.command.kind === 'sql' && typeof call.command.functionOid === 'number');
  });
});
