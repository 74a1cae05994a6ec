/** The portcullis.yaml npm start generates is one file for every proxy: each must accept it and find its demo resource. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProxyConfig, postgresSectionOf } from '@portcullis/proxy-postgres';
import { parseSshProxyConfig } from '@portcullis/proxy-ssh';
import { parseHttpProxyConfig } from '@portcullis/proxy-http';
import { parseMcpServiceConfig } from '@portcullis/mcp';
import { demoConfig, DEMO_RESOURCES, type DemoTargets } from '../../infra/src/demo/config.ts';
import { DEMO_API_PORT, DEMO_KUBERNETES_PORT, DEMO_SSHD_PORT } from '../../infra/src/ports.ts';

const targets: DemoTargets = {
  sshd: { user: 'demo', keyFile: '/data/demo/sshd/user_ed25519', hostKeyFingerprint: `SHA256:${'A'.repeat(43)}` },
  apiTokenFile: '/data/secrets/demo-api.token',
  clusterTokenFile: '/data/secrets/demo-cluster.token',
  httpsCert: { cert: '/data/demo/https/cert.pem', key: '/data/demo/https/key.pem' },
};

test('given the demo targets, when the PostgreSQL proxy reads the demo config, then it serves the demo database with the certificate portcullis connect verifies', () => {
  const config = parseProxyConfig(postgresSectionOf(demoConfig(targets)));
  assert.deepEqual(config.resources.map((r) => r.name), [DEMO_RESOURCES.database]);
  assert.deepEqual(config.tls, targets.httpsCert);
});

test('given the demo sshd, when the SSH proxy reads the demo config, then demo-host pins its host key and logs in with its key', () => {
  const config = parseSshProxyConfig(demoConfig(targets));
  const [host] = config.resources;
  assert.equal(config.resources.length, 1);
  assert.equal(host!.name, DEMO_RESOURCES.host);
  assert.deepEqual(host!.target, { host: '127.0.0.1', port: DEMO_SSHD_PORT, user: 'demo', hostKeyFingerprint: targets.sshd.hostKeyFingerprint });
  assert.deepEqual(host!.credential, { file: targets.sshd.keyFile });
});

test('given the demo HTTP targets, when the HTTP proxy reads the demo config, then it serves HTTPS for the shop API and the cluster with their token files', () => {
  const config = parseHttpProxyConfig(demoConfig(targets));
  assert.deepEqual(config.settings.tls, targets.httpsCert);
  const byName = new Map(config.resources.map((r) => [r.name, r]));
  assert.deepEqual([...byName.keys()], [DEMO_RESOURCES.api, DEMO_RESOURCES.cluster]);
  const api = byName.get(DEMO_RESOURCES.api)!;
  const cluster = byName.get(DEMO_RESOURCES.cluster)!;
  assert.ok(api.protocol === 'http' && cluster.protocol === 'kubernetes');
  assert.equal(api.baseUrl, `http://127.0.0.1:${DEMO_API_PORT}`);
  assert.deepEqual(api.credential, { file: targets.apiTokenFile });
  assert.equal(cluster.server, `http://127.0.0.1:${DEMO_KUBERNETES_PORT}`);
  assert.deepEqual(cluster.token, { file: targets.clusterTokenFile });
});

test('given the demo config, when the MCP service reads it, then its tools reach every demo resource and the gateway starts the demo files server over stdio', () => {
  const config = parseMcpServiceConfig(demoConfig(targets));
  assert.deepEqual([...config.postgres, ...config.ssh, ...config.http].map((r) => r.name), [DEMO_RESOURCES.database, DEMO_RESOURCES.host, DEMO_RESOURCES.api, DEMO_RESOURCES.cluster]);
  assert.deepEqual(config.upstreams.map((u) => u.name), [DEMO_RESOURCES.files]);
  assert.equal(config.upstreams[0]!.url, undefined);
  assert.match(config.upstreams[0]!.command!.join(' '), /files-mcp\.ts/);
});
