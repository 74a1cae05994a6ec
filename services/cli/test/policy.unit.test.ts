/** The real `portcullis` bin, as a user runs it: what it prints and its exit status. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(root, 'services/cli/bin/portcullis.js');
const examplePolicy = join(root, 'policies/examples/automation-access.yaml');

function portcullis(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const ci = JSON.stringify({ subject: 'ci-deploy', kind: 'service', groups: ['ci'] });

describe('portcullis policy eval', () => {
  it('explains a block with rule ids and reasons', () => {
    const r = portcullis('policy', 'eval', '--policy', examplePolicy, '--identity', ci, '--resource', 'orders-prod', '--resource-tags', 'production', '--sql', 'DELETE FROM orders');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^effect: {2}block$/m);
    assert.match(r.stdout, /^rules: {3}automation-no-destructive$/m);
    assert.match(r.stdout, /automation must not run destructive, privileged or opaque statements/);
    assert.match(r.stdout, /^classes: write, unbounded-write$/m);
  });

  it('shows the approval a hold needs', () => {
    const r = portcullis('policy', 'eval', '--policy', examplePolicy, '--identity', ci, '--resource', 'orders-prod', '--resource-tags', 'production', '--sql', "UPDATE orders SET status = 'x' WHERE id = 1");
    assert.match(r.stdout, /^effect: {2}hold$/m);
    assert.match(r.stdout, /^approval: 1 of dba within 1800s \(rule automation-write-production\)$/m);
  });

  it('shows PostgreSQL\'s syntax error for SQL its parser rejects, and allows a string with no statement', () => {
    const bad = portcullis('policy', 'eval', '--policy', examplePolicy, '--identity', ci, '--resource', 'orders-prod', '--sql', 'SELECT * FORM orders');
    assert.match(bad.stdout, /^effect: {2}block$/m);
    assert.match(bad.stdout, /^syntax: {2}syntax error at or near "FORM" at character 10 \(the PostgreSQL proxy answers 42601\)$/m);
    const empty = portcullis('policy', 'eval', '--policy', examplePolicy, '--identity', ci, '--resource', 'orders-prod', '--sql', '');
    assert.match(empty.stdout, /^effect: {2}allow$/m);
    assert.match(empty.stdout, /no SQL statement in the command: nothing runs/);
  });

  it('prints JSON with --json', () => {
    const r = portcullis('policy', 'eval', '--policy', examplePolicy, '--identity', ci, '--resource', 'orders-prod', '--sql', 'SELECT email FROM customers', '--json');
    const decision = JSON.parse(r.stdout);
    assert.equal(decision.effect, 'mask');
    assert.deepEqual(decision.mask.referenced, [{ table: 'customers', column: 'email', strategy: 'partial' }]);
    assert.equal(decision.policyVersion, 1);
  });

  it('judges shell and HTTP commands', () => {
    const shell = portcullis('policy', 'eval', '--policy', examplePolicy, '--identity', ci, '--resource', 'web-1', '--shell', 'sudo rm -rf /', '--json');
    assert.deepEqual(JSON.parse(shell.stdout).ruleIds, ['ssh-destructive', 'ssh-secrets'], 'rm -r / also walks every protected file');
    const home = portcullis('policy', 'eval', '--policy', examplePolicy, '--identity', ci, '--resource', 'web-1', '--target-user', 'root', '--shell', 'ls -la ~', '--json');
    assert.deepEqual(JSON.parse(home.stdout).ruleIds, ['ssh-secrets'], "root's ~ is /root");
    const http = portcullis('policy', 'eval', '--policy', examplePolicy, '--identity', ci, '--resource', 'k8s', '--http', 'GET /api/v1/namespaces/shop/pods', '--json');
    assert.deepEqual(JSON.parse(http.stdout).ruleIds, ['automation-k8s-read']);
  });

  it('judges HTTP headers and Kubernetes spelling: --header, --resource-kind', () => {
    const asAdmin = portcullis('policy', 'eval', '--policy', examplePolicy, '--identity', ci, '--resource', 'k8s', '--resource-kind', 'kubernetes',
      '--http', 'GET /api/v1/namespaces/shop/pods', '--header', 'Impersonate-User: admin');
    assert.equal(asAdmin.status, 0, asAdmin.stderr);
    assert.match(asAdmin.stdout, /^effect: {2}block$/m);
    assert.match(asAdmin.stdout, /^rules: {3}k8s-no-escape-hatches$/m);
    assert.match(asAdmin.stdout, /^classes: impersonate$/m);
    const capitals = portcullis('policy', 'eval', '--policy', examplePolicy, '--identity', ci, '--resource', 'k8s', '--resource-kind', 'kubernetes', '--http', 'GET /api/v1/namespaces/shop/SECRETS', '--json');
    assert.match(JSON.parse(capitals.stdout).reasons.join(' '), /unparseable: "SECRETS" is not a resource name in canonical/);
    assert.equal(portcullis('policy', 'eval', '--policy', examplePolicy, '--identity', ci, '--resource', 'k8s', '--http', 'GET /', '--header', 'no colon').status, 2);
  });

  it('reports an invalid policy with file, line and field, exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-cli-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'apiVersion: portcullis/v1\nrules:\n  - id: r\n    effect: alow\n');
    const r = portcullis('policy', 'eval', '--policy', file, '--identity', ci, '--resource', 'db', '--sql', 'SELECT 1');
    assert.equal(r.status, 2);
    assert.match(r.stderr, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4: rules\\[0\\]\\.effect: `, 'm'));
  });

  it('needs exactly one command', () => {
    const r = portcullis('policy', 'eval', '--policy', examplePolicy, '--identity', ci, '--resource', 'db');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /give exactly one of --sql, --shell, --http/);
  });
});

describe('portcullis policy test', () => {
  it('passes the shipped example tests', () => {
    const r = portcullis('policy', 'test', 'policies/examples/automation-access.tests.yaml');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^PASS: (\d+)\/\1$/m);
  });

  it('reports failures like opa test and exits 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-cli-'));
    writeFileSync(join(dir, 'policy.yaml'), 'apiVersion: portcullis/v1\nrules:\n  - { id: reads, effect: allow, reason: reads are fine, match: { sql: { classes: [read] } } }\n');
    writeFileSync(
      join(dir, 'policy.tests.yaml'),
      [
        'policy: policy.yaml',
        'identities: { bot: { subject: bot, kind: service } }',
        'resources: { db: { name: db, kind: postgres } }',
        'tests:',
        '  - { name: reads pass, given: { identity: bot, resource: db }, when: { sql: "SELECT 1" }, then: { effect: allow, ruleIds: [reads] } }',
        '  - { name: deletes are wrongly expected, given: { identity: bot, resource: db }, when: { sql: "DELETE FROM t WHERE id = 1" }, then: { effect: allow } }',
        '',
      ].join('\n'),
    );
    const r = portcullis('policy', 'test', join(dir, 'policy.tests.yaml'));
    assert.equal(r.status, 1);
    assert.match(r.stdout, /^FAILURES$/m);
    assert.match(r.stdout, /policy\.tests\.yaml: deletes are wrongly expected: FAIL\n {2}effect: want allow, got block/);
    assert.match(r.stdout, /^PASS: 1\/2$/m);
    assert.match(r.stdout, /^FAIL: 1\/2$/m);
  });
});
