/**
 * Given the one list of PostgreSQL session settings, when a change of a
 * setting is judged (from a startup parameter, `-c` or SQL), then harmless
 * ones are harmless, the ones that change what later statements mean or may
 * do are meaningful, and the parser's settings are pinned.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeClientEncoding, judgeSettingChange, judgeStartupSetting, parsePostgresBool, parseTimeSettingMs, postgresEncoding } from '../src/index.ts';

const set = (value: string) => ({ kind: 'set' as const, value });

describe('judgeSettingChange', () => {
  const cases: Array<[string, ReturnType<typeof set> | { kind: 'reset' } | { kind: 'set-unknown' }, 'harmless' | 'meaningful' | 'pinned']> = [
    ['application_name', set('PostgreSQL JDBC Driver'), 'harmless'],
    ['DateStyle', set('ISO, MDY'), 'harmless'],
    ['TimeZone', set('Europe/Berlin'), 'harmless'],
    ['extra_float_digits', set('3'), 'harmless'],
    ['IntervalStyle', set('iso_8601'), 'harmless'],
    ['client_min_messages', set('warning'), 'harmless'],
    ['statement_timeout', set('30s'), 'harmless'],
    ['statement_timeout', set('1500'), 'harmless'],
    ['statement_timeout', set('0'), 'meaningful'],
    ['statement_timeout', set('2d'), 'meaningful'],
    ['statement_timeout', set('soon'), 'meaningful'],
    ['statement_timeout', { kind: 'set-unknown' }, 'meaningful'],
    ['statement_timeout', { kind: 'reset' }, 'harmless'],
    ['lock_timeout', set('5s'), 'harmless'],
    ['idle_in_transaction_session_timeout', set('10min'), 'harmless'],
    ['transaction_read_only', set('on'), 'harmless'],
    ['default_transaction_read_only', set('off'), 'meaningful'],
    ['transaction_isolation', set('serializable'), 'harmless'],
    ['search_path', set('public'), 'meaningful'],
    ['search_path', { kind: 'reset' }, 'meaningful'],
    ['role', set('postgres'), 'meaningful'],
    ['session_authorization', set('postgres'), 'meaningful'],
    ['work_mem', set('4GB'), 'meaningful'],
    ['session_replication_role', set('replica'), 'meaningful'],
    ['row_security', set('off'), 'meaningful'],
    ['pgaudit.log', set('none'), 'meaningful'],
    ['standard_conforming_strings', set('off'), 'pinned'],
    ['standard_conforming_strings', set('of'), 'pinned'],
    ['Standard_Conforming_Strings', set('false'), 'pinned'],
    ['standard_conforming_strings', set('on'), 'harmless'],
    ['standard_conforming_strings', set('TRUE'), 'harmless'],
    ['standard_conforming_strings', { kind: 'reset' }, 'harmless'],
    ['standard_conforming_strings', { kind: 'set-unknown' }, 'pinned'],
    ['backslash_quote', set('on'), 'pinned'],
    ['backslash_quote', set('safe_encoding'), 'harmless'],
    ['client_encoding', set('LATIN1'), 'harmless'],
    ['client_encoding', set('win1252'), 'harmless'],
    ['client_encoding', set('SJIS'), 'pinned'],
    ['client_encoding', set('GB18030'), 'pinned'],
    ['client_encoding', { kind: 'set-unknown' }, 'pinned'],
    ['client_encoding', { kind: 'reset' }, 'harmless'],
  ];
  for (const [name, change, effect] of cases) {
    it(`${name} ${change.kind === 'set' ? `= ${change.value}` : change.kind} is ${effect}`, () => {
      assert.equal(judgeSettingChange(name, change).effect, effect);
    });
  }
  it('a name computed at run time is pinned (it could be any setting)', () => {
    assert.deepEqual(judgeSettingChange(undefined, set('x')).effect, 'pinned');
  });
});

describe('startup settings use the same list', () => {
  it('passes what is harmless and names what is not', () => {
    assert.deepEqual(judgeStartupSetting('DateStyle', 'ISO'), { ok: true, name: 'datestyle', value: 'ISO' });
    const refused = judgeStartupSetting('search_path', 'evil');
    assert.equal(refused.ok, false);
    assert.equal(refused.name, 'search_path');
    assert.equal(judgeStartupSetting('user', 'x').ok, false);
  });
});

describe('values as PostgreSQL reads them', () => {
  it('parse_bool accepts unique prefixes', () => {
    assert.equal(parsePostgresBool('ON'), true);
    assert.equal(parsePostgresBool('t'), true);
    assert.equal(parsePostgresBool('of'), false);
    assert.equal(parsePostgresBool('o'), undefined);
    assert.equal(parsePostgresBool('maybe'), undefined);
  });
  it('time settings have units, milliseconds by default', () => {
    assert.equal(parseTimeSettingMs('1500'), 1500);
    assert.equal(parseTimeSettingMs('2 min'), 120_000);
    assert.equal(parseTimeSettingMs('0.5s'), 500);
    assert.equal(parseTimeSettingMs('5 fortnights'), undefined);
  });
});

describe('client encodings', () => {
  it('knows PostgreSQL spellings and aliases', () => {
    assert.equal(postgresEncoding('iso-8859-1')?.name, 'LATIN1');
    assert.equal(postgresEncoding('Windows-1251')?.name, 'WIN1251');
    assert.equal(postgresEncoding('unicode')?.name, 'UTF8');
    assert.equal(postgresEncoding('mskanji')?.name, 'SJIS');
    assert.equal(postgresEncoding('klingon'), undefined);
  });
  it('supports the ASCII-safe ones it can decode, refuses the client-only ones', () => {
    for (const e of ['UTF8', 'LATIN1', 'LATIN9', 'WIN1250', 'KOI8U', 'EUC_JP', 'EUC_KR', 'EUC_CN', 'ISO_8859_5', 'WIN866', 'SQL_ASCII']) assert.ok(judgeClientEncoding(e).ok, e);
    for (const e of ['SJIS', 'BIG5', 'GBK', 'GB18030', 'UHC', 'JOHAB', 'SHIFT_JIS_2004', 'EUC_TW', 'MULE_INTERNAL', 'LATIN10']) assert.equal(judgeClientEncoding(e).ok, false, e);
  });
});
