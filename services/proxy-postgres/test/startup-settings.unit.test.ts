/**
 * Given what a caller sends at startup (parameters and `options`), when the
 * handshake judges it, then only harmless settings reach the target, the
 * Portcullis reason is taken out, and anything else ends the startup with a
 * FATAL that names the parameter. The target's StartupMessage always ends
 * with the pinned settings.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { callerSettings } from '../src/handshake.ts';
import { PgClientError } from '../src/errors.ts';
import { parseBackendOptions, splitBackendOptions } from '../src/startup-options.ts';
import { targetStartupParameters } from '../src/target-connector.ts';
import type { PostgresResource } from '../src/config.ts';

const refusal = (parameters: Record<string, string>): PgClientError => {
  try {
    callerSettings(parameters);
  } catch (err) {
    assert.ok(err instanceof PgClientError, String(err));
    assert.equal(err.severity, 'FATAL');
    return err;
  }
  assert.fail(`accepted ${JSON.stringify(parameters)}`);
};

describe('options are split as pg_split_opts() splits them', () => {
  it('backslash escapes the next character; only ASCII white space separates', () => {
    assert.deepEqual(splitBackendOptions('-c portcullis.reason=INC-42\\ disk\\ full  -c\tx=y'), ['-c', 'portcullis.reason=INC-42 disk full', '-c', 'x=y']);
    assert.deepEqual(splitBackendOptions('-c a=b\u00a0-c'), ['-c', 'a=b\u00a0-c'], 'a no-break space is not ASCII white space (and is refused below)');
    assert.deepEqual(splitBackendOptions('a\\\\ b'), ['a\\', 'b']);
  });
  it('reads -c name=value, -cname=value and --name=value, dashes in names as underscores', () => {
    assert.deepEqual(parseBackendOptions('-c portcullis.reason=INC-42\\ disk\\ full -c search_path=public --statement-timeout=5s -cDateStyle=ISO'), {
      reason: 'INC-42 disk full',
      settings: [
        { name: 'search_path', value: 'public' },
        { name: 'statement_timeout', value: '5s' },
        { name: 'DateStyle', value: 'ISO' },
      ],
    });
    assert.deepEqual(parseBackendOptions(undefined), { reason: undefined, settings: [] });
  });
  it('refuses every other switch and settings without a value', () => {
    for (const options of ['-c application_name=x\u00a0-c\u00a0standard_conforming_strings=off', '-c application_name=caf\u00e9', '-c a=b\u0085', '-P', '-e', '-ec x=y', '-fs', '-c', '-c name', '--', '--name', 'stray', '-B 100', '-D /tmp']) {
      assert.throws(() => parseBackendOptions(options), /not allowed/, options);
    }
  });
});

describe('startup parameters pass only when harmless', () => {
  it('passes what drivers send by default (psql, pgjdbc, psycopg, node-postgres)', () => {
    const { reason, targetParameters } = callerSettings({
      user: 'llm-agent',
      database: 'demo',
      application_name: 'PostgreSQL JDBC Driver',
      client_encoding: 'UTF8',
      DateStyle: 'ISO',
      TimeZone: 'Europe/Berlin',
      extra_float_digits: '2',
      options: '-c portcullis.reason=INC-1 -c statement_timeout=30s',
      '_pq_.extension': 'x',
    });
    assert.equal(reason, 'INC-1');
    assert.deepEqual(targetParameters, {
      application_name: 'PostgreSQL JDBC Driver',
      client_encoding: 'UTF8',
      datestyle: 'ISO',
      timezone: 'Europe/Berlin',
      extra_float_digits: '2',
      statement_timeout: '30s',
    });
  });
  it('passes the ASCII-safe client encodings under any spelling PostgreSQL accepts', () => {
    for (const encoding of ['LATIN1', 'latin1', 'ISO-8859-1', 'WIN1252', 'windows-1251', 'KOI8R', 'EUC_JP', 'euc-kr', 'SQL_ASCII', 'unicode']) {
      assert.equal(callerSettings({ client_encoding: encoding }).targetParameters.client_encoding, encoding);
    }
  });

  const refused: Array<[string, Record<string, string>, RegExp]> = [
    ['standard_conforming_strings off', { standard_conforming_strings: 'off' }, /"standard_conforming_strings".*pins standard_conforming_strings=on/],
    ['the smuggle through options', { options: '-c standard_conforming_strings=off' }, /"options" \(-c standard_conforming_strings\)/],
    ['the smuggle with a long option', { options: '--standard-conforming-strings=off' }, /standard_conforming_strings/],
    ['mixed case name', { Standard_Conforming_Strings: 'no' }, /pins standard_conforming_strings/],
    ['backslash_quote', { backslash_quote: 'on' }, /backslash_quote/],
    ['search_path', { options: '-c search_path=evil,public' }, /search_path/],
    ['search_path as a parameter', { search_path: 'evil' }, /"search_path"/],
    ['work_mem', { options: '-c work_mem=4GB' }, /work_mem/],
    ['statement_timeout switched off', { options: '-c statement_timeout=0' }, /switches the limit off/],
    ['lock_timeout switched off', { lock_timeout: '0' }, /lock_timeout/],
    ['role', { role: 'postgres' }, /"role"/],
    ['session_authorization', { options: '-c session_authorization=postgres' }, /session_authorization/],
    ['read-only default off', { default_transaction_read_only: 'off' }, /default_transaction_read_only/],
    ['an extension setting', { 'pgaudit.log': 'none' }, /pgaudit\.log/],
    ['a superuser setting', { options: '-c session_replication_role=replica' }, /session_replication_role/],
    ['another backend switch', { options: '-P' }, /"options".*"-P"/],
  ];
  for (const [name, parameters, message] of refused) {
    it(`refuses ${name} with a FATAL naming it`, () => {
      const error = refusal(parameters);
      assert.match(error.message, message);
      assert.match(error.message, /^Portcullis does not accept the startup parameter/);
    });
  }
  it('refuses the client-only encodings whose characters can hide \\ and \'', () => {
    for (const encoding of ['SJIS', 'Shift_JIS', 'BIG5', 'GBK', 'GB18030', 'UHC', 'JOHAB', 'win932', 'SHIFT_JIS_2004']) {
      const error = refusal({ client_encoding: encoding });
      assert.match(error.message, /client_encoding/);
      assert.match(error.message, /refused/);
      assert.equal(error.options.code, 'PCL_ERR_PG_CLIENT_ENCODING');
    }
    assert.match(refusal({ options: '-c client_encoding=SJIS' }).message, /SJIS/);
    assert.match(refusal({ client_encoding: 'klingon' }).message, /not a PostgreSQL encoding/);
    assert.match(refusal({ client_encoding: 'EUC_TW' }).message, /not supported by Portcullis/);
  });
});

describe('the target StartupMessage', () => {
  const resource = { target: { user: 'gw', database: 'demo' } } as unknown as PostgresResource;
  it('ends with the gateway identity and the pinned settings, which no caller parameter can repeat', () => {
    const params = targetStartupParameters(resource, { application_name: 'x', client_encoding: 'LATIN1', standard_conforming_strings: 'off', user: 'evil' });
    assert.deepEqual(params, [
      ['application_name', 'x'],
      ['client_encoding', 'LATIN1'],
      ['user', 'gw'],
      ['database', 'demo'],
      ['standard_conforming_strings', 'on'],
      ['backslash_quote', 'safe_encoding'],
    ]);
  });
});
