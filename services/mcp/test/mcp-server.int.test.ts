/**
 * The Portcullis MCP server with the MCP SDK's own client, authenticated as
 * llm-agent with a token from the local OpenID provider, against a real
 * PostgreSQL database, the real Kafka, PDP and approvals service: masked
 * rows, a blocked DROP naming the rule, a held UPDATE granted by alice and
 * its result through wait_for_approval, and the MCP session in the log.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createPool, eventually, schemaIdent, silentLogger, type Pool, type RunningProjection, type Subscription } from '@portcullis/kit';
import { issueHumanToken, issueServiceToken, postgresConnection, postgresUrl } from '@portcullis/infra';
import { startAuditProjection } from '@portcullis/audit-projection';
import type { CommandRequested, SessionOpened } from '@portcullis/schemas';
import { approvalsApi, ISSUER, startHarness, textOf, type Harness } from './support/harness.ts';

describe('the Portcullis MCP server', () => {
  const suffix = randomBytes(4).toString('hex');
  const role = `pcl_mcp_${suffix}`;
  const envVar = `PCL_MCP_PW_${suffix.toUpperCase()}`;
  let admin: pg.Client;
  let h: Harness;
  let agentToken: string;
  const commands: CommandRequested[] = [];
  const opened: SessionOpened[] = [];
  let reader: Subscription;
  const auditSchema = `t_mcp_audit_${suffix}`;
  let auditPool: Pool;
  let audit: RunningProjection;

  before(async () => {
    const c = postgresConnection();
    admin = new pg.Client({ host: c.host, port: c.port, user: c.user, password: c.password, database: 'demo' });
    await admin.connect();
    const password = randomBytes(18).toString('base64url');
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    await admin.query(`CREATE SCHEMA ${role} AUTHORIZATION ${role}`);
    await admin.query(`ALTER ROLE ${role} IN DATABASE demo SET search_path = ${role}`);
    await admin.query(`CREATE TABLE ${role}.customers (id int primary key, name text, email text, card_number text)`);
    await admin.query(`INSERT INTO ${role}.customers VALUES (1, 'Jane Roe', 'jane.roe@example.com', '4111111111111111'), (2, 'John Doe', 'john.doe@example.com', '5500005555555559')`);
    await admin.query(`CREATE TABLE ${role}.orders (id int primary key, status text)`);
    await admin.query(`INSERT INTO ${role}.orders VALUES (1, 'new'), (2, 'new')`);
    await admin.query(`ALTER TABLE ${role}.customers OWNER TO ${role}`);
    await admin.query(`ALTER TABLE ${role}.orders OWNER TO ${role}`);
    h = await startHarness('mcp-server', {
      resources: [{ name: 'shop-db', protocol: 'postgres', tags: ['production', 'pii'], target: { host: c.host, port: c.port, database: 'demo', user: role, tls: 'disable' }, credential: { env: envVar } }],
    }, { env: { ...process.env, [envVar]: password } });
    process.env[envVar] = password;
    reader = await h.bus.subscribe({
      groupId: `t-mcp-${suffix}`,
      topics: ['commands', 'sessionEvents'],
      fromBeginning: true,
      handler: async ({ event }) => {
        if (event.type === 'CommandRequested') commands.push(event);
        if (event.type === 'SessionOpened') opened.push(event);
      },
    });
    auditPool = createPool(postgresUrl('portcullis'), 2);
    audit = await startAuditProjection({ bus: h.bus, pool: auditPool, logger: silentLogger(), schema: auditSchema });
    agentToken = await issueServiceToken(ISSUER, 'llm-agent');
  });

  after(async () => {
    await reader?.stop().catch(() => undefined);
    await audit?.stop().catch(() => undefined);
    await h?.close();
    await admin?.query(`DROP SCHEMA IF EXISTS ${role} CASCADE`).catch(() => undefined);
    await admin?.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    await admin?.end();
    // Last: a batch the projection was still writing when it stopped must not fail on a dropped schema.
    await auditPool?.query(`DROP SCHEMA IF EXISTS ${schemaIdent(auditSchema)} CASCADE`).catch(() => undefined);
    await auditPool?.end().catch(() => undefined);
  });

  it('lists its tools and the resources', async () => {
    const { client } = await h.connect(agentToken);
    const tools = (await client.listTools()).tools.map((t) => t.name).sort();
    assert.deepEqual(tools, ['approval_status', 'describe_resource', 'exec', 'http_request', 'list_resources', 'query', 'wait_for_approval']);
    const listed = await client.callTool({ name: 'list_resources', arguments: {} });
    assert.match(textOf(listed), /shop-db\tpostgres\tquery\tproduction,pii/);
    const described = await client.callTool({ name: 'describe_resource', arguments: { resource: 'shop-db' } });
    const text = textOf(described);
    assert.match(text, new RegExp(`${role}\\.customers \\(mask: pii-masked\\)`));
    assert.match(text, /email text \[masked: partial\]/);
    assert.match(text, /card_number text \[masked: redact\]/);
    assert.match(text, /^ {2}name text$/m, 'an unprotected column is not marked');
  });

  it('query returns masked rows; DROP TABLE is an error naming the rule; the MCP session is in the log', async () => {
    const { client, transport } = await h.connect(agentToken);
    const rows = await client.callTool({ name: 'query', arguments: { resource: 'shop-db', sql: 'SELECT name, email, card_number FROM customers ORDER BY id' } });
    assert.notEqual(rows.isError, true, textOf(rows));
    const text = textOf(rows);
    assert.match(text, /\["Jane Roe","j\*\*\*@example\.com","\*\*\*\*"\]/);
    assert.doesNotMatch(text, /jane\.roe@example\.com|4111111111111111/);
    const results = (rows.structuredContent as { results: { rows: unknown[][] }[] }).results;
    assert.equal(results[0]!.rows.length, 2);

    const drop = await client.callTool({ name: 'query', arguments: { resource: 'shop-db', sql: 'DROP TABLE customers' } });
    assert.equal(drop.isError, true);
    assert.match(textOf(drop), /^PCL_ERR_BLOCKED: Portcullis blocked this call: rule automation-no-destructive: .*automation must not run destructive/);
    assert.deepEqual((drop.structuredContent as { ruleIds: string[] }).ruleIds, ['automation-no-destructive']);
    assert.equal((await admin.query(`SELECT count(*)::int AS n FROM ${role}.customers`)).rows[0].n, 2, 'the table is still there');

    const sessionId = transport.sessionId!;
    const mine = await eventually('both commands in the log', () => {
      const found = commands.filter((c) => c.sessionId === `mcp-${sessionId}-shop-db`);
      return found.length === 2 ? found : undefined;
    });
    assert.deepEqual(mine.map((c) => (c.command.kind === 'sql' ? c.command.text : '')), ['SELECT name, email, card_number FROM customers ORDER BY id', 'DROP TABLE customers']);
    assert.ok(mine.every((c) => c.via === 'mcp' && c.protocol === 'postgres' && c.identity.subject === 'llm-agent'));
    const session = await eventually('SessionOpened', () => opened.find((o) => o.sessionId === `mcp-${sessionId}-shop-db`));
    assert.equal(session.mcpSessionId, sessionId);
    assert.equal(session.via, 'mcp');
    assert.equal(session.applicationName, 'mcp:portcullis-test-agent');

    // The audit view: the MCP session, each call with its verdict.
    const s = schemaIdent(auditSchema);
    const audited = await eventually('the audit rows', async () => {
      const { rows } = await auditPool.query(`SELECT c.text, c.effect, c.rule_ids, c.status, x.application_name, x.integrity FROM ${s}.commands c JOIN ${s}.sessions x USING (session_id) WHERE session_id = $1 ORDER BY c.seq`, [`mcp-${sessionId}-shop-db`]);
      return rows.length === 2 && rows.every((r) => r.status !== null) ? rows : undefined;
    }, 30_000);
    assert.deepEqual(audited.map((r) => [r.text, r.effect, r.status, r.application_name, r.integrity]), [
      ['SELECT name, email, card_number FROM customers ORDER BY id', 'mask', 'executed', 'mcp:portcullis-test-agent', 'ok'],
      ['DROP TABLE customers', 'block', 'refused', 'mcp:portcullis-test-agent', 'ok'],
    ]);
  });

  it('an UPDATE on production comes back pending; alice grants it; wait_for_approval returns its result', async () => {
    const { client } = await h.connect(agentToken);
    const held = await client.callTool({ name: 'query', arguments: { resource: 'shop-db', sql: "UPDATE orders SET status = 'shipped' WHERE id = 1", reason: 'ticket OPS-7' } });
    assert.notEqual(held.isError, true);
    const approvalId = (held.structuredContent as { approvalId: string }).approvalId;
    assert.match(textOf(held), new RegExp(`^Pending approval ${approvalId}: .*automation-write-production.*wait_for_approval`));
    assert.equal((await admin.query(`SELECT status FROM ${role}.orders WHERE id = 1`)).rows[0].status, 'new', 'nothing ran yet');

    const status = await client.callTool({ name: 'approval_status', arguments: { approval_id: approvalId } });
    assert.match(textOf(status), /is pending/);

    const alice = await issueHumanToken(ISSUER, 'alice');
    const granted = await eventually('the approval to be grantable', async () => {
      const r = await approvalsApi(h.approvals, `/approvals/${approvalId}/grant`, alice, { comment: 'fine' });
      return r.status === 200 ? r : undefined;
    });
    assert.equal(granted.json.status, 'granted');
    const result = await client.callTool({ name: 'wait_for_approval', arguments: { approval_id: approvalId, timeout_seconds: 30 } });
    assert.notEqual(result.isError, true, textOf(result));
    assert.match(textOf(result), /^UPDATE 1/);
    assert.equal((await admin.query(`SELECT status FROM ${role}.orders WHERE id = 1`)).rows[0].status, 'shipped');

    const again = await client.callTool({ name: 'wait_for_approval', arguments: { approval_id: approvalId } });
    assert.equal(again.isError, true, 'a granted call runs once');
    assert.match(textOf(again), /PCL_ERR_APPROVAL_UNKNOWN/);
  });

  it('another identity cannot wait for (or learn about) an agent\'s held call', async () => {
    const { client } = await h.connect(agentToken);
    const held = await client.callTool({ name: 'query', arguments: { resource: 'shop-db', sql: "UPDATE orders SET status = 'x' WHERE id = 2" } });
    const approvalId = (held.structuredContent as { approvalId: string }).approvalId;
    const ci = await issueServiceToken(ISSUER, 'ci-deploy');
    const other = await h.connect(ci);
    const r = await other.client.callTool({ name: 'wait_for_approval', arguments: { approval_id: approvalId, timeout_seconds: 1 } });
    assert.equal(r.isError, true);
    assert.match(textOf(r), /PCL_ERR_APPROVAL_UNKNOWN/);
  });

  it('ending the MCP session withdraws its held calls: the approval shows cancelled, nothing runs', async () => {
    const { client, transport } = await h.connect(agentToken);
    const held = await client.callTool({ name: 'query', arguments: { resource: 'shop-db', sql: "UPDATE orders SET status = 'gone' WHERE id = 2" } });
    const approvalId = (held.structuredContent as { approvalId: string }).approvalId;
    await transport.terminateSession();
    const alice = await issueHumanToken(ISSUER, 'alice');
    const shown = await eventually('the approval cancelled', async () => {
      const r = await approvalsApi(h.approvals, `/approvals/${approvalId}`, alice);
      return r.json.status === 'cancelled' ? r : undefined;
    }, 20_000);
    assert.equal(shown.json.status, 'cancelled');
    assert.notEqual((await admin.query(`SELECT status FROM ${role}.orders WHERE id = 2`)).rows[0].status, 'gone');
  });

  it('results are capped with an explicit truncation marker', async () => {
    const { client } = await h.connect(agentToken);
    const r = await client.callTool({ name: 'query', arguments: { resource: 'shop-db', sql: "SELECT repeat('x', 1000) AS filler FROM generate_series(1, 20)" } });
    assert.notEqual(r.isError, true, textOf(r));
    assert.match(textOf(r), /\[truncated by Portcullis: \d+ more rows not shown\]/);
    assert.equal((r.structuredContent as { truncated: boolean }).truncated, true);
  });
});
