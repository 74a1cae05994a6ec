/**
 * Given a policy that lets services change harmless settings and one group
 * change search_path by name, when statements change settings in every way
 * SQL allows (SET, SET LOCAL, RESET, SET … TO DEFAULT, set_config() anywhere
 * in an expression, PL/pgSQL, PREPARE/EXECUTE, ALTER ROLE/DATABASE/SYSTEM …
 * SET, UPDATE pg_settings), then harmless ones are `session-setting`, others
 * `session-change` admitted only by name, and the pinned parser settings are
 * refused whatever the policy says.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { givenPolicy, human, whenSql } from './given.ts';

const policy = givenPolicy(`
apiVersion: portcullis/v1
defaultEffect: block
rules:
  - id: services
    effect: allow
    reason: services read and set harmless settings
    match:
      identity: { kind: service }
      sql: { classes: [read, session-setting, transaction] }
  - id: tenant-search-path
    effect: allow
    reason: the reporting job picks its tenant schema
    match:
      identity: { kind: service, groups: [reporting] }
      sql: { classes: [read, session-change, session-setting], settings: [search_path, "app.*"] }
  - id: dba
    effect: allow
    reason: DBAs do anything
    match:
      identity: { kind: human, groups: [dba] }
`);

const reporting = { identity: { subject: 'reports', issuer: 'https://idp.test', kind: 'service' as const, groups: ['reporting'] } };
const dba = { identity: human };

type Case = [sql: string, classes: string[], settings: string[], effect: 'allow' | 'block'];
const cases: Case[] = [
  ["SET application_name = 'PostgreSQL JDBC Driver'", ['session-setting'], ['application_name'], 'allow'],
  ['SET extra_float_digits = 3', ['session-setting'], ['extra_float_digits'], 'allow'],
  ["SET TIME ZONE 'UTC'", ['session-setting'], ['timezone'], 'allow'],
  ["SET LOCAL statement_timeout = '30s'", ['session-setting'], ['statement_timeout'], 'allow'],
  ['SET statement_timeout = 0', ['session-change'], ['statement_timeout'], 'block'],
  ['SET statement_timeout TO DEFAULT', ['session-setting'], ['statement_timeout'], 'allow'],
  ['RESET DateStyle', ['session-setting'], ['datestyle'], 'allow'],
  ['SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE', ['session-setting'], ['default_transaction_isolation'], 'allow'],
  ['SET TRANSACTION READ WRITE', ['session-change'], ['transaction_read_only'], 'block'],
  ["SET NAMES 'LATIN1'", ['session-setting'], ['client_encoding'], 'allow'],
  ['SET search_path = evil, public', ['session-change'], ['search_path'], 'block'],
  ["SET SCHEMA 'evil'", ['session-change'], ['search_path'], 'block'],
  ['SET ROLE postgres', ['session-change'], ['role'], 'block'],
  ['RESET ROLE', ['session-change'], ['role'], 'block'],
  ['SET SESSION AUTHORIZATION DEFAULT', ['session-change'], ['session_authorization'], 'block'],
  ['RESET ALL', ['session-change'], ['*'], 'block'],
  ["SELECT set_config('search_path', 'evil', false)", ['read', 'session-change'], ['search_path'], 'block'],
  ["SELECT id FROM orders WHERE set_config('role', 'postgres', true) IS NOT NULL", ['read', 'session-change'], ['role'], 'block'],
  ["SELECT set_config('application_name', 'x', false)", ['read', 'session-setting'], ['application_name'], 'allow'],
  ["SELECT set_config('application_name', name, false) FROM orders", ['read', 'session-setting'], ['application_name'], 'allow'],
  ["SELECT set_config('statement_timeout', v, false) FROM orders", ['read', 'session-change'], ['statement_timeout'], 'block'],
  ["SELECT pg_catalog.set_config('work_mem', '4GB', false)", ['read', 'session-change'], ['work_mem'], 'block'],
  ['PREPARE p AS SELECT set_config(\'search_path\', \'evil\', false); EXECUTE p', ['prepare', 'read', 'session-change'], ['search_path'], 'block'],
];

describe('settings a statement changes', () => {
  for (const [text, classes, settings, effect] of cases) {
    it(`${text} → ${classes.join(', ')} (${effect})`, async () => {
      const { decision, analysis } = await whenSql(policy, text);
      assert.ok(analysis.ok && analysis.kind === 'sql');
      for (const c of classes) assert.ok(decision.classes.includes(c), `${c} in ${decision.classes.join(',')}`);
      const found = [...new Set(analysis.statements.flatMap((s) => s.settings ?? []))];
      assert.deepEqual(found.sort(), [...settings].sort());
      assert.equal(decision.effect === 'mask' ? 'allow' : decision.effect, effect, decision.reasons.join('; '));
    });
  }
});

describe('a rule admits a meaningful setting only by name', () => {
  it('the reporting job may set search_path and app.* but not role', async () => {
    assert.equal((await whenSql(policy, 'SET search_path = tenant_42, public', reporting)).decision.effect, 'allow');
    assert.equal((await whenSql(policy, "SELECT set_config('app.tenant', '42', false)", reporting)).decision.effect, 'allow');
    assert.equal((await whenSql(policy, 'SET ROLE postgres', reporting)).decision.effect, 'block');
    assert.equal((await whenSql(policy, 'RESET ALL', reporting)).decision.effect, 'block');
  });
  it('a settings condition never covers a statement that changes no setting', async () => {
    assert.equal((await whenSql(policy, 'DELETE FROM orders WHERE id = 1', reporting)).decision.effect, 'block');
  });
});

describe('a block rule can keep even a harmless setting as the role has it', () => {
  it('blocks SET statement_timeout by name', async () => {
    const strict = givenPolicy(`
apiVersion: portcullis/v1
defaultEffect: block
rules:
  - id: services
    effect: allow
    match: { identity: { kind: service }, sql: { classes: [read, session-setting] } }
  - id: keep-timeouts
    effect: block
    reason: the role's timeouts stay
    match: { sql: { settings: ["*_timeout"] } }
`);
    assert.equal((await whenSql(strict, "SET statement_timeout = '30min'")).decision.effect, 'block');
    assert.deepEqual((await whenSql(strict, "SET statement_timeout = '30min'")).decision.ruleIds, ['keep-timeouts']);
    assert.equal((await whenSql(strict, "SET application_name = 'x'")).decision.effect, 'allow');
  });
});

describe('pinned settings are refused whatever the policy says', () => {
  const pinned = [
    'SET standard_conforming_strings = off',
    'SET LOCAL standard_conforming_strings TO false',
    "SELECT set_config('standard_conforming_strings', 'off', false)",
    "SELECT 1 WHERE set_config('STANDARD_CONFORMING_STRINGS', 'of' || 'f', true) = ''",
    'SET backslash_quote = on',
    "SET client_encoding = 'SJIS'",
    "SET NAMES 'BIG5'",
    "SELECT set_config(name, 'off', false) FROM pg_settings",
    "UPDATE pg_settings SET setting = 'off' WHERE name = 'standard_conforming_strings'",
    "UPDATE pg_catalog.pg_settings SET setting = 'x'",
    'DO $$ BEGIN SET standard_conforming_strings = off; END $$',
    "DO $$ BEGIN PERFORM set_config('standard_conforming_strings', 'off', false); END $$",
    "DO $$ BEGIN EXECUTE 'SET standard_conforming_strings = off'; END $$",
    'ALTER ROLE current_user SET standard_conforming_strings = off',
    'ALTER DATABASE demo SET standard_conforming_strings = off',
    'ALTER SYSTEM SET standard_conforming_strings = off',
    'BEGIN; SET LOCAL standard_conforming_strings = off; COMMIT',
  ];
  for (const text of pinned) {
    it(text, async () => {
      const { decision } = await whenSql(policy, text, dba);
      assert.equal(decision.effect, 'block');
      assert.deepEqual(decision.ruleIds, []);
      assert.match(decision.reasons.join('; '), /pins|refused|could (be|include)/);
    });
  }
  it('setting a pinned setting to its pinned value, or back to it, is harmless', async () => {
    for (const text of ['SET standard_conforming_strings = on', 'RESET standard_conforming_strings', "SET backslash_quote = 'safe_encoding'", "SELECT set_config('standard_conforming_strings', 'on', false)"]) {
      const { decision } = await whenSql(policy, text);
      assert.notEqual(decision.effect, 'block', text);
    }
  });
});
