/**
 * Given the read-only automation policy, when a forbidden statement is
 * disguised (comments, case, quoting, Unicode escapes, dollar quotes,
 * nesting, PREPARE/EXECUTE), then it is still blocked.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { givenPolicy, whenSql } from './given.ts';
import { readOnlyAutomation } from './policies.ts';
import { emptySqlSession } from '../src/analysis/sql.ts';

const policy = givenPolicy(readOnlyAutomation);

const blocked: [string, string][] = [
  ['comment before the keyword', '/* hi */ DELETE FROM orders'],
  ['line comment hiding nothing', 'DELETE -- WHERE id = 1\nFROM orders'],
  ['nested block comments', 'DELETE /* a /* b */ c */ FROM orders'],
  ['mixed case', 'DeLeTe FrOm OrDeRs'],
  ['statement after a semicolon', 'SELECT 1; DROP TABLE orders'],
  ['statement after a semicolon in a comment is only a comment, but the next real one counts', 'SELECT 1 /* ; */ ; TRUNCATE orders'],
  ['quoted identifiers', 'DELETE FROM "orders"'],
  ['Unicode-escaped identifier', 'SELECT U&"\\0070g_read_file"(\'/etc/passwd\')'],
  ['Unicode-escaped table in a dangerous statement', 'TRUNCATE U&"\\006frders"'],
  ['upper-case schema-qualified function', "SELECT PG_CATALOG.PG_READ_FILE('/etc/passwd')"],
  ['schema-qualified pg_catalog.pg_read_file', "SELECT pg_catalog.pg_read_file('/etc/passwd')"],
  ['function in FROM', "SELECT * FROM pg_catalog.pg_ls_dir('/')"],
  ['function in a subquery', "SELECT id FROM orders WHERE note = (SELECT pg_read_file('/etc/passwd'))"],
  ['function in a CTE', "WITH f AS (SELECT pg_read_file('/etc/passwd') AS x) SELECT x FROM f"],
  ['function in a lateral join', "SELECT * FROM orders o, LATERAL (SELECT pg_terminate_backend(o.pid)) t"],
  ['function in ORDER BY', 'SELECT id FROM orders ORDER BY pg_cancel_backend(1)'],
  ['function in a default of VALUES', "SELECT * FROM (VALUES (pg_read_file('/etc/passwd'))) v"],
  ['delete in a CTE', 'WITH gone AS (DELETE FROM orders RETURNING *) SELECT 1'],
  ['delete in a nested CTE', 'WITH a AS (WITH b AS (DELETE FROM orders RETURNING id) SELECT id FROM b) SELECT * FROM a'],
  ['update in a CTE inside a subquery-free select', "WITH u AS (UPDATE orders SET status = 'x' RETURNING id) SELECT count(*) FROM u"],
  ['literal EXECUTE in a DO block', "DO $$ BEGIN EXECUTE 'DROP TABLE orders'; END $$"],
  ['concatenated literal EXECUTE', "DO $$ BEGIN EXECUTE 'DROP ' || 'TABLE ' || 'orders'; END $$"],
  ['EXECUTE in a nested DO block', "DO $$ BEGIN EXECUTE 'DO $x$ BEGIN EXECUTE ''TRUNCATE orders''; END $x$'; END $$"],
  ['named dollar quote', "DO $body$ BEGIN DELETE FROM orders; END $body$"],
  ['PL/pgSQL PERFORM of an admin function', 'DO $$ BEGIN PERFORM pg_terminate_backend(1); END $$'],
  ['PL/pgSQL assignment from a file function', "DO $$ DECLARE x text; BEGIN x := pg_read_file('/etc/passwd'); END $$"],
  ['PL/pgSQL declaration default', "DO $$ DECLARE x text := pg_read_file('/etc/passwd'); BEGIN NULL; END $$"],
  ['dynamic SQL from a variable', "DO $$ DECLARE q text := 'SELECT 1'; BEGIN EXECUTE q; END $$"],
  ['FOR … IN EXECUTE', "DO $$ DECLARE r record; BEGIN FOR r IN EXECUTE 'DELETE FROM orders RETURNING id' LOOP END LOOP; END $$"],
  ['E string with an escaped quote before the real statement', "SELECT E'\\';'; DELETE FROM orders"],
  ['dollar-quoted string before the real statement', 'SELECT $q$ ; $q$; DELETE FROM orders'],
  ['set_config upper case', "SELECT SET_CONFIG('ROLE', 'postgres', false)"],
  ['set_config through pg_catalog', "SELECT pg_catalog.set_config('session_authorization', 'postgres', false)"],
  ['COPY to a program with odd spacing', "copy\n\torders\nTO\tPROGRAM 'sh'"],
  ['EXPLAIN ANALYZE runs the statement', 'EXPLAIN ANALYZE DELETE FROM orders'],
  ['a cursor over a file function', "DECLARE c CURSOR FOR SELECT pg_read_file('/etc/passwd')"],
  ['query_to_xml running a write', "SELECT query_to_xml('TRUNCATE orders', true, false, '')"],
  ['GRANT in a multi-statement string', 'BEGIN; GRANT ALL ON orders TO PUBLIC; COMMIT'],
];

describe('SQL evasion attempts are still blocked', () => {
  for (const [name, text] of blocked) {
    it(name, async () => {
      const { decision } = await whenSql(policy, text);
      assert.equal(decision.effect, 'block', `${text}\nclasses ${decision.classes.join(',')}; reasons ${decision.reasons.join('; ')}`);
    });
  }

  it('a harmless string that looks like SQL stays a read', async () => {
    const { decision } = await whenSql(policy, "SELECT 'DROP TABLE orders; DELETE FROM orders' AS text, $$TRUNCATE x$$");
    assert.deepEqual(decision.classes, ['read']);
    assert.equal(decision.effect, 'mask');
  });
});

describe('PREPARE / EXECUTE is judged by the prepared text', () => {
  it('given a prepared unbounded delete, EXECUTE in a later command is blocked', async () => {
    const session = { prepared: new Map([['wipe', 'DELETE FROM orders']]) };
    const { decision } = await whenSql(policy, 'EXECUTE wipe', {}, session);
    assert.equal(decision.effect, 'block');
    assert.ok(decision.classes.includes('unbounded-write'));
  });
  it('PREPARE and EXECUTE in one string', async () => {
    const { decision } = await whenSql(policy, 'PREPARE p AS SELECT 1; EXECUTE p');
    assert.equal(decision.effect, 'mask');
  });
  it('EXECUTE of an unknown name is unparseable and blocked', async () => {
    const { decision } = await whenSql(policy, 'EXECUTE nobody_prepared_me(1)');
    assert.equal(decision.effect, 'block');
    assert.match(decision.reasons[0]!, /^unparseable: EXECUTE of unknown prepared statement "nobody_prepared_me"/);
  });
  it('after DEALLOCATE the name is unknown again', async () => {
    const session = { prepared: new Map([['p', 'SELECT 1']]) };
    const { decision } = await whenSql(policy, 'DEALLOCATE p; EXECUTE p', {}, session);
    assert.equal(decision.effect, 'block');
  });
  it('an allowed PREPARE is remembered for the next command; a blocked one is not', async () => {
    const first = await whenSql(policy, 'PREPARE ok AS SELECT id FROM orders');
    assert.equal(first.session.prepared.get('ok'), 'SELECT id FROM orders');
    const second = await whenSql(policy, 'PREPARE bad AS DROP TABLE orders', {}, first.session);
    assert.equal(second.decision.effect, 'block');
    assert.equal(second.session.prepared.has('bad'), false);
    const third = await whenSql(policy, 'EXECUTE ok', {}, second.session);
    assert.equal(third.decision.effect, 'mask');
  });
  it('starts from an empty session', () => {
    assert.equal(emptySqlSession().prepared.size, 0);
  });
});
