/**
 * pgjdbc (org.postgresql:postgresql from Maven Central, fetched with mvn at
 * test time, never committed) through the gateway as the LLM agent under the
 * example policy: DriverManager.getConnection with the driver's defaults
 * (its startup parameters and its SET application_name), a
 * PreparedStatement past prepareThreshold, binary results, DatabaseMetaData,
 * a transaction, and a blocked statement with the Portcullis error.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { issueServiceToken } from '@portcullis/infra';
import { ISSUER, startRealGateway, type RealGateway } from './support/real-gateway.ts';

const run = promisify(execFile);
const PGJDBC_VERSION = '42.7.8';

describe('pgjdbc through the gateway as the LLM agent', () => {
  let g: RealGateway;
  let dir: string;
  const reports = new Map<string, string>();
  let stderr = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pcl-pgjdbc-'));
    await run('mvn', ['-q', '-B', 'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy', `-Dartifact=org.postgresql:postgresql:${PGJDBC_VERSION}`, `-DoutputDirectory=${dir}`], { timeout: 300_000 });
    const jar = join(dir, `postgresql-${PGJDBC_VERSION}.jar`);
    await run('javac', ['-cp', jar, '-d', dir, fileURLToPath(new URL('./clients/PgjdbcClient.java', import.meta.url))], { timeout: 120_000 });
    g = await startRealGateway('pgjdbc');
    const token = await issueServiceToken(ISSUER, 'llm-agent');
    try {
      const out = await run('java', ['-Dfile.encoding=UTF-8', '-Dsun.stdout.encoding=UTF-8', '-cp', `${dir}:${jar}`, 'PgjdbcClient'], {
        timeout: 120_000,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PCL_HOST: '127.0.0.1', PCL_PORT: String(g.port), PCL_DB: g.resourceName, PCL_USER: 'llm-agent', PCL_TOKEN: token, PCL_SCHEMA: g.target.schema },
      });
      for (const line of out.stdout.split('\n').filter(Boolean)) {
        const tab = line.indexOf('\t');
        reports.set(line.slice(0, tab), line.slice(tab + 1));
      }
    } catch (err) {
      stderr = `${(err as { stderr?: string }).stderr ?? ''}${(err as Error).message}`;
    }
  });
  after(async () => {
    await g?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const report = (name: string): string => {
    const r = reports.get(name);
    assert.ok(r !== undefined, `no report for ${name}: ${stderr}`);
    return r;
  };

  it('DriverManager.getConnection works with the driver defaults; the session has the pinned settings', () => {
    assert.equal(report('connect'), 'PostgreSQL JDBC Driver|on');
  });
  it('a PreparedStatement past prepareThreshold is prepared on the server and masked every time', () => {
    const rows = report('prepared').split(';');
    assert.equal(rows.length, 8);
    rows.forEach((row, i) => assert.equal(row, i % 2 === 0 ? '1|j***@example.com|****' : '2|r***@example.com|****'));
    assert.ok(Number(report('server-prepared')) >= 1);
  });
  it('binary results (prepareThreshold=-1) are masked', () => {
    assert.equal(report('binary'), '1|Jane Roe|j***@example.com|****;2|Renée Müller|r***@example.com|****');
  });
  it('DatabaseMetaData.getTables and getColumns answer', () => {
    assert.equal(report('getTables'), 'customers');
    assert.equal(report('getColumns'), 'id,name,email,card_number');
  });
  it('a transaction with autocommit off commits', () => {
    assert.equal(report('transaction'), '2');
  });
  it('a blocked statement raises SQLException 42501 with the Portcullis reason', () => {
    assert.match(report('blocked'), /^42501 .*Portcullis blocked this statement: rule automation-no-destructive/);
  });
});
