import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maskJson, MASKED_SECRET_DATA } from '../src/json-masking.ts';
import { maskLine, maskModeFor } from '../src/response-masking.ts';
import { parseHttpProxyConfig } from '../src/config.ts';
import { routeRequest } from '../src/routing.ts';

const plan = { fields: ['email', 'billing.card_number', 'items.*.ssn'], detectors: ['email' as const], secrets: true, secretResource: false };

test('field names anywhere, dotted paths from the root, detectors on other strings', () => {
  const out = maskJson({ email: 'a@example.com', nested: { email: 'b@example.com' }, billing: { card_number: '4111111111111111' }, card_number: 'kept', note: 'mail c@example.com' }, plan) as Record<string, any>;
  assert.notEqual(out.email, 'a@example.com');
  assert.notEqual(out.nested.email, 'b@example.com');
  assert.notEqual(out.billing.card_number, '4111111111111111');
  assert.equal(out.card_number, 'kept');
  assert.ok(!out.note.includes('c@example.com'));
});

test('Secret data and stringData are masked, including kubectl last-applied', () => {
  const out = maskJson({ kind: 'Secret', data: { p: 'aHVudGVyMg==' }, stringData: { q: 'x' }, metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"p":"aHVudGVyMg=="}}' } } }, plan) as Record<string, any>;
  assert.equal(out.data.p, MASKED_SECRET_DATA);
  assert.equal(out.stringData.q, '****');
  assert.equal(out.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'], '****');
});

test('watch lines and SSE data lines are masked one by one; binary and compressed bodies are refused', () => {
  assert.ok(!maskLine('{"type":"ADDED","object":{"email":"a@example.com"}}', plan).includes('a@example.com'));
  assert.ok(!maskLine('data: {"email":"a@example.com"}', plan).includes('a@example.com'));
  assert.equal(maskModeFor('application/json;stream=watch', undefined), 'lines');
  assert.equal(maskModeFor('application/json', 'gzip'), 'refuse');
  assert.equal(maskModeFor('application/vnd.kubernetes.protobuf', undefined), 'refuse');
});

test('config reads only http and kubernetes resources; routing by prefix and host', () => {
  const config = parseHttpProxyConfig({ http: { baseDomain: 'gw.example' }, resources: [{ name: 'db', protocol: 'postgres', anything: 1 }, { name: 'api', protocol: 'http', baseUrl: 'https://api.internal/v1', credential: { env: 'X' } }] });
  assert.deepEqual(config.resources.map((r) => r.name), ['api']);
  const map = new Map(config.resources.map((r) => [r.name, r]));
  const byPath = routeRequest('/r/api/a/b?x=1', 'localhost', map, 'gw.example');
  assert.ok(byPath.ok && byPath.route.upstreamPath === '/a/b' && byPath.route.query === 'x=1');
  const byHost = routeRequest('/a', 'api.gw.example:8443', map, 'gw.example');
  assert.ok(byHost.ok && byHost.route.upstreamPath === '/a');
  assert.throws(() => parseHttpProxyConfig({ resources: [{ name: 'api', protocol: 'http', baseUrl: 'x', token: 'inline' }] }), /resources\.0/);
});
