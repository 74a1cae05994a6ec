/**
 * Differential: the policy decision reads SQL with libpg_query; the target
 * reads the same bytes with its own scanner under the settings of the
 * session the gateway opened (standard_conforming_strings on, pinned). For
 * every string below, the statements the analysis finds, run one by one
 * through the gateway, give exactly what the target gives for the whole
 * string — so the split (and every literal) is the same on both sides. The
 * same comparison on a session with standard_conforming_strings off shows
 * the test would see the difference that made issue 11's smuggle work.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { postgresConnection } from '@portcullis/infra';
import { analyzeSql } from '@portcullis/policy-decision';
import { startProxy, type RunningProxy } from './support/proxy-harness.ts';
import { createTestTarget, type TestTarget } from './support/target-database.ts';

/** Strings where a scanner could disagree: quotes, escapes, dollar quotes, comments, Unicode escapes, encodings. */
const CASES: Array<[name: string, sql: string]> = [
  ['the smuggle of issue 11', "SELECT 'a\\' AS x, ' ; SELECT count(*) FROM items; -- '"],
  ['a backslash before the closing quote', "SELECT 'a\\'; SELECT 'b\\\\'"],
  ['doubled quotes', "SELECT 'it''s; fine', ''''; SELECT 2"],
  ["E'' with an escaped quote", "SELECT E'a\\'b;', 'c'; SELECT 2"],
  ["E'' ending in an escaped backslash", "SELECT E'\\\\'; SELECT 'x'"],
  ["E'' with octal, hex and Unicode escapes", "SELECT E'\\x41\\101\\u0041\\U00000041;'; SELECT 3"],
  ["E'' with a doubled quote", "SELECT E'a'';b'; SELECT 4"],
  ['dollar quotes', 'SELECT $$a;b$$, $tag$ $$ ; $tag$; SELECT 3'],
  ['a dollar quote with a backslash and a quote inside', "SELECT $q$ \\' ; $q$; SELECT 5"],
  ['dollar signs inside an identifier are not a quote', 'SELECT 1 AS a$$b; SELECT $$x$$'],
  ['an unnamed dollar quote right after an identifier character', 'SELECT 1 AS x$, $$;$$; SELECT 6'],
  ['nested block comments', 'SELECT 1 /* a /* b; */ c; */ ; SELECT 2'],
  ['a line comment hides a semicolon', 'SELECT 1 -- ; SELECT 99\n; SELECT 2'],
  ['a comment inside an operator position', 'SELECT 2*/**/3; SELECT 2 --1\n; SELECT 3'],
  ["U&'' with the default escape", "SELECT U&'d\\0061t\\+000061;'; SELECT 5"],
  ["U&'' with UESCAPE", "SELECT U&'!0041;' UESCAPE '!'; SELECT 6"],
  ['U&"" identifiers', 'SELECT 1 AS U&"\\0061;"; SELECT 7'],
  ['string continuation across a newline', "SELECT 'a'\n'b;'; SELECT 8"],
  ["B'' and X'' bit strings", "SELECT B'101', X'1F'; SELECT 9"],
  ['semicolons in quoted identifiers', 'SELECT 1 AS "a;b", 2 AS "c"";d"; SELECT 10'],
  ['non-ASCII text', "SELECT 'Müller;', 'ü\\'; SELECT 11"],
  ['empty statements', ';;SELECT 12;;'],
];

type Rows = unknown[][];

async function runWhole(client: pg.Client, sql: string): Promise<Rows[]> {
  const result = (await client.query({ text: sql, rowMode: 'array' } as pg.QueryConfig)) as unknown as pg.QueryResult | pg.QueryResult[];
  return (Array.isArray(result) ? result : [result]).map((r) => r.rows as Rows);
}

async function runPieces(client: pg.Client, sql: string): Promise<Rows[]> {
  const analysis = await analyzeSql(sql);
  assert.ok(analysis.ok, `the analysis refused ${sql}`);
  const out: Rows[] = [];
  for (const s of analysis.statements) out.push(...(await runWhole(client, s.text)));
  return out;
}

describe('the analysis splits SQL as the target session reads it', () => {
  let target: TestTarget;
  let proxy: RunningProxy;
  let viaGateway: pg.Client;

  before(async () => {
    target = await createTestTarget('differential');
    await target.admin(`CREATE TABLE ${target.schema}.items (id int)`);
    await target.admin(`ALTER TABLE ${target.schema}.items OWNER TO ${target.role}`);
    proxy = await startProxy(target);
    viaGateway = await proxy.client();
  });
  after(async () => {
    await viaGateway?.end();
    await proxy?.close();
    await target?.drop();
  });

  for (const [name, sql] of CASES) {
    it(name, async () => {
      assert.deepEqual(await runPieces(viaGateway, sql), await runWhole(viaGateway, sql));
    });
  }

  it('the gateway session has standard_conforming_strings on even when the caller asks for off', async () => {
    await assert.rejects(proxy.client({ options: '-c standard_conforming_strings=off' }), /Portcullis does not accept the startup parameter "options"/);
    const r = await viaGateway.query('SHOW standard_conforming_strings');
    assert.equal(r.rows[0].standard_conforming_strings, 'on');
  });

  it('with standard_conforming_strings off (straight to PostgreSQL) the same comparison tells the smuggle apart', async () => {
    const c = postgresConnection();
    const direct = new pg.Client({ host: c.host, port: c.port, user: c.user, password: c.password, database: 'demo' });
    await direct.connect();
    try {
      await direct.query(`SET search_path = ${target.schema}; SET standard_conforming_strings = off`);
      const smuggle = CASES[0]![1];
      assert.notDeepEqual(await runWhole(direct, smuggle), await runPieces(viaGateway, smuggle));
      assert.equal((await runWhole(direct, smuggle)).length, 2, 'PostgreSQL with standard_conforming_strings off runs two statements');
    } finally {
      await direct.end();
    }
  });
});
