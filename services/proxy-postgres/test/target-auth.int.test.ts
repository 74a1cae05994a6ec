import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { generateSelfSignedCertificate } from '../src/tls.ts';
import type { PostgresResource } from '../src/config.ts';
import { connectTarget } from '../src/target-connector.ts';
import { startProxy, type RunningProxy } from './support/proxy-harness.ts';
import { startTestServer, type TestServer } from './support/test-server.ts';
import type { TestTarget } from './support/target-database.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * md5 and TLS to the target against the in-process test server: the local
 * cluster's pg_hba (scram-sha-256) only accepts SCRAM, which the other
 * integration tests exercise.
 */
describe('target authentication and TLS (test server)', () => {
  const password = randomBytes(12).toString('base64url');
  const certificate = generateSelfSignedCertificate('localhost');
  const dir = mkdtempSync(join(tmpdir(), 'pcl-target-ca-'));
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, certificate.cert);
  let server: TestServer;
  let proxy: RunningProxy;
  process.env.PCL_TEST_MD5_PW = password;

  const resource = (tls: PostgresResource['target']['tls'], extra: Partial<PostgresResource['target']> = {}): PostgresResource => ({
    name: 'legacy',
    protocol: 'postgres',
    tags: [],
    target: { host: 'localhost', port: server.port, database: 'legacy', user: 'gw', tls, ...extra },
    credential: { env: 'PCL_TEST_MD5_PW' },
  });

  before(async () => {
    server = await startTestServer({ user: 'gw', password, certificate });
    const fake = { resource: resource('verify-full', { ca: caFile }) } as TestTarget;
    proxy = await startProxy(fake);
  });
  after(async () => {
    await proxy?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('authenticates with md5 over verified TLS and relays a query', async () => {
    const r = await proxy.psql(['-At', '-c', 'SELECT answer'], { env: { PGOPTIONS: '-c portcullis.reason=legacy-check' } });
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, 'md5 ok: SELECT answer\n');
    assert.ok(server.tlsSessions >= 1);
    const startup = server.startups.at(-1)!;
    assert.equal(startup.user, 'gw');
    assert.equal(startup.database, 'legacy');
    assert.equal(startup.options, undefined, 'the Portcullis reason never reaches the target');
  });

  it('refuses a target whose certificate does not verify (verify-full without the CA)', async () => {
    await assert.rejects(connectTarget(resource('verify-full'), password), /TLS to the target failed/);
  });

  it('encrypts without verifying under tls: require, and fails on a wrong password', async () => {
    const conn = await connectTarget(resource('require'), password);
    assert.equal(conn.parameterStatus.find(([n]) => n === 'server_version')?.[1], '15.0-test');
    conn.socket.destroy();
    await assert.rejects(connectTarget(resource('require'), 'wrong'), /password authentication failed for user "gw"/);
  });
});
