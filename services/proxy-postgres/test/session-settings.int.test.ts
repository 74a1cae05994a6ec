/**
 * The gateway owns the session's settings, through real psql and the real
 * PDP with the example policy: the standard_conforming_strings smuggle of
 * issue 11 is refused at startup (PGOPTIONS and the raw startup parameter)
 * and its DDL never runs; statements cannot change a pinned setting; the
 * caller's client encoding is honoured (LATIN1 shows correct text, masking
 * still works) and the client-only encodings are refused.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { issueHumanToken, issueServiceToken } from '@portcullis/infra';
import { serialize } from 'pg-protocol';
import { decodeNoticeFields } from '../src/wire/backend-messages.ts';
import { MessageFramer } from '../src/wire/framing.ts';
import { encodeStartupMessage } from '../src/wire/startup-message.ts';
import { ISSUER, startRealGateway, type RealGateway } from './support/real-gateway.ts';

/** The smuggle of issue 11 §1: one SELECT of two literals with standard_conforming_strings on; three statements with it off. */
const SMUGGLE = "SELECT 'a\\' AS x, ' ; CREATE TABLE smuggled(i int); SELECT reverse(card_number) FROM customers; -- '";

describe('session settings through the gateway (psql, PDP, example policy)', () => {
  let g: RealGateway;
  let agent: string;
  let dba: string;

  before(async () => {
    g = await startRealGateway('settings');
    agent = await issueServiceToken(ISSUER, 'llm-agent');
    dba = await issueHumanToken(ISSUER, 'alice');
  });
  after(async () => {
    await g?.close();
  });

  function psql(token: string, sql: string | Buffer, env: Record<string, string> = {}, user = 'llm-agent'): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
    return new Promise((resolve, reject) => {
      const args = ['-X', '-At', '-h', '127.0.0.1', '-p', String(g.port), '-U', user, '-d', g.resourceName];
      const child = spawn('psql', typeof sql === 'string' ? [...args, '-c', sql] : [...args, '-f', '-'], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PGPASSWORD: token, PGSSLMODE: 'require', PGCONNECT_TIMEOUT: '10', ...env },
      });
      const stdout: Buffer[] = [];
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => stdout.push(d));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString('latin1')));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout: Buffer.concat(stdout), stderr }));
      child.stdin.end(typeof sql === 'string' ? '' : sql);
    });
  }

  const smuggledTableExists = async (): Promise<boolean> =>
    (await g.target.admin(`SELECT to_regclass('${g.target.schema}.smuggled') IS NOT NULL AS present`)).rows[0].present as boolean;

  /**
   * A session over a raw socket (psql cannot send arbitrary startup parameters, nor pipeline
   * simple queries): TLS, our own StartupMessage, the token; then `queries` written at once.
   * Returns the session's outcome: its first error, or READY when it reached ReadyForQuery
   * (and, with queries, everything the target answered until the connection closed or went idle).
   */
  async function rawSession(parameters: Array<[string, string]>, token: string, user = 'llm-agent', queries: string[] = []): Promise<{ first: string; errors: string[]; rows: number }> {
    const plain = netConnect({ host: '127.0.0.1', port: g.port });
    await new Promise<void>((resolve, reject) => plain.once('connect', resolve).once('error', reject));
    plain.write(serialize.requestSsl());
    await new Promise<void>((resolve) => plain.once('data', () => resolve()));
    const socket = tlsConnect({ socket: plain, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    const framer = new MessageFramer({ typed: true, maxMessageBytes: 1 << 20 });
    socket.write(encodeStartupMessage([['user', user], ['database', g.resourceName], ...parameters]));
    return new Promise((resolve, reject) => {
      const outcome = { first: '', errors: [] as string[], rows: 0 };
      let readyCount = 0;
      const done = (): void => {
        socket.destroy();
        resolve(outcome);
      };
      socket.on('error', reject);
      socket.on('close', () => resolve(outcome));
      socket.on('data', (chunk: Buffer) => {
        framer.push(chunk);
        for (let f = framer.next(); f; f = framer.next()) {
          if (f.type === 0x52 /* R */ && f.payload.readInt32BE(0) === 3) socket.write(serialize.password(token));
          else if (f.type === 0x44 /* D */) outcome.rows++;
          else if (f.type === 0x45 /* E */) {
            const fields = decodeNoticeFields(f.payload);
            outcome.errors.push(`${fields.S}: ${fields.M}`);
            outcome.first ||= `${fields.S}: ${fields.M}`;
            if (readyCount === 0) return done();
          } else if (f.type === 0x5a /* Z */) {
            readyCount++;
            if (readyCount === 1) {
              outcome.first ||= 'READY';
              if (queries.length === 0) return done();
              socket.write(Buffer.concat(queries.map((q) => serialize.query(q))));
            } else if (readyCount === queries.length + 1) return done();
          }
        }
      });
    });
  }

  const rawStartup = async (parameters: Array<[string, string]>, token: string): Promise<string> => (await rawSession(parameters, token)).first;

  it('with standard_conforming_strings as PostgreSQL reads it, the smuggle is one SELECT of two literals and nothing else runs', async () => {
    const r = await psql(agent, SMUGGLE);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), "a\\| ; CREATE TABLE smuggled(i int); SELECT reverse(card_number) FROM customers; -- \n");
    assert.equal(await smuggledTableExists(), false);
  });

  it('refuses PGOPTIONS="-c standard_conforming_strings=off" with a FATAL naming it, and the DDL does not run', async () => {
    const r = await psql(agent, SMUGGLE, { PGOPTIONS: '-c standard_conforming_strings=off' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /FATAL: {2}Portcullis does not accept the startup parameter "options" \(-c standard_conforming_strings\): Portcullis pins standard_conforming_strings=on/);
    assert.equal(r.stdout.length, 0);
    assert.equal(await smuggledTableExists(), false);
  });

  it('refuses the startup parameter standard_conforming_strings=off itself', async () => {
    const answer = await rawStartup([['standard_conforming_strings', 'off']], agent);
    assert.match(answer, /^FATAL: Portcullis does not accept the startup parameter "standard_conforming_strings"/);
    assert.match(await rawStartup([['search_path', 'pg_temp,public']], agent), /^FATAL: .*"search_path"/);
    assert.equal(await rawStartup([['application_name', 'raw-client'], ['DateStyle', 'ISO, MDY']], agent), 'READY');
  });

  /** Start-up evasions: each runs the smuggle; each must end with FATAL before anything is judged or run. Add new cases here. */
  const STARTUP_EVASIONS: string[] = [
    '-cstandard_conforming_strings=off',
    '--standard-conforming-strings=off',
    '--standard_conforming_strings=false',
    '-c STANDARD_CONFORMING_STRINGS=0',
    '-c standard_conforming_strings=of',
    '-c application_name=x -c standard_conforming_strings=no',
    '-c application_name=x\\ -c -c standard_conforming_strings=off',
    '-c escape_string_warning=off -c backslash_quote=on',
    '-c client_encoding=SJIS',
    '-c client_encoding=mskanji',
    '-c search_path=evil,public',
    '-c work_mem=4GB',
    '-c statement_timeout=0',
    '-c lock_timeout=0',
    '-c idle_in_transaction_session_timeout=0',
    '--session-authorization=postgres',
    '-c role=postgres',
    '-c default_transaction_read_only=off',
    '-c session_replication_role=replica',
    '-P',
    '-e',
  ];
  for (const option of STARTUP_EVASIONS) {
    it(`refuses PGOPTIONS="${option}" and the smuggle does not run`, async () => {
      const r = await psql(agent, SMUGGLE, { PGOPTIONS: option });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /FATAL: {2}Portcullis does not accept (the startup parameter "options"|client_encoding)/);
      assert.equal(r.stdout.length, 0);
      assert.equal(await smuggledTableExists(), false);
    });
  }

  it('passes harmless settings and the Portcullis reason through PGOPTIONS', async () => {
    const r = await psql(agent, "SELECT current_setting('statement_timeout')", { PGOPTIONS: '-c portcullis.reason=INC-7\\ check -c statement_timeout=42s -c DateStyle=German' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), '42s\n');
  });

  it('the target session has the pinned settings, and RESET / RESET ALL return to them', async () => {
    const r = await psql(dba, 'SHOW standard_conforming_strings; RESET ALL; SHOW standard_conforming_strings; SHOW backslash_quote', {}, 'alice');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), 'on\nRESET\non\nsafe_encoding\n');
  });

  it('refuses SET and set_config() of a pinned setting even for a DBA whom every rule allows', async () => {
    for (const sql of ['SET standard_conforming_strings = off', "SELECT set_config('standard_conforming_strings', 'off', false)", 'SET LOCAL backslash_quote = on', "UPDATE pg_settings SET setting = 'off' WHERE name = 'standard_conforming_strings'", "SET client_encoding = 'SJIS'"]) {
      const r = await psql(dba, `${sql}; SHOW standard_conforming_strings`, {}, 'alice');
      assert.equal(r.code, 1, `${sql}: ${r.stderr}`);
      assert.match(r.stderr, /ERROR: {2}Portcullis blocked this statement: .*(pins|refused|could include)/, sql);
    }
  });

  it('a routine that turns standard_conforming_strings off ends the session before a pipelined smuggle runs', async () => {
    const t = g.target.schema;
    await g.target.admin(`CREATE FUNCTION ${t}.flip() RETURNS int LANGUAGE plpgsql AS $$ BEGIN PERFORM set_config('standard_conforming_strings', 'off', false); RETURN 1; END $$`);
    await g.target.admin(`ALTER FUNCTION ${t}.flip() OWNER TO ${g.target.role}`);
    // alice (dba) may call routines; both queries leave in one write, the second judged only after the first is answered.
    const outcome = await rawSession([], dba, 'alice', ['SELECT flip()', SMUGGLE]);
    assert.ok(outcome.errors.some((e) => /^FATAL: Portcullis ended this session: the target reports standard_conforming_strings=off/.test(e)), JSON.stringify(outcome));
    assert.equal(await smuggledTableExists(), false);
  });

  it('lets the agent run pgjdbc\'s SET application_name, but not SET search_path', async () => {
    const ok = await psql(agent, "SET application_name = 'PostgreSQL JDBC Driver'");
    assert.equal(ok.code, 0, ok.stderr);
    const refused = await psql(agent, 'SET search_path = public');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /Portcullis blocked this statement: rule automation-no-destructive/);
  });

  it('PGCLIENTENCODING=LATIN1: psql gets LATIN1 bytes, a LATIN1 literal matches, and masking still works', async () => {
    const sql = Buffer.from("SELECT name, email, card_number FROM customers WHERE name = 'Renée Müller';\n", 'latin1');
    const r = await psql(agent, sql, { PGCLIENTENCODING: 'LATIN1' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString('latin1'), 'Renée Müller|r***@example.com|****\n');
    assert.ok(!r.stdout.includes(Buffer.from('Müller', 'utf8')), 'UTF-8 bytes reached a LATIN1 client');
    // The gateway's own refusal quotes the statement in the caller's encoding too.
    const refused = await psql(agent, Buffer.from('SHOW "Müller";\n', 'latin1'), { PGCLIENTENCODING: 'LATIN1' });
    assert.equal(refused.code, 0);
    assert.match(refused.stderr, /ERROR: {2}Portcullis blocked this statement: .*SHOW "Müller"/);
  });

  it('PGCLIENTENCODING=SJIS is refused at startup with a clear FATAL', async () => {
    const r = await psql(agent, 'SELECT 1', { PGCLIENTENCODING: 'SJIS' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /FATAL: {2}Portcullis does not accept client_encoding SJIS: client encoding SJIS is refused/);
  });
});
