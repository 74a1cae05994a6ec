/**
 * Kubernetes evasions, table-driven, through evaluate (analysis + decide)
 * with the example policy, as the LLM agent against a production cluster.
 * Add a row to add a case: [what, method, path?query, headers].
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { HttpCommand } from '@portcullis/schemas';
import { evaluate } from '../src/evaluate.ts';
import { policyStateFromDocument, type PolicyState } from '../src/policy/state.ts';
import { analyzeHttp } from '../src/analysis/http.ts';
import { command, givenPolicy } from './given.ts';

const example = policyStateFromDocument(readFileSync(new URL('../../../policies/examples/automation-access.yaml', import.meta.url), 'utf8'), 'automation-access.yaml');
assert.ok(example.ok);
const agent = { subject: 'llm-agent-7', issuer: 'https://idp.example.com', kind: 'service' as const, groups: ['llm-agents'] };
const cluster = { name: 'k8s-prod', kind: 'kubernetes' as const, tags: ['production'] };

function httpCommand(method: string, target: string, headers: Record<string, string> = {}, upgrade?: string): HttpCommand {
  const q = target.indexOf('?');
  return { kind: 'http', method, path: q < 0 ? target : target.slice(0, q), query: q < 0 ? '' : target.slice(q + 1), headers, bodySize: 0, ...(upgrade ? { upgrade } : {}) };
}

async function verdict(state: PolicyState, method: string, target: string, headers: Record<string, string> = {}, upgrade?: string) {
  const { decision } = await evaluate(command(httpCommand(method, target, headers, upgrade), { identity: agent, resource: cluster }), state);
  return decision;
}

type Row = [what: string, method: string, target: string, headers?: Record<string, string>, upgrade?: string];

// ---------------------------------------------------------------- classes a read rule never admits

const escapeHatches: Row[] = [
  ['node proxy', 'GET', '/api/v1/nodes/n1/proxy/stats/summary'],
  ['node proxy to a port', 'GET', '/api/v1/nodes/n1:10250/proxy/metrics'],
  ['node proxy, exec through the kubelet over WebSocket', 'GET', '/api/v1/nodes/n1/proxy/exec/shop/web-1/app?command=id&output=1', { 'sec-websocket-protocol': 'v4.channel.k8s.io' }, 'websocket'],
  ['node proxy without a path', 'GET', '/api/v1/nodes/n1/proxy'],
  ['pod proxy', 'GET', '/api/v1/namespaces/shop/pods/web-1/proxy/debug/pprof'],
  ['pod:port proxy', 'GET', '/api/v1/namespaces/shop/pods/web-1:8080/proxy/admin'],
  ['service proxy', 'GET', '/api/v1/namespaces/shop/services/web/proxy/metrics'],
  ['scheme:service:port proxy', 'GET', '/api/v1/namespaces/shop/services/https:web:443/proxy/admin'],
  ['legacy /proxy/ verb path', 'GET', '/api/v1/proxy/namespaces/shop/pods/web-1/metrics'],
  ['legacy /proxy/ to a node', 'GET', '/api/v1/proxy/nodes/n1/pods'],
  ['HEAD on a proxy', 'HEAD', '/api/v1/nodes/n1/proxy/healthz'],
  ['exec over WebSocket (GET)', 'GET', '/api/v1/namespaces/shop/pods/web-1/exec?command=sh&stdin=true&tty=true', {}, 'websocket'],
  ['exec over SPDY (POST)', 'POST', '/api/v1/namespaces/shop/pods/web-1/exec?command=id'],
  ['attach', 'POST', '/api/v1/namespaces/shop/pods/web-1/attach?stdin=true'],
  ['port-forward', 'GET', '/api/v1/namespaces/shop/pods/web-1/portforward?ports=5432', {}, 'websocket'],
  ['a service account token', 'POST', '/api/v1/namespaces/shop/serviceaccounts/default/token'],
  ['an eviction', 'POST', '/api/v1/namespaces/shop/pods/web-1/eviction'],
  ['adding an ephemeral container', 'PATCH', '/api/v1/namespaces/shop/pods/web-1/ephemeralcontainers'],
  ['reading ephemeral containers', 'GET', '/api/v1/namespaces/shop/pods/web-1/ephemeralcontainers'],
  ['approving a CSR', 'PUT', '/apis/certificates.k8s.io/v1/certificatesigningrequests/csr-1/approval'],
  ['reading a CSR approval', 'GET', '/apis/certificates.k8s.io/v1/certificatesigningrequests/csr-1/approval'],
  ['a TokenReview', 'POST', '/apis/authentication.k8s.io/v1/tokenreviews'],
  ['a SubjectAccessReview', 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews'],
  ['a SelfSubjectAccessReview', 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews'],
  ['a LocalSubjectAccessReview', 'POST', '/apis/authorization.k8s.io/v1/namespaces/shop/localsubjectaccessreviews'],
  ['a SelfSubjectRulesReview', 'POST', '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews'],
  ['creating a ClusterRole (escalate)', 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles'],
  ['patching a Role (escalate)', 'PATCH', '/apis/rbac.authorization.k8s.io/v1/namespaces/shop/roles/reader'],
  ['creating a ClusterRoleBinding (bind)', 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings'],
  ['replacing a RoleBinding (bind)', 'PUT', '/apis/rbac.authorization.k8s.io/v1/namespaces/shop/rolebindings/readers'],
  ['Impersonate-User on a read', 'GET', '/api/v1/namespaces/shop/pods', { 'impersonate-user': 'admin' }],
  ['Impersonate-Group on a read', 'GET', '/api/v1/namespaces/shop/pods', { 'impersonate-user': 'x', 'impersonate-group': 'system:masters' }],
  ['Impersonate-Uid alone', 'GET', '/api/v1/namespaces/shop/pods', { 'impersonate-uid': '1234' }],
  ['Impersonate-Extra-*', 'GET', '/api/v1/namespaces/shop/pods', { 'impersonate-extra-scopes': 'view' }],
  ['upper-case header name', 'GET', '/api/v1/namespaces/shop/pods', { 'Impersonate-User': 'admin' }],
  ['impersonation on a non-resource URL', 'GET', '/version', { 'impersonate-user': 'admin' }],
];

test('escape hatches: a read rule never admits them, the example policy blocks them by name', async () => {
  for (const [what, method, target, headers, upgrade] of escapeHatches) {
    const d = await verdict(example.state, method, target, headers, upgrade);
    assert.equal(d.effect, 'block', `${what}: ${method} ${target} → ${d.effect} (${d.reasons.join('; ')})`);
    assert.ok(d.ruleIds.includes('k8s-no-escape-hatches') || d.ruleIds.includes('k8s-no-secrets-or-exec'), `${what}: decided by ${d.ruleIds.join(', ')}`);
    assert.ok(d.classes.length > 0, `${what}: classified (${d.classes.join(', ')})`);
  }
});

// ---------------------------------------------------------------- spellings the policy and the API server could read differently

const spellings: Row[] = [
  ['upper-case resource', 'GET', '/api/v1/namespaces/shop/SECRETS/db'],
  ['mixed-case resource', 'GET', '/api/v1/namespaces/shop/Secrets'],
  ['trailing dot on the resource', 'GET', '/api/v1/namespaces/shop/secrets./db'],
  ['trailing dot on the name', 'GET', '/api/v1/namespaces/shop/secrets/db.'],
  ['..; (path parameter)', 'GET', '/api/v1/namespaces/shop/secrets/db..;'],
  ['..; before a segment', 'GET', '/api/v1/namespaces/shop/pods/..;/secrets/db'],
  [';params on a subresource', 'POST', '/api/v1/namespaces/shop/pods/web-1/exec;x=y?command=id'],
  ['%20 after a subresource', 'POST', '/api/v1/namespaces/shop/pods/web-1/exec%20?command=id'],
  ['percent-encoded letters', 'GET', '/api/v1/namespaces/shop/%73ecrets/db'],
  ['percent-encoded slash', 'GET', '/api/v1/namespaces/shop%2Fsecrets/db'],
  ['percent-encoded lower-case slash', 'GET', '/api/v1/namespaces/shop/pods/web-1%2fproxy'],
  ['double-encoded dot segment', 'GET', '/api/v1/namespaces/shop/pods/%252e%252e/secrets'],
  ['/apis/v1 (group "v1")', 'GET', '/apis/v1/namespaces/shop/secrets/db'],
  ['group spelled as a version', 'GET', '/apis/v1/v1/namespaces/shop/secrets'],
  ['upper-case group', 'GET', '/apis/RBAC.authorization.k8s.io/v1/clusterroles'],
  ['group with a trailing dot', 'POST', '/apis/rbac.authorization.k8s.io./v1/clusterrolebindings'],
  ['upper-case version', 'GET', '/api/V1/namespaces/shop/secrets'],
  ['not a version', 'GET', '/api/latest/namespaces/shop/secrets'],
  ['upper-case namespace', 'GET', '/api/v1/namespaces/SHOP/pods'],
  ['double slash', 'GET', '/api//v1/namespaces/shop/secrets'],
  ['leading double slash', 'GET', '//api/v1/namespaces/shop/secrets/db'],
  ['dot segment', 'GET', '/api/v1/namespaces/shop/./secrets/db'],
  ['dot-dot segment', 'GET', '/api/v1/namespaces/other/../shop/secrets/db'],
  ['dot-dot out of a proxy path', 'GET', '/api/v1/namespaces/shop/pods/web-1/log/../../../secrets/db'],
  ['trailing slash', 'GET', '/api/v1/namespaces/shop/secrets/'],
  ['trailing slash after a subresource', 'POST', '/api/v1/namespaces/shop/pods/web-1/exec/?command=id'],
  ['parts after a subresource', 'GET', '/api/v1/namespaces/shop/pods/web-1/log/extra'],
  ['non-ASCII look-alike', 'GET', '/api/v1/namespaces/shop/\u017fecrets/db'],
  ['backslash', 'GET', '/api/v1/namespaces/shop/pods\\..\\secrets'],
  ['tab in a segment', 'GET', '/api/v1/namespaces/shop/pods/web-1/exec\t'],
  ['; in the query', 'GET', '/api/v1/namespaces/shop/pods?watch=1;x=y'],
  ['malformed escape in the query', 'GET', '/api/v1/namespaces/shop/pods?fieldSelector=%zz'],
  ['lower-case method', 'get', '/api/v1/namespaces/shop/pods'],
  ['OPTIONS (no verb)', 'OPTIONS', '/api/v1/namespaces/shop/pods'],
];

test('non-canonical spellings are refused (unparseable), never classified as something harmless', async () => {
  for (const [what, method, target, headers] of spellings) {
    const d = await verdict(example.state, method, target, headers);
    assert.equal(d.effect, 'block', `${what}: ${method} ${target} → ${d.effect} (${d.reasons.join('; ')})`);
    assert.match(d.reasons.join('; '), /unparseable/, `${what}: ${d.reasons.join('; ')}`);
  }
});

test('the canonical requests an agent needs still pass', async () => {
  for (const [method, target] of [
    ['GET', '/api/v1/namespaces/shop/pods'],
    ['GET', '/api/v1/namespaces/shop/pods?watch=1&resourceVersion=7'],
    ['GET', '/api/v1/namespaces/shop/pods/web-1'],
    ['GET', '/api/v1/namespaces/shop/pods/web-1/log?container=app&follow=true'],
    ['GET', '/api/v1/nodes'],
    ['GET', '/apis/apps/v1/namespaces/shop/deployments/web'],
    ['GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/system:node'],
    ['GET', '/apis/rbac.authorization.k8s.io/v1/namespaces/shop/rolebindings'],
  ]) {
    const d = await verdict(example.state, method!, target!);
    assert.equal(d.effect, 'allow', `${method} ${target}: ${d.reasons.join('; ')}`);
    assert.deepEqual(d.classes, []);
  }
  // A plain HTTP API with /api paths is not held to Kubernetes spelling.
  const plain = analyzeHttp(httpCommand('GET', '/api/orders/ABC-12'), 'http');
  assert.equal(plain.ok, true);
});

// ---------------------------------------------------------------- rules that name a class, and header matchers

const withExceptions = givenPolicy(`apiVersion: portcullis/v1
rules:
  - { id: read, effect: allow, match: { http: { methods: [GET], kubernetes: { verbs: ["*"] } } } }
  - { id: anything-on-dev, effect: allow, match: { resource: { names: [k8s-dev] } } }
  - id: logs-via-kubelet
    effect: allow
    match: { http: { methods: [GET], classes: [proxy], kubernetes: { resources: [nodes/proxy] }, paths: ["/api/v1/nodes/*/proxy/logs/**"] } }
  - id: impersonate-developers
    effect: allow
    match: { http: { methods: [GET], classes: [impersonate], headers: { impersonate-user: ["dev-*"] } } }
  - id: never-masters
    effect: block
    reason: nobody becomes system:masters
    match: { http: { headers: { "impersonate-*": [system:masters] } } }
`);

test('only a rule that names a class admits it; verbs "*" or a rule without conditions does not', async () => {
  const over = (method: string, target: string, headers: Record<string, string> = {}, resource = cluster) =>
    evaluate(command(httpCommand(method, target, headers), { identity: agent, resource }), withExceptions).then((e) => e.decision);
  assert.equal((await over('GET', '/api/v1/nodes/n1/proxy/stats/summary')).effect, 'block', 'verbs: ["*"] is not a proxy rule');
  assert.equal((await over('GET', '/api/v1/nodes/n1/proxy/stats/summary', {}, { ...cluster, name: 'k8s-dev' })).effect, 'block', 'a rule with no http conditions admits no class');
  assert.deepEqual((await over('GET', '/api/v1/nodes/n1/proxy/logs/syslog')).ruleIds, ['logs-via-kubelet']);
  assert.equal((await over('GET', '/api/v1/nodes/n1/proxy/logs/syslog', { 'impersonate-user': 'admin' })).effect, 'block', 'proxy + impersonate needs a rule naming both');

  assert.deepEqual((await over('GET', '/api/v1/namespaces/shop/pods', { 'impersonate-user': 'dev-ann' })).ruleIds, ['impersonate-developers']);
  assert.equal((await over('GET', '/api/v1/namespaces/shop/pods', { 'impersonate-user': 'admin' })).effect, 'block');
  assert.equal((await over('GET', '/api/v1/namespaces/shop/pods', { 'impersonate-user': 'dev-ann, admin' })).effect, 'block', 'every listed value must be allowed');
  assert.equal((await over('GET', '/api/v1/namespaces/shop/pods', { 'impersonate-user': 'dev-ann', 'impersonate-group': 'developers' })).effect, 'block', 'an Impersonate-Group the rule does not name');
  const masters = await over('GET', '/api/v1/namespaces/shop/pods', { 'impersonate-user': 'dev-ann', 'impersonate-group': 'developers, system:masters' });
  assert.deepEqual([masters.effect, masters.ruleIds], ['block', ['never-masters']]);
  assert.equal((await over('POST', '/api/v1/namespaces/shop/pods', { 'impersonate-user': 'dev-ann' })).effect, 'block', 'methods still apply');
});

test('approvers see whom a held request would act as', async () => {
  const { commandText } = await import('@portcullis/schemas');
  const held = command(httpCommand('PATCH', '/apis/apps/v1/namespaces/shop/deployments/web/scale', { 'content-type': 'application/merge-patch+json', 'impersonate-user': 'dev-ann', 'impersonate-group': 'developers' }), { identity: agent, resource: cluster });
  assert.equal(commandText(held.command), 'PATCH /apis/apps/v1/namespaces/shop/deployments/web/scale\nimpersonate-user: dev-ann\nimpersonate-group: developers');
  assert.equal(commandText(command(httpCommand('GET', '/api/v1/pods?limit=5')).command), 'GET /api/v1/pods?limit=5');
});
