import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { startProxy, type RunningProxy } from './support/proxy-harness.ts';
import { createTestTarget, type TestTarget } from './support/target-database.ts';
import type { Judge } from './support/in-memory-gate.ts';

const SECRETS = ['alice@example.com', 'bob@example.org', '123-45-6789', '987-65-4321'];

/** Every statement gets a mask verdict; `/*plain*\/` marks one the PDP would find free of derived columns. */
const judge: Judge = (command) => {
  const text = command.command.kind === 'sql' ? command.command.text : '';
  return {
    effect: 'mask',
    ruleIds: ['pii'],
    reasons: ['customer PII is masked'],
    mask: {
      columns: [
        { table: 'customers', column: 'email', strategy: 'partial' },
        { table: 'customers', column: 'ssn', strategy: 'redact' },
      ],
      referenced: [{ table: 'customers', column: 'email', strategy: 'partial' }],
      derived: !text.includes('/*plain*/'),
      detectors: ['email'],
    },
  };
};

function assertNoSecrets(output: string): void {
  for (const secret of SECRETS) assert.ok(!output.includes(secret), `leaked ${secret} in:\n${output}`);
}

describe('masking results', () => {
  let target: TestTarget;
  let proxy: RunningProxy;

  before(async () => {
    target = await createTestTarget('mask');
    const t = `${target.schema}.customers`;
    await target.admin(`CREATE TABLE ${t} (id int primary key, name text, email text, ssn text, note text)`);
    await target.admin(`INSERT INTO ${t} VALUES (1, 'Alice', 'alice@example.com', '123-45-6789', 'vip'), (2, 'Bob', 'bob@example.org', '987-65-4321', 'reach me at bob@example.org')`);
    await target.admin(`ALTER TABLE ${t} OWNER TO ${target.role}`);
    proxy = await startProxy(target, { judge });
  });
  after(async () => {
    await proxy?.close();
    await target?.drop();
  });

  const psql = async (sql: string): Promise<string> => {
    const r = await proxy.psql(['-At', '-c', sql]);
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    return r.stdout;
  };

  it('masks a protected column behind an alias (table OID + column number) and leaves other columns', async () => {
    const out = await psql('/*plain*/ SELECT id, name, email AS contact, ssn AS x FROM customers ORDER BY id');
    assertNoSecrets(out);
    const lines = out.trim().split('\n').map((l) => l.split('|'));
    assert.deepEqual(lines.map((l) => [l[0], l[1]]), [['1', 'Alice'], ['2', 'Bob']]);
    assert.ok(lines.every((l) => l[2] !== '' && l[3] !== undefined));
  });

  it('masks a protected column read through a subquery', async () => {
    assertNoSecrets(await psql('/*plain*/ SELECT e FROM (SELECT email AS e FROM customers) s'));
  });

  it('masks derived columns: cast, concatenation, to_json(row), aggregate, subquery expression', async () => {
    for (const sql of [
      'SELECT email::varchar(200) FROM customers',
      "SELECT 'mailto:' || email, upper(ssn) FROM customers",
      'SELECT to_json(c) FROM customers c',
      "SELECT string_agg(email || ' ' || ssn, ',') FROM customers",
      'SELECT (SELECT max(email) FROM customers) AS m',
      'SELECT row(email, ssn)::text FROM customers',
    ]) {
      const out = await psql(sql);
      assertNoSecrets(out);
      assert.notEqual(out.trim(), '', sql);
    }
  });

  it('runs the content detectors on unprotected columns', async () => {
    const out = await psql('/*plain*/ SELECT note FROM customers ORDER BY id');
    assertNoSecrets(out);
    assert.match(out, /^vip\n/);
  });

  it('masks binary-format results (pg driver, binary: true)', async () => {
    const client = await proxy.client();
    try {
      const r = await client.query({ text: '/*plain*/ SELECT id, name, email, ssn FROM customers WHERE id = $1', values: [1], binary: true } as pg.QueryConfig);
      assert.equal(r.rows[0].id, 1);
      assert.equal(r.rows[0].name, 'Alice');
      assertNoSecrets(JSON.stringify(r.rows));
      // text format through a prepared statement, executed twice (mask stays with the statement)
      for (let i = 0; i < 2; i++) {
        const p = await client.query({ name: 'cust', text: '/*plain*/ SELECT email FROM customers WHERE id = $1', values: [2] });
        assertNoSecrets(JSON.stringify(p.rows));
      }
    } finally {
      await client.end();
    }
  });

  it('masks COPY TO STDOUT rows (psql \\copy, table and query forms) and refuses CSV', async () => {
    assertNoSecrets(await psql('\\copy customers TO STDOUT'));
    const q = await psql('\\copy (SELECT id, email FROM customers ORDER BY id) TO STDOUT');
    assertNoSecrets(q);
    assert.match(q, /^1\t/);
    const csv = await proxy.psql(['-At', '-c', '\\copy customers TO STDOUT WITH (FORMAT csv)']);
    assert.match(csv.stderr, /masks COPY TO STDOUT only in text format/);
    assertNoSecrets(csv.stdout);
  });

  it('masks a value leaking through an error message', async () => {
    const r = await proxy.psql(['-At', '-c', 'SELECT email::int FROM customers']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ERROR: {2}invalid input syntax for type integer/);
    assertNoSecrets(r.stderr);
  });

  it('records only masked rows', async () => {
    await psql('/*plain*/ SELECT email FROM customers');
    await new Promise((res) => setTimeout(res, 100));
    const recorded = JSON.stringify(proxy.sink.ofType('OutputRecorded'));
    assert.ok(recorded.length > 10);
    assertNoSecrets(recorded);
  });
});
