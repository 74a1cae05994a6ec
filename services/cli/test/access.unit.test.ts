/** The pure parts of login, connect, resources and kube, given/when/then. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resourceCatalogue } from '@portcullis/kit';
import { isSafeEndpoint } from '../src/auth/discovery.ts';
import { expiryOf, readClaims } from '../src/auth/jwt-claims.ts';
import { loginFromTokenResponse, needsRenewal, refreshMarginMs } from '../src/auth/token-source.ts';
import { connectionLines, pgGatewayAddress } from '../src/commands/connect.ts';
import { execCredential, withPortcullisContext } from '../src/commands/kube.ts';
import { formatResources } from '../src/commands/resources.ts';

const jwt = (claims: Record<string, unknown>): string => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;
const at = (iso: string): Date => new Date(iso);

test('given a 6 s token, when 4.6 s have passed, then it is renewed (a quarter of its life is the margin)', () => {
  const obtained = at('2026-01-01T00:00:00Z');
  const expires = at('2026-01-01T00:00:06Z');
  assert.equal(refreshMarginMs(obtained, expires), 1500);
  assert.equal(needsRenewal(obtained, expires, at('2026-01-01T00:00:04.000Z')), false);
  assert.equal(needsRenewal(obtained, expires, at('2026-01-01T00:00:04.600Z')), true);
});

test('given an hour-long token, when it has more than a minute left, then it is kept', () => {
  const obtained = at('2026-01-01T00:00:00Z');
  const expires = at('2026-01-01T01:00:00Z');
  assert.equal(refreshMarginMs(obtained, expires), 60_000);
  assert.equal(needsRenewal(obtained, expires, at('2026-01-01T00:58:59Z')), false);
  assert.equal(needsRenewal(obtained, expires, at('2026-01-01T00:59:01Z')), true);
});

test('given a refresh answer without a refresh token, when it is cached, then the previous refresh token is kept and expiry comes from exp', () => {
  const previous = loginFromTokenResponse('http://127.0.0.1:9400', 'portcullis-cli', { access_token: jwt({ exp: 1 }), refresh_token: 'r1' });
  const renewed = loginFromTokenResponse('http://127.0.0.1:9400', 'portcullis-cli', { access_token: jwt({ exp: 2_000_000_000 }) }, previous);
  assert.equal(renewed.refreshToken, 'r1');
  assert.equal(renewed.expiresAt, '2033-05-18T03:33:20.000Z');
});

test('given a token that is no JWT, when its claims are read, then there are none and expiry falls back to expires_in', () => {
  assert.equal(readClaims('opaque'), undefined);
  assert.equal(readClaims('a.%%%.c'), undefined);
  const fallback = expiryOf('opaque', 60)!;
  assert.ok(Math.abs(fallback.getTime() - Date.now() - 60_000) < 2000);
});

test('given endpoints, when checked, then only https or http on loopback may receive tokens', () => {
  assert.equal(isSafeEndpoint('https://idp.example.com'), true);
  assert.equal(isSafeEndpoint('http://127.0.0.1:9400'), true);
  assert.equal(isSafeEndpoint('http://[::1]:9400'), true);
  assert.equal(isSafeEndpoint('http://idp.example.com'), false);
  assert.equal(isSafeEndpoint('http://127.0.0.1.nip.io'), false);
  assert.equal(isSafeEndpoint('file:///etc/passwd'), false);
});

test('given a gateway address, when parsed, then host and port come apart and nonsense is refused', () => {
  assert.deepEqual(pgGatewayAddress('127.0.0.1:6432', undefined), { host: '127.0.0.1', port: 6432, ca: undefined });
  assert.deepEqual(pgGatewayAddress('[::1]:7000', undefined), { host: '::1', port: 7000, ca: undefined });
  assert.throws(() => pgGatewayAddress('gw:99999', undefined), /host:port/);
  assert.throws(() => pgGatewayAddress('127.0.0.1:6432', '/nonexistent/ca.pem'), /cannot read the gateway CA/);
});

test('given a listener, when its lines are printed, then psql and a libpq URI name it with sslmode=disable', () => {
  assert.deepEqual(connectionLines('demo', 41789, 'alice'), {
    psql: 'psql "host=127.0.0.1 port=41789 dbname=demo user=alice sslmode=disable"',
    uri: 'postgresql://alice@127.0.0.1:41789/demo?sslmode=disable',
  });
  assert.equal(connectionLines('demo', 1, 'a b@c').uri, 'postgresql://a%20b%40c@127.0.0.1:1/demo?sslmode=disable');
});

test('given a kubeconfig with other contexts, when a portcullis context is added twice, then it replaces itself, keeps the others and is current', () => {
  const base = { clusters: [{ name: 'prod', cluster: { server: 'https://k8s' } }], contexts: [{ name: 'prod', context: {} }], users: [{ name: 'prod', user: {} }], 'current-context': 'prod' };
  const once = withPortcullisContext(base, { resource: 'demo-cluster', gatewayUrl: 'https://127.0.0.1:8443/', caFile: '/ca.pem' });
  const twice = withPortcullisContext(once, { resource: 'demo-cluster', gatewayUrl: 'https://127.0.0.1:8443', namespace: 'default' });
  assert.equal(twice['current-context'], 'portcullis-demo-cluster');
  assert.deepEqual(twice.clusters!.map((c) => c.name), ['prod', 'portcullis-demo-cluster']);
  assert.deepEqual(twice.clusters![1]!.cluster, { server: 'https://127.0.0.1:8443/r/demo-cluster' });
  const exec = (twice.users![1]!.user as { exec: { apiVersion: string; args: string[] } }).exec;
  assert.equal(exec.apiVersion, 'client.authentication.k8s.io/v1');
  assert.deepEqual(exec.args.slice(1), ['kube', 'credential']);
});

test('given a token and its expiry, when the plugin answers, then the ExecCredential carries both in RFC 3339', () => {
  assert.deepEqual(execCredential('t', at('2026-01-01T00:00:06.123Z')), {
    apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 't', expirationTimestamp: '2026-01-01T00:00:06Z' },
  });
});

test('given no reachable resources, when printed, then it says so with the policy version', () => {
  assert.equal(formatResources({ policyVersion: 3, items: [] }), 'No resources: the policy in force (version 3) admits you to none.');
});

test('given a portcullis.yaml, when its catalogue is read, then names, kinds and tags remain and nothing else', () => {
  const catalogue = resourceCatalogue({
    resources: [
      { name: 'demo', protocol: 'postgres', tags: ['pii'], target: { host: 'db' }, credential: { env: 'X' } },
      { name: 'demo', protocol: 'ssh' },
      { protocol: 'ssh' },
      { name: 'odd', protocol: 'ftp' },
      { name: 'cluster', protocol: 'kubernetes' },
    ],
    postgres: { resources: [{ name: 'orders', protocol: 'postgres', tags: 'not-a-list' }] },
  });
  assert.deepEqual(catalogue, [
    { name: 'demo', kind: 'postgres', tags: ['pii'] },
    { name: 'cluster', kind: 'kubernetes', tags: [] },
    { name: 'orders', kind: 'postgres', tags: [] },
  ]);
});
