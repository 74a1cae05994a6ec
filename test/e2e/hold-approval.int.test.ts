/**
 * The hold workflow end to end, everything real: psql → PostgreSQL proxy →
 * PDP (hold) → approvals service (its HTTP API, approvers with tokens from the
 * local OpenID provider) → final verdict → the statement runs or fails on the
 * real PostgreSQL.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createIdentityVerifier, createTestBus, eventually, silentLogger, type Bus } from '@portcullis/kit';
import { issueHumanToken, issueServiceToken } from '@portcullis/infra';
import { createTestDatabase, type TestDatabase } from '@portcullis/infra/targets';
import { publishPolicy, startPolicyDecisionService, type PolicyDecisionService } from '@portcullis/policy-decision';
import { parseProxyConfig, startPostgresGateway, type PostgresGateway } from '@portcullis/proxy-postgres';
import { startApprovalsService, type ApprovalsService } from '@portcullis/approvals';

const issuer = 'http://127.0.0.1:9400';
const policy = readFileSync(fileURLToPath(new URL('../../policies/examples/automation-access.yaml', import.meta.url)), 'utf8');

describe('held statements through psql, decided by approvers through the approvals API', () => {
  let db: TestDatabase;
  let bus: Bus;
  let pdp: PolicyDecisionService;
  let gateway: PostgresGateway;
  let approvals: ApprovalsService;

  before(async () => {
    db = await createTestDatabase('hold', 'orders-prod');
    await db.table('orders (id int primary key, status text)', "(1, 'stale'), (2, 'stale'), (3, 'stale')");

    bus = createTestBus('hold-e2e', { partitions: 3 });
    await bus.connect();
    assert.ok((await publishPolicy({ bus, yamlText: policy, fileName: 'automation-access.yaml' })).ok);
    pdp = await startPolicyDecisionService({ bus, logger: silentLogger(), transactionalId: `${bus.names.namespace}-pdp` });
    const verifier = createIdentityVerifier({ issuers: [{ issuer, audience: 'portcullis' }] });
    approvals = await startApprovalsService({ bus, logger: silentLogger(), verifier, port: 0 });
    const config = parseProxyConfig({
      resources: [{ ...db.resource, tags: ['production'] }],
      listen: { host: '127.0.0.1', port: 0 },
      verdictTimeoutMs: 15_000,
    });
    gateway = await startPostgresGateway({ config, bus, logger: silentLogger(), issuer, port: 0 });
  });
  after(async () => {
    await gateway?.close();
    await approvals?.stop();
    await pdp?.stop();
    await bus?.disconnect();
    await db?.drop();
  });

  function psql(user: string, token: string, sql: string): { done: Promise<{ code: number | null; stdout: string; stderr: string }>; child: ChildProcess; stderr: () => string } {
    const child = spawn('psql', ['-X', '-At', '-h', '127.0.0.1', '-p', String(gateway.port), '-U', user, '-d', 'orders-prod', '-c', sql], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PGPASSWORD: token, PGSSLMODE: 'require', PGOPTIONS: '-c portcullis.reason=ticket-OPS-42' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
    return { done, child, stderr: () => stderr };
  }

  async function api(path: string, token: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`${approvals.url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  /** The approval id from psql's NOTICE, as a person would read it. */
  const approvalIdFrom = (stderr: string): string | undefined => /for approval ([0-9a-f-]{36})/.exec(stderr)?.[1];

  it('a held DELETE granted by a DBA runs: the row is gone', async () => {
    const ci = await issueServiceToken(issuer, 'ci-deploy');
    const run = psql('ci-deploy', ci, 'DELETE FROM orders WHERE id = 1');
    const approvalId = await eventually('the hold notice', () => approvalIdFrom(run.stderr()), 30_000);
    const alice = await issueHumanToken(issuer, 'alice');
    const shown = await eventually('the pending approval in the API', async () => {
      const r = await api(`/approvals/${approvalId}`, alice);
      return r.status === 200 ? r : undefined;
    });
    assert.equal(shown.json.status, 'pending');
    assert.equal(shown.json.reason, 'ticket-OPS-42', 'the reason the caller stated reaches the approvers');
    const granted = await api(`/approvals/${approvalId}/grant`, alice, { comment: 'cleanup approved' });
    assert.equal(granted.status, 200, JSON.stringify(granted.json));
    const r = await run.done;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'DELETE 1');
    const rows = await db.admin(`SELECT id FROM ${db.schema}.orders ORDER BY id`);
    assert.deepEqual(rows.rows.map((x) => x.id), [2, 3]);
  });

  it('a denied one returns the error with the approver\'s comment, and the row stays; no one approves for themselves', async () => {
    const ci = await issueServiceToken(issuer, 'ci-deploy');
    const run = psql('ci-deploy', ci, 'DELETE FROM orders WHERE id = 2');
    const approvalId = await eventually('the hold notice', () => approvalIdFrom(run.stderr()), 30_000);
    const carol = await issueHumanToken(issuer, 'carol');
    // carol audits (she sees the approval) but does not approve for dba.
    const notApprover = await eventually('carol to see the approval', async () => {
      const r = await api(`/approvals/${approvalId}/grant`, carol, { comment: 'lgtm' });
      return r.status === 404 ? undefined : r;
    });
    assert.equal(notApprover.status, 403);
    const bob = await issueHumanToken(issuer, 'bob');
    assert.equal((await api(`/approvals/${approvalId}/grant`, bob, { comment: 'lgtm' })).status, 404, 'bob may not even see it');
    const dave = await issueHumanToken(issuer, 'dave');
    const denied = await eventually('the denial', async () => {
      const d = await api(`/approvals/${approvalId}/deny`, dave, { comment: 'not during the freeze' });
      return d.status === 200 ? d : undefined;
    });
    assert.equal(denied.json.status, 'denied');
    const r = await run.done;
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ERROR: .*denied.*not during the freeze/);
    const rows = await db.admin(`SELECT id FROM ${db.schema}.orders WHERE id = 2`);
    assert.equal(rows.rowCount, 1);
    const again = await api(`/approvals/${approvalId}/grant`, dave, {});
    assert.equal(again.status, 409);
  });

  it('a client that disconnects while waiting cancels its approval', async () => {
    const ci = await issueServiceToken(issuer, 'ci-deploy');
    const run = psql('ci-deploy', ci, 'DELETE FROM orders WHERE id = 3');
    const approvalId = await eventually('the hold notice', () => approvalIdFrom(run.stderr()), 30_000);
    run.child.kill('SIGKILL');
    const alice = await issueHumanToken(issuer, 'alice');
    const cancelled = await eventually('the cancellation', async () => {
      const r = await api(`/approvals/${approvalId}`, alice);
      return r.json.status === 'cancelled' ? r : undefined;
    }, 20_000);
    assert.equal(cancelled.json.status, 'cancelled');
    const rows = await db.admin(`SELECT id FROM ${db.schema}.orders WHERE id = 3`);
    assert.equal(rows.rowCount, 1);
  });
});
