/**
 * Given a caller's client encoding, when the proxy decodes SQL text and
 * masks values in it, then text reads as PostgreSQL reads it (invalid bytes
 * are an error, not a replacement character) and masked values go back in
 * the caller's encoding; numbers in binary format are never converted.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { codecFor, InvalidClientText, UTF8_CODEC } from '../src/client-encoding.ts';
import * as masking from '../src/masking/index.ts';
import { maskCopyLine, maskRowValues, type ResultPlan } from '../src/result-masking.ts';
import { TargetSettings } from '../src/target-settings.ts';
import { PgClientError } from '../src/errors.ts';

describe('codecs', () => {
  it('LATIN1 is one byte per character', () => {
    const latin1 = codecFor('LATIN1');
    assert.equal(latin1.decode(Buffer.from([0x52, 0x65, 0x6e, 0xe9, 0x65])), 'Renée');
    assert.deepEqual(latin1.encode('Müller'), Buffer.from('Müller', 'latin1'));
    assert.throws(() => latin1.encode('€'), InvalidClientText);
  });
  it('single-byte code pages and KOI8 round-trip, unmapped bytes are refused', () => {
    const win1251 = codecFor('WIN1251');
    const bytes = win1251.encode('Привет; SELECT 1');
    assert.equal(win1251.decode(bytes), 'Привет; SELECT 1');
    assert.equal(codecFor('koi8-r').decode(codecFor('KOI8R').encode('Ёлка')), 'Ёлка');
    assert.throws(() => codecFor('ISO_8859_6').decode(Buffer.from([0xa1])), InvalidClientText);
  });
  it('EUC encodings round-trip; bytes outside the encoding (GBK-only, half characters) are refused', () => {
    const eucJp = codecFor('EUC_JP');
    assert.equal(eucJp.decode(eucJp.encode('日本語テキスト')), '日本語テキスト');
    assert.throws(() => eucJp.decode(Buffer.from([0xa4])), InvalidClientText);
    const eucCn = codecFor('EUC_CN');
    assert.equal(eucCn.decode(eucCn.encode('中文')), '中文');
    assert.throws(() => eucCn.decode(Buffer.from([0x81, 0x40])), InvalidClientText, 'a GBK-only character is not EUC_CN');
  });
  it('SQL_ASCII speaks the server encoding; client-only encodings have no codec', () => {
    assert.equal(codecFor('SQL_ASCII', 'UTF8'), UTF8_CODEC);
    assert.equal(codecFor('SQL_ASCII', 'LATIN1').name, 'LATIN1');
    assert.throws(() => codecFor('SJIS'), /refused/);
  });
});

describe('masking under a non-UTF-8 client encoding', () => {
  const latin1 = codecFor('LATIN1');
  const plan = (typeOids: number[], format: 0 | 1 = 0): ResultPlan => ({
    columns: typeOids.map((typeOid, i) => ({ name: `c${i}`, tableOid: 0, columnNumber: 0, typeOid, format })),
    masks: typeOids.map(() => ({ strategy: 'partial' as const })),
    detectors: ['email'],
    active: true,
    lib: masking,
  });
  it('a text value is masked as the same text in UTF-8 would be, and returned in LATIN1', () => {
    for (const value of ['Renée Müller', 'jürgen.mueller@example.com', 'Straße 5, 4111 1111 1111 1111']) {
      const [masked] = maskRowValues([Buffer.from(value, 'latin1')], plan([25]), latin1);
      const [inUtf8] = maskRowValues([Buffer.from(value, 'utf8')], plan([25]), UTF8_CODEC);
      assert.equal(masked!.toString('latin1'), inUtf8!.toString('utf8'), value);
      assert.notEqual(masked!.toString('latin1'), value);
    }
  });
  it('a binary int8 value is not converted (its bytes are not text)', () => {
    const value = Buffer.from([0, 0, 0, 0, 0, 0, 0xe9, 0xff]);
    const [masked] = maskRowValues([value], plan([20], 1), latin1);
    assert.equal(masked, null, 'a protected number becomes NULL, as in UTF-8');
  });
  it('a COPY line is masked field by field and stays LATIN1', () => {
    const out = maskCopyLine(Buffer.from('Renée\tj.mueller@example.com\n', 'latin1'), { ...plan([25, 25]), masks: [undefined, { strategy: 'partial' }] } as ResultPlan, latin1);
    assert.equal(out.toString('latin1'), 'Renée\tj***@example.com\n');
  });
});

describe('the target session as it reports itself', () => {
  it('follows client_encoding and ends the session when a pinned setting moves', () => {
    const settings = new TargetSettings([['server_encoding', 'UTF8'], ['client_encoding', 'UTF8'], ['standard_conforming_strings', 'on']]);
    assert.equal(settings.codec.name, 'UTF8');
    settings.follow('client_encoding', 'LATIN1');
    assert.equal(settings.codec.name, 'LATIN1');
    assert.throws(() => settings.follow('client_encoding', 'SJIS'), (e: unknown) => e instanceof PgClientError && e.severity === 'FATAL' && /SJIS/.test(e.message));
    assert.throws(() => settings.follow('standard_conforming_strings', 'off'), (e: unknown) => e instanceof PgClientError && /standard_conforming_strings=off/.test(e.message));
    settings.follow('standard_conforming_strings', 'on');
  });
});
