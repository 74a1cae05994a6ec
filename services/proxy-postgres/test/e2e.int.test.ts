/**
 * End to end with everything real: psql → the proxy (TLS, an OIDC token from
 * the local OpenID provider as the password) → CommandRequested on Kafka →
 * the PDP with the shipped example policy → VerdictIssued → enforced on the
 * real PostgreSQL; the session record on portcullis.session-events.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { newId, nowIso, verifyChain, type ChainedEvent, type EventOf } from '@portcullis/schemas';
import { createLogger, createTestBus, eventually, silentLogger, type Bus, type Subscription } from '@portcullis/kit';
import { issueHumanToken, issueServiceToken } from '@portcullis/infra';
import { publishPolicy, startPolicyDecisionService, type PolicyDecisionService } from '@portcullis/policy-decision';
import { parseProxyConfig } from '../src/config.ts';
import { startPostgresGateway, type PostgresGateway } from '../src/gateway.ts';
import { createTestTarget, type TestTarget } from './support/target-database.ts';

const issuer = 'http://127.0.0.1:9400';
const policy = readFileSync(fileURLToPath(new URL('../../../policies/examples/automation-access.yaml', import.meta.url)), 'utf8');

describe('psql through the gateway, with Kafka, the PDP and real tokens', () => {
  let target: TestTarget;
  let bus: Bus;
  let pdp: PolicyDecisionService;
  let gateway: PostgresGateway;
  const chained: ChainedEvent[] = [];
  const sessionEvents: EventOf<'sessionEvents'>[] = [];
  let record: Subscription | undefined;

  before(async () => {
    target = await createTestTarget('e2e', 'orders-prod');
    target.resource.tags = ['production'];
    const t = target.schema;
    await target.admin(`CREATE TABLE ${t}.customers (id int primary key, name text, email text, card_number text)`);
    await target.admin(`INSERT INTO ${t}.customers VALUES (1, 'Jane Roe', 'jane.roe@example.com', '4111 1111 1111 1111'), (2, 'John Doe', 'john@example.org', '5500 0000 0000 0004')`);
    await target.admin(`ALTER TABLE ${t}.customers OWNER TO ${target.role}`);
    bus = createTestBus('pg-e2e', { partitions: 3 });
    await bus.connect();
    assert.ok((await publishPolicy({ bus, yamlText: policy, fileName: 'automation-access.yaml' })).ok);
    pdp = await startPolicyDecisionService({ bus, logger: silentLogger(), transactionalId: `${bus.names.namespace}-pdp`, knownResources: ['orders-prod'] });
    const config = parseProxyConfig({ resources: [target.resource], listen: { host: '127.0.0.1', port: 0 }, verdictTimeoutMs: 15_000 });
    gateway = await startPostgresGateway({ config, bus, logger: process.env.PCL_TEST_LOG ? createLogger('proxy') : silentLogger(), issuer, port: 0 });
    record = await bus.subscribe({
      groupId: 'record', topics: ['commands', 'sessionEvents'], fromBeginning: true,
      handler: async ({ topicKey, event }) => {
        chained.push(event as unknown as ChainedEvent);
        if (topicKey === 'sessionEvents') sessionEvents.push(event as EventOf<'sessionEvents'>);
      },
    });
    await record.ready;
  });
  after(async () => {
    await record?.stop();
    await gateway?.close();
    await pdp?.stop();
    await bus?.disconnect();
    await target?.drop();
  });

  function psql(user: string, token: string, sql: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn('psql', ['-X', '-At', '-h', '127.0.0.1', '-p', String(gateway.port), '-U', user, '-d', 'orders-prod', '-c', sql], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PGPASSWORD: token, PGSSLMODE: 'require', PGCONNECT_TIMEOUT: '10', PGAPPNAME: 'e2e-test' },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  it('an LLM agent reads customers with personal data masked, also behind an alias', async () => {
    const token = await issueServiceToken(issuer, 'llm-agent');
    const r = await psql('llm-agent', token, 'SELECT id, name, email, card_number FROM customers ORDER BY id');
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trim().split('\n').map((l) => l.split('|'));
    assert.equal(rows[0]![1], 'Jane Roe');
    assert.equal(rows[0]![2], 'j***@example.com');
    assert.ok(!r.stdout.includes('jane.roe@example.com') && !r.stdout.includes('4111'), r.stdout);
    const aliased = await psql('llm-agent', token, "SELECT email AS contact, upper(email) AS shout, card_number || '' AS c FROM customers WHERE id = 2");
    assert.equal(aliased.code, 0, aliased.stderr);
    assert.ok(!/john@example\.org|JOHN@EXAMPLE\.ORG|5500/.test(aliased.stdout), aliased.stdout);
  });

  it('a destructive statement is refused with the rule, and the rows stay', async () => {
    const token = await issueServiceToken(issuer, 'ci-deploy');
    const r = await psql('ci-deploy', token, 'DELETE FROM customers');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ERROR: {2}Portcullis blocked this statement: rule automation-no-destructive/);
    const left = await target.admin(`SELECT count(*)::int AS n FROM ${target.schema}.customers`);
    assert.equal(left.rows[0].n, 2);
  });

  it('a write to production is held, then runs once the approval is granted', async () => {
    const token = await issueServiceToken(issuer, 'ci-deploy');
    const running = psql('ci-deploy', token, "UPDATE customers SET name = 'Jane Approved' WHERE id = 1");
    const request = await eventually('the approval request', async () => {
      const admin = bus.kafka.consumer({ groupId: `${bus.names.namespace}-peek-${newId()}` });
      await admin.connect();
      await admin.subscribe({ topic: bus.names.of('approvals'), fromBeginning: true });
      let found: EventOf<'approvals'> | undefined;
      await admin.run({ eachMessage: async ({ message }) => { const e = await bus.codec.decode('approvals', message.value); if (e.type === 'ApprovalRequested' && e.commandText.includes('Jane Approved')) found = e; } });
      await new Promise((r) => setTimeout(r, 2500));
      await admin.disconnect();
      return found;
    }, 30_000);
    assert.equal(request.type, 'ApprovalRequested');
    assert.deepEqual(request.type === 'ApprovalRequested' && request.approverGroups, ['dba']);
    await bus.publish('approvals', { type: 'ApprovalGranted', eventId: newId(), occurredAt: nowIso(), sessionId: request.sessionId, approvalId: request.approvalId, approvers: ['alice'], comment: 'ticket OPS-1' });
    const r = await running;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /NOTICE: .*approval/i);
    const row = await target.admin(`SELECT name FROM ${target.schema}.customers WHERE id = 1`);
    assert.equal(row.rows[0].name, 'Jane Approved');
  });

  it('a person without a matching rule is refused by the default, and a bad token never reaches the target', async () => {
    const bob = await issueHumanToken(issuer, 'bob');
    const r = await psql('bob', bob, 'SELECT 1');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ERROR: {2}Portcullis blocked this statement/);
    const bad = await psql('mallory', 'not-a-token', 'SELECT 1');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /FATAL/);
  });

  it('the session record is complete and chained across commands and session events', async () => {
    await eventually('closed sessions', () => sessionEvents.filter((e) => e.type === 'SessionClosed').length >= 4 || undefined, 20_000);
    const opened = sessionEvents.filter((e) => e.type === 'SessionOpened');
    assert.ok(opened.some((e) => e.type === 'SessionOpened' && e.identity.subject === 'llm-agent' && e.applicationName === 'e2e-test'));
    const bySession = new Map<string, ChainedEvent[]>();
    for (const e of chained) bySession.set(String(e.sessionId), [...(bySession.get(String(e.sessionId)) ?? []), e]);
    for (const [sessionId, events] of bySession) assert.equal(verifyChain(events).integrity, 'ok', sessionId);
    const completed = sessionEvents.filter((e) => e.type === 'CommandCompleted');
    assert.ok(completed.some((e) => e.type === 'CommandCompleted' && e.status === 'refused'));
    assert.ok(completed.some((e) => e.type === 'CommandCompleted' && e.status === 'executed' && e.tag === 'UPDATE 1'));
  });
});
