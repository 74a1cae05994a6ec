/**
 * PostgreSQL compatibility as a driver sees it: what psycopg 3 (libpq 17+)
 * and psql get through the gateway is what they get from PostgreSQL itself —
 * empty queries, syntax errors (SQLSTATE, message, position), the backend
 * pid, cancellation (plain and over TLS) — while Portcullis still refuses
 * what it cannot parse and keeps its own cancel key. Everything real: Kafka,
 * the PDP with the shipped example policy, tokens from the OpenID provider.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { EventOf } from '@portcullis/schemas';
import { createLogger, createTestBus, eventually, silentLogger, type Bus, type Subscription } from '@portcullis/kit';
import { issueHumanToken, issueServiceToken, postgresConnection } from '@portcullis/infra';
import { publishPolicy, startPolicyDecisionService, type PolicyDecisionService } from '@portcullis/policy-decision';
import { parseProxyConfig } from '../src/config.ts';
import { startPostgresGateway, type PostgresGateway } from '../src/gateway.ts';
import { createTestTarget, type TestTarget } from './support/target-database.ts';

const issuer = 'http://127.0.0.1:9400';
const policy = readFileSync(fileURLToPath(new URL('../../../policies/examples/automation-access.yaml', import.meta.url)), 'utf8');
const checks = fileURLToPath(new URL('./support/psycopg_checks.py', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', PGCONNECT_TIMEOUT: '10', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end();
  });
}

interface DriverError {
  status?: string;
  sqlstate: string | null;
  message: string | null;
  position: number | null;
  detail: string | null;
}

describe('PostgreSQL compatibility through the gateway (psycopg 3, psql)', () => {
  let target: TestTarget;
  let bus: Bus;
  let pdp: PolicyDecisionService;
  let gateway: PostgresGateway;
  let token: string;
  let agentToken: string;
  const verdicts: EventOf<'verdicts'>[] = [];
  const sessionEvents: EventOf<'sessionEvents'>[] = [];
  const commands: EventOf<'commands'>[] = [];
  let record: Subscription | undefined;

  before(async () => {
    target = await createTestTarget('compat', 'compat-db');
    await target.admin(`CREATE TABLE ${target.schema}.marks (n int)`);
    await target.admin(`ALTER TABLE ${target.schema}.marks OWNER TO ${target.role}`);
    await target.admin(`CREATE TABLE ${target.schema}.contacts (email text UNIQUE, card text UNIQUE)`);
    await target.admin(`INSERT INTO ${target.schema}.contacts VALUES ('jane@example.com', '4111 1111 1111 1111')`);
    await target.admin(`ALTER TABLE ${target.schema}.contacts OWNER TO ${target.role}`);
    bus = createTestBus('pg-compat', { partitions: 3 });
    await bus.connect();
    assert.ok((await publishPolicy({ bus, yamlText: policy, fileName: 'automation-access.yaml' })).ok);
    pdp = await startPolicyDecisionService({ bus, logger: silentLogger(), transactionalId: `${bus.names.namespace}-pdp`, knownResources: ['compat-db'] });
    const config = parseProxyConfig({ resources: [target.resource], listen: { host: '127.0.0.1', port: 0 }, verdictTimeoutMs: 15_000 });
    gateway = await startPostgresGateway({ config, bus, logger: process.env.PCL_TEST_LOG ? createLogger('proxy') : silentLogger(), issuer, port: 0 });
    record = await bus.subscribe({
      groupId: 'record', topics: ['commands', 'verdicts', 'sessionEvents'], fromBeginning: true,
      handler: async ({ topicKey, event }) => {
        if (topicKey === 'verdicts') verdicts.push(event as EventOf<'verdicts'>);
        if (topicKey === 'sessionEvents') sessionEvents.push(event as EventOf<'sessionEvents'>);
        if (topicKey === 'commands') commands.push(event as EventOf<'commands'>);
      },
    });
    await record.ready;
    // alice is a DBA: the example policy allows her everything outside production.
    token = await issueHumanToken(issuer, 'alice');
    agentToken = await issueServiceToken(issuer, 'llm-agent');
  });
  after(async () => {
    await record?.stop();
    await gateway?.close();
    await pdp?.stop();
    await bus?.disconnect();
    await target?.drop();
  });

  const throughGateway = (): string => `host=127.0.0.1 port=${gateway.port} dbname=compat-db user=alice password=${token} sslmode=require`;
  const asAgent = (): string => `host=127.0.0.1 port=${gateway.port} dbname=compat-db user=llm-agent password=${agentToken} sslmode=require`;
  const direct = (): string => {
    const c = postgresConnection();
    return `host=${c.host} port=${c.port} dbname=demo user=${target.role} password=${process.env[(target.resource.credential as { env: string }).env]} sslmode=disable`;
  };

  async function psycopg<T>(dsn: string, check: string, ...args: string[]): Promise<T> {
    const r = await run('python3', [checks, check, ...args], { PCL_DSN: dsn });
    assert.equal(r.code, 0, `psycopg check ${check} failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  function psql(sql: string): Promise<Run> {
    return run('psql', ['-X', '-At', '-h', '127.0.0.1', '-p', String(gateway.port), '-U', 'alice', '-d', 'compat-db', '-c', sql], { PGPASSWORD: token, PGSSLMODE: 'require' });
  }

  it('answers an empty query string with EmptyQueryResponse on the simple and the extended protocol', async () => {
    const viaGateway = await psycopg<Record<string, unknown>>(throughGateway(), 'empty-query');
    assert.deepEqual(viaGateway, await psycopg<Record<string, unknown>>(direct(), 'empty-query'));
    assert.deepEqual(viaGateway, { simple: 'EMPTY_QUERY', extended: 'EMPTY_QUERY', prepare: 'COMMAND_OK', executePrepared: 'EMPTY_QUERY', cursor: 'EMPTY_QUERY', after: 1 });
  });

  it('answers a statement PostgreSQL cannot parse as PostgreSQL does (42601, message, position), without running any of it', async () => {
    const statements = [
      'SELEC 1',
      'SELECT 1 FROM',
      "SELECT 'unterminated",
      "INSERT INTO marks VALUES (1); SELECT * FRO marks",
      "SELECT 'é', 'ü' FROM marks WHERE",
      'SELECT $$ never closed',
      "SELECT U&'\\zzzz'",
    ];
    type Result = { errors: { text: string; simple: DriverError; extended: DriverError }[]; raised: string; abortedTransaction: boolean };
    const viaGateway = await psycopg<Result>(throughGateway(), 'syntax-errors', ...statements);
    const straight = await psycopg<Result>(direct(), 'syntax-errors', ...statements);
    for (const [i, text] of statements.entries()) {
      const got = viaGateway.errors[i]!;
      const want = straight.errors[i]!;
      for (const protocol of ['simple', 'extended'] as const) {
        const { detail, ...shown } = got[protocol];
        const { detail: _directDetail, ...expected } = want[protocol];
        assert.deepEqual(shown, expected, `${protocol}: ${text}`);
        assert.equal(shown.sqlstate, '42601', `${protocol}: ${text}`);
        assert.match(detail ?? '', /Portcullis refused this statement unparsed.*\(PCL_ERR_PG_SYNTAX\)/, `${protocol}: ${text}`);
      }
    }
    assert.equal(viaGateway.raised, 'SyntaxError');
    assert.equal(viaGateway.abortedTransaction, true);
    const marks = await target.admin(`SELECT count(*)::int AS n FROM ${target.schema}.marks`);
    assert.equal(marks.rows[0].n, 0, 'nothing of a string with a syntax error ran');
  });

  it('psql shows the syntax error with its LINE and caret, and the refusal is on the record', async () => {
    const r = await psql('SELECT * FORM marks');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ERROR: {2}syntax error at or near "FORM"\nLINE 1: SELECT \* FORM marks\n {17}\^\nDETAIL: {2}Portcullis refused this statement unparsed/);
    const command = await eventually('the CommandRequested', () => commands.find((c) => c.type === 'CommandRequested' && c.command.kind === 'sql' && c.command.text === 'SELECT * FORM marks'));
    const verdict = await eventually('its verdict', () => verdicts.find((v): v is Extract<typeof v, { type: 'VerdictIssued' }> => v.type === 'VerdictIssued' && v.commandId === command.commandId));
    assert.equal(verdict.effect, 'block');
    assert.deepEqual(verdict.syntaxError, { message: 'syntax error at or near "FORM"', position: 10 });
    const completed = await eventually('its completion', () => sessionEvents.find((e) => e.type === 'CommandCompleted' && e.commandId === command.commandId));
    assert.equal(completed.type === 'CommandCompleted' && completed.status, 'refused');
  });

  it('records the access token\'s expiry on SessionOpened', async () => {
    const exp = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number }).exp;
    const opened = await eventually('SessionOpened', () => sessionEvents.find((e) => e.type === 'SessionOpened' && e.identity.subject === 'alice'));
    assert.equal(opened.type === 'SessionOpened' && opened.tokenExpiresAt, new Date(exp * 1000).toISOString());
  });

  it('gives the driver the target backend\'s real pid: pg_backend_pid(), our own notifications and pg_terminate_backend agree', async () => {
    type Pids = { reported: number; server: number; notifyPid: number; notifyPayload: string; terminated: boolean; afterTerminate: string | null };
    const r = await psycopg<Pids>(throughGateway(), 'backend-pid');
    assert.equal(r.reported, r.server);
    assert.equal(r.notifyPid, r.reported);
    assert.equal(r.notifyPayload, 'hello');
    assert.equal(r.terminated, true);
    assert.deepEqual(r, { ...(await psycopg<Pids>(direct(), 'backend-pid')), reported: r.reported, server: r.server, notifyPid: r.notifyPid }, 'the same as straight to PostgreSQL');
  });

  type Cancelled = { pid: number; cancelError: string | null; query: DriverError & { class: string } | null; seconds: number; after: number };

  it('cancels a running query with the classic CancelRequest (conn.cancel)', async () => {
    const r = await psycopg<Cancelled>(throughGateway(), 'cancel', 'plain');
    assert.equal(r.cancelError, null);
    assert.equal(r.query?.sqlstate, '57014');
    assert.equal(r.query?.class, 'QueryCanceled');
    assert.ok(r.seconds < 10, `cancelled after ${r.seconds} s`);
    assert.equal(r.after, 1);
  });

  it('cancels over TLS with libpq 17\'s cancel API (conn.cancel_safe), closing TLS cleanly: no SSL error', async () => {
    const r = await psycopg<Cancelled>(throughGateway(), 'cancel', 'safe');
    assert.equal(r.cancelError, null, `cancel_safe reported: ${r.cancelError}`);
    assert.equal(r.query?.sqlstate, '57014');
    assert.ok(r.seconds < 10, `cancelled after ${r.seconds} s`);
    assert.equal(r.after, 1);
  });

  it('a CancelRequest with the real pid but a wrong secret key cancels nothing', async () => {
    const sleeping = psql('SELECT pg_sleep(6)');
    const pid = await eventually('the sleeping backend', async () => {
      const r = await target.admin(`SELECT pid FROM pg_stat_activity WHERE usename = $1 AND query = 'SELECT pg_sleep(6)'`, [target.role]);
      return r.rows[0]?.pid as number | undefined;
    }, 5000);
    for (const secret of [0, 1, -1, 0x7fffffff]) await sendCancelRequest(gateway.port, pid, secret);
    const r = await sleeping;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '');
  });

  type ServerError = { error: (DriverError & { class: string; hint: string | null; context: string | null }) | null };

  it('scrubs card numbers from the target\'s errors for everyone, keeping SQLSTATE and message', async () => {
    const r = await psycopg<ServerError>(throughGateway(), 'server-error', "INSERT INTO contacts VALUES ('john@example.com', '4111 1111 1111 1111')");
    assert.equal(r.error?.sqlstate, '23505');
    assert.equal(r.error?.class, 'UniqueViolation');
    assert.equal(r.error?.message, 'duplicate key value violates unique constraint "contacts_card_key"');
    assert.equal(r.error?.detail, 'Key (card)=(************1111) already exists.');
    const straight = await psycopg<ServerError>(direct(), 'server-error', "INSERT INTO contacts VALUES ('john@example.com', '4111 1111 1111 1111')");
    assert.equal(straight.error?.detail, 'Key (card)=(4111 1111 1111 1111) already exists.', 'PostgreSQL itself quotes the card');
  });

  it('scrubs notices too: a card in RAISE NOTICE arrives masked', async () => {
    const r = await psycopg<{ notices: { message: string }[] }>(throughGateway(), 'notices', "DO $$ BEGIN RAISE NOTICE 'charged card %', '5500 0000 0000 0004'; END $$");
    assert.deepEqual(r.notices.map((n) => n.message), ['charged card ************0004']);
  });

  it('under a mask verdict the policy\'s detectors scrub the target\'s errors too, and the record holds the scrubbed text', async () => {
    const r = await psycopg<ServerError>(asAgent(), 'server-error', 'SELECT email::int FROM contacts');
    assert.equal(r.error?.sqlstate, '22P02');
    assert.equal(r.error?.message, 'invalid input syntax for type integer: "j***@example.com"');
    const command = await eventually('the CommandRequested', () => commands.find((c) => c.type === 'CommandRequested' && c.command.kind === 'sql' && c.command.text === 'SELECT email::int FROM contacts'));
    const completed = await eventually('its completion', () => sessionEvents.find((e) => e.type === 'CommandCompleted' && e.commandId === command.commandId));
    assert.equal(completed.type === 'CommandCompleted' && completed.status, 'failed');
    assert.equal(completed.type === 'CommandCompleted' && completed.error, 'invalid input syntax for type integer: "j***@example.com"');
    const dba = await psycopg<ServerError>(throughGateway(), 'server-error', 'SELECT email::int FROM contacts');
    assert.equal(dba.error?.message, 'invalid input syntax for type integer: "jane@example.com"', 'a DBA allowed to read the column sees it in errors too');
  });
});

/** A raw CancelRequest (docs "CancelRequest": length 16, code 80877102, pid, secret) on a new connection. */
function sendCancelRequest(port: number, processId: number, secretKey: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const packet = Buffer.alloc(16);
    packet.writeInt32BE(16, 0);
    packet.writeInt32BE(80877102, 4);
    packet.writeInt32BE(processId, 8);
    packet.writeInt32BE(secretKey, 12);
    const socket = connect({ host: '127.0.0.1', port }, () => socket.end(packet));
    socket.on('error', reject);
    socket.on('close', () => resolve());
    socket.resume();
  });
}
