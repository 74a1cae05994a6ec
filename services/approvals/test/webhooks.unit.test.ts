/** Webhook signatures and the Slack message, as a receiver sees them. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApprovalRequested } from '@portcullis/schemas';
import { evolve, initialState } from '../src/decider.ts';
import { signPayload, verifySignature } from '../src/webhooks/signature.ts';
import { slackMessage } from '../src/webhooks/slack.ts';

/** The sample from docs/approvals.md, verbatim. */
function verifyPortcullisSignature(secret: string, rawBody: string, header: string | undefined, toleranceSeconds = 300): boolean {
  if (!header) return false;
  const items = header.split(',').map((p) => p.trim().split('=') as [string, string?]);
  const t = Number(items.find(([k]) => k === 't')?.[1]);
  const signatures = items.filter(([k]) => k === 'v1').map(([, v]) => v ?? '');
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > toleranceSeconds) return false; // replayed or stale
  const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
  return signatures.some((s) => /^[0-9a-f]{64}$/.test(s) && timingSafeEqual(Buffer.from(s, 'hex'), expected));
}

describe('webhook signature', () => {
  const secret = randomBytes(32).toString('hex');
  const body = JSON.stringify({ type: 'ApprovalGranted', approvalId: 'x' });
  const now = Math.floor(Date.now() / 1000);

  it('verifies what it signed, with the service helper and with the documented sample', () => {
    const header = signPayload(secret, body, now);
    assert.match(header, /^t=\d+,v1=[0-9a-f]{64}$/);
    assert.deepEqual(verifySignature(secret, body, header), { ok: true, timestamp: now });
    assert.equal(verifyPortcullisSignature(secret, body, header), true);
  });

  it('refuses a changed body, another secret, an old timestamp and junk', () => {
    const header = signPayload(secret, body, now);
    assert.deepEqual(verifySignature(secret, `${body} `, header), { ok: false, reason: 'mismatch' });
    assert.deepEqual(verifySignature('other', body, header), { ok: false, reason: 'mismatch' });
    assert.deepEqual(verifySignature(secret, body, signPayload(secret, body, now - 301)), { ok: false, reason: 'too_old' });
    assert.deepEqual(verifySignature(secret, body, 'v1=abc'), { ok: false, reason: 'malformed' });
    assert.equal(verifyPortcullisSignature(secret, `${body} `, header), false);
    assert.equal(verifyPortcullisSignature(secret, body, signPayload(secret, body, now - 301)), false);
  });

  it('accepts any of several v1 signatures (secret rotation)', () => {
    const header = `${signPayload('old', body, now)},v1=${signPayload(secret, body, now).split('v1=')[1]}`;
    assert.equal(verifySignature(secret, body, header).ok, true);
    assert.equal(verifyPortcullisSignature(secret, body, header), true);
  });
});

describe('Slack message', () => {
  const request: ApprovalRequested = {
    type: 'ApprovalRequested', eventId: '0190a5b4-0000-7000-8000-000000000001', occurredAt: '2025-01-01T10:00:00.000Z', sessionId: 's',
    approvalId: '0190a5b4-0000-7000-8000-0000000000aa', commandId: '0190a5b4-0000-7000-8000-0000000000bb',
    identity: { subject: 'ci-deploy', issuer: 'http://127.0.0.1:9400', kind: 'service', groups: ['ci'] },
    resource: { name: 'orders-db', kind: 'postgres', tags: ['production'] }, commandText: 'UPDATE orders SET x = 1 WHERE id < 5',
    ruleId: 'writes-need-a-dba', approverGroups: ['dba'], quorum: 1, expiresAt: '2025-01-01T10:30:00.000Z', reason: 'writes need a <DBA>', policyVersion: 3,
  };

  it('shows command, identity, resource and reason, with approve/deny actions and CLI commands', () => {
    const m = slackMessage(request, initialState, 'https://approvals.example.com/');
    const json = JSON.stringify(m);
    assert.match(m.text, /ci-deploy.*orders-db/);
    assert.ok(json.includes('UPDATE orders SET x = 1 WHERE id &lt; 5'), 'mrkdwn is escaped');
    assert.ok(json.includes('writes need a &lt;DBA&gt;'));
    assert.ok(json.includes('production'));
    const actions = m.blocks.find((b) => b.type === 'actions') as unknown as { elements: { action_id: string; value: string; url: string }[] };
    assert.deepEqual(actions.elements.map((e) => [e.action_id, e.value]), [['portcullis_grant', request.approvalId], ['portcullis_deny', request.approvalId]]);
    assert.ok(actions.elements[0]!.url.startsWith(`https://approvals.example.com/approvals/${request.approvalId}`));
    assert.ok(json.includes(`portcullis approvals grant ${request.approvalId}`));
  });

  it('reports an outcome with the request it belongs to', () => {
    const state = evolve(initialState, request);
    const m = slackMessage({ type: 'ApprovalDenied', eventId: '0190a5b4-0000-7000-8000-000000000002', occurredAt: '2025-01-01T10:05:00.000Z', sessionId: 's', approvalId: request.approvalId, approver: 'dave', comment: 'no' }, state, 'https://a.example.com');
    assert.match(m.text, /^Denied by dave: no \(orders-db: UPDATE orders/);
  });
});
