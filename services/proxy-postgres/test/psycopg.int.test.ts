/**
 * psycopg 3 (from PyPI; .ci/run installs it) through the gateway as the LLM
 * agent under the example policy: connect with the driver's defaults, a
 * parametrised query, server-side prepared statements, binary results,
 * COPY out (masked) and in, a transaction, a blocked statement with the
 * Portcullis error, and a switch to LATIN1.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { issueServiceToken } from '@portcullis/infra';
import { ISSUER, startRealGateway, type RealGateway } from './support/real-gateway.ts';

type Report = Record<string, unknown> & { scenario: string };

function runPython(script: string, env: Record<string, string>): Promise<{ code: number | null; reports: Map<string, Report>; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [script], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const reports = new Map<string, Report>();
      for (const line of stdout.split('\n').filter(Boolean)) {
        const r = JSON.parse(line) as Report;
        reports.set(r.scenario, r);
      }
      resolve({ code, reports, stderr });
    });
  });
}

describe('psycopg 3 through the gateway as the LLM agent', () => {
  let g: RealGateway;
  let run: Awaited<ReturnType<typeof runPython>>;

  before(async () => {
    g = await startRealGateway('psycopg');
    await g.target.admin(`CREATE TABLE ${g.target.schema}.notes (id int primary key, body text)`);
    await g.target.admin(`ALTER TABLE ${g.target.schema}.notes OWNER TO ${g.target.role}`);
    const token = await issueServiceToken(ISSUER, 'llm-agent');
    run = await runPython(fileURLToPath(new URL('./clients/psycopg_client.py', import.meta.url)), {
      PCL_HOST: '127.0.0.1',
      PCL_PORT: String(g.port),
      PCL_DB: g.resourceName,
      PCL_USER: 'llm-agent',
      PCL_TOKEN: token,
    });
  });
  after(async () => {
    await g?.close();
  });

  const report = (name: string): Report => {
    const r = run.reports.get(name);
    assert.ok(r, `no report for ${name}; exit ${run.code}; stderr: ${run.stderr}`);
    return r;
  };

  it('connects with the driver defaults; the session has the pinned settings', () => {
    assert.equal(run.code, 0, run.stderr);
    assert.equal(report('connect').standard_conforming_strings, 'on');
  });
  it('a parametrised query comes back masked', () => {
    assert.deepEqual(report('parametrised').row, ['Renée Müller', 'r***@example.com', '****']);
  });
  it('prepared statements run, masked each time', () => {
    const prepared = report('prepared');
    assert.ok(Number(prepared.server_prepared) >= 1, 'psycopg prepared the statement on the server');
    const rows = prepared.rows as unknown[][];
    assert.equal(rows.length, 6);
    for (const [id, email] of rows) assert.equal(email, id === 1 ? 'j***@example.com' : 'r***@example.com');
  });
  it('binary results are masked', () => {
    assert.deepEqual(report('binary').rows, [
      [1, 'Jane Roe', 'j***@example.com', '****'],
      [2, 'Renée Müller', 'r***@example.com', '****'],
    ]);
  });
  it('COPY TO STDOUT is masked and COPY FROM STDIN writes', () => {
    assert.deepEqual(report('copy-out').rows, [
      ['1', 'Jane Roe', 'j***@example.com'],
      ['2', 'Renée Müller', 'r***@example.com'],
    ]);
    assert.deepEqual(report('copy-in').rows, [
      [1, 'first'],
      [2, 'zweite Notiz, schön'],
    ]);
  });
  it('a transaction block works', () => {
    assert.equal(report('transaction').count, 2);
  });
  it('a blocked statement raises InsufficientPrivilege with the Portcullis reason, and the table stays', async () => {
    const blocked = report('blocked');
    assert.equal(blocked.raised, 'InsufficientPrivilege');
    assert.equal(blocked.sqlstate, '42501');
    assert.match(String(blocked.message), /Portcullis blocked this statement: rule automation-no-destructive/);
    const left = await g.target.admin(`SELECT count(*)::int AS n FROM ${g.target.schema}.customers`);
    assert.equal(left.rows[0].n, 2);
  });
  it('changing a pinned setting is refused', () => {
    assert.match(String(report('pinned').message), /Portcullis pins standard_conforming_strings=on/);
  });
  it('after SET client_encoding LATIN1 the driver reads and matches non-ASCII text, masked', () => {
    const latin1 = report('latin1');
    assert.match(String(latin1.encoding), /iso8859-1|latin-?1/i);
    assert.deepEqual(latin1.row, ['Renée Müller', 'r***@example.com']);
  });
});
