import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Detector } from '@portcullis/schemas';
import { maskCopyTextLine, maskFieldValue, maskFreeText, type ColumnMask } from '../src/masking/index.ts';
import { ALWAYS_SCRUBBED, sameMessage, scrubTargetMessage } from '../src/result-masking.ts';

const ALL: Detector[] = ['email', 'card', 'iban', 'ssn', 'phone', 'secret'];
const PARTIAL: ColumnMask = { strategy: 'partial' };
const REDACT: ColumnMask = { strategy: 'redact' };
const HASH: ColumnMask = { strategy: 'hash' };
const NULL: ColumnMask = { strategy: 'null' };
const DETECT: ColumnMask = { strategy: 'detect' };

const OID = {
  bool: 16, bytea: 17, name: 19, int8: 20, int4: 23, text: 25, json: 114, record: 2249, float8: 701,
  bpchar: 1042, varchar: 1043, date: 1082, timestamptz: 1184, numeric: 1700, uuid: 2950, jsonb: 3802,
  textArray: 1009, varcharArray: 1015, int4Array: 1007, int8Array: 1016, citext: 16385,
} as const;

const b = (s: string): Buffer => Buffer.from(s, 'utf8');
const text = (v: Buffer | null): string | null => (v === null ? null : v.toString('utf8'));

function int32(n: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeInt32BE(n);
  return out;
}
/** array_send of a one-dimensional array. */
function binaryArray(elementOid: number, elements: (Buffer | null)[]): Buffer {
  const parts = [int32(1), int32(elements.includes(null) ? 1 : 0), int32(elementOid), int32(elements.length), int32(1)];
  for (const e of elements) parts.push(...(e === null ? [int32(-1)] : [int32(e.length), e]));
  return Buffer.concat(parts);
}
/** numeric_send of a non-negative integer. */
function binaryNumeric(digits: string): Buffer {
  const groups: number[] = [];
  for (let end = digits.length; end > 0; end -= 4) groups.unshift(Number(digits.slice(Math.max(0, end - 4), end)));
  const head = Buffer.alloc(8);
  head.writeInt16BE(groups.length, 0);
  head.writeInt16BE(groups.length - 1, 2);
  return Buffer.concat([head, ...groups.map((g) => { const d = Buffer.alloc(2); d.writeInt16BE(g); return d; })]);
}

describe('text-like columns', () => {
  it('partial keeps a recognisable shape', () => {
    assert.deepEqual(maskFieldValue(b('john@example.com'), OID.text, 0, PARTIAL, []), b('j***@example.com'));
    assert.deepEqual(maskFieldValue(b('4111 1111 1111 1111'), OID.varchar, 0, PARTIAL, []), b('************1111'));
    assert.deepEqual(maskFieldValue(b('4111 1111 1111 1234'), OID.varchar, 0, PARTIAL, []), b('4******************')); // Luhn-invalid: not a card
    assert.deepEqual(maskFieldValue(b('4111111111111111'), OID.varchar, 0, PARTIAL, []), b('************1111'));
    assert.deepEqual(maskFieldValue(b('Alice'), OID.name, 0, PARTIAL, []), b('A****'));
    assert.deepEqual(maskFieldValue(b('Émile'), OID.text, 0, PARTIAL, []), b('É****'));
  });
  it('redact, hash and null', () => {
    assert.deepEqual(maskFieldValue(b('Alice'), OID.text, 0, REDACT, ALL), b('****'));
    const hashed = text(maskFieldValue(b('Alice'), OID.text, 0, HASH, ALL));
    assert.match(hashed!, /^sha256:[0-9a-f]{16}$/u);
    assert.equal(text(maskFieldValue(b('Alice'), OID.varchar, 0, HASH, ALL)), hashed);
    assert.equal(maskFieldValue(b('Alice'), OID.text, 0, NULL, ALL), null);
    assert.equal(maskFieldValue(null, OID.text, 0, PARTIAL, ALL), null);
  });
  it('binary text values are the same UTF-8 bytes, masked the same way', () => {
    assert.deepEqual(maskFieldValue(b('john@example.com'), OID.text, 1, PARTIAL, []), b('j***@example.com'));
    assert.deepEqual(maskFieldValue(b('mail john@example.com'), OID.varchar, 1, DETECT, ['email']), b('mail j***@example.com'));
  });
  it('detect masks only the findings and returns clean values untouched', () => {
    assert.deepEqual(maskFieldValue(b('call +1 (555) 123-4567 or mail a.b@example.org'), OID.text, 0, DETECT, ALL), b('call +* (***) ***-**67 or mail a***@example.org'));
    const clean = b('nothing to see, order 12345678');
    assert.equal(maskFieldValue(clean, OID.text, 0, DETECT, ALL), clean);
    assert.deepEqual(maskFieldValue(b('john@example.com'), OID.text, 0, DETECT, []), b('john@example.com'));
  });
});

describe('char(n) keeps its length', () => {
  it('pads a shorter mask and cuts a longer one', () => {
    assert.deepEqual(maskFieldValue(b('john@example.com    '), OID.bpchar, 0, PARTIAL, []), b('j***@example.com    '));
    assert.deepEqual(maskFieldValue(b('ab'), OID.bpchar, 0, REDACT, []), b('**'));
    assert.deepEqual(maskFieldValue(b('Alice     '), OID.bpchar, 0, PARTIAL, []), b('A****     '));
    assert.deepEqual(maskFieldValue(b('4111 1111 1111 1111 '), OID.bpchar, 1, DETECT, ALL), b('************1111    '));
    const hashed = maskFieldValue(b('x         '), OID.bpchar, 0, HASH, [])!;
    assert.equal(hashed.length, 10);
    assert.deepEqual(maskFieldValue(b('r'), 18 /* "char" */, 1, REDACT, []), b('*'));
  });
});

describe('json and jsonb', () => {
  const doc = '{"email": "john@example.com", "age": 42, "tags": ["vip", null, true], "note": "caf\\u00e9"}';
  it('detect masks string leaves and keeps the rest byte for byte', () => {
    const masked = text(maskFieldValue(b(doc), OID.json, 0, DETECT, ALL))!;
    assert.equal(masked, '{"email": "j***@example.com", "age": 42, "tags": ["vip", null, true], "note": "caf\\u00e9"}');
    JSON.parse(masked);
  });
  it('detect turns a card number leaf into a masked string', () => {
    assert.equal(text(maskFieldValue(b('{"pan": 4111111111111111, "n": 1.50}'), OID.jsonb, 0, DETECT, ALL)), '{"pan": "************1111", "n": 1.50}');
  });
  it('protected: every string leaf masked, numbers zeroed, member names scanned only', () => {
    const masked = text(maskFieldValue(b(doc), OID.jsonb, 0, PARTIAL, []))!;
    assert.equal(masked, '{"email": "j***@example.com", "age": 0, "tags": ["v**", null, true], "note": "c***"}');
    assert.deepEqual(JSON.parse(masked).tags, ['v**', null, true]);
    assert.equal(text(maskFieldValue(b('{"a b": "x\\"y"}'), OID.json, 0, REDACT, [])), '{"a b": "****"}');
    assert.equal(text(maskFieldValue(b('{"john@example.com": 1}'), OID.json, 0, REDACT, ['email'])), '{"j***@example.com": 0}');
    assert.equal(text(maskFieldValue(b('"just a string"'), OID.json, 0, REDACT, [])), '"****"');
  });
  it('binary jsonb keeps the version byte 1; another version becomes NULL', () => {
    const v1 = Buffer.concat([Buffer.from([1]), b('{"e": "john@example.com"}')]);
    assert.deepEqual(maskFieldValue(v1, OID.jsonb, 1, DETECT, ['email']), Buffer.concat([Buffer.from([1]), b('{"e": "j***@example.com"}')]));
    assert.deepEqual(maskFieldValue(v1, OID.jsonb, 1, REDACT, []), Buffer.concat([Buffer.from([1]), b('{"e": "****"}')]));
    assert.equal(maskFieldValue(Buffer.concat([Buffer.from([2]), b('{}')]), OID.jsonb, 1, DETECT, ALL), null);
  });
  it('text that is not JSON becomes NULL', () => {
    assert.equal(maskFieldValue(b('{"a": tru}'), OID.json, 0, REDACT, []), null);
  });
});

describe('types that cannot hold a mask', () => {
  it('become NULL when the column is protected, in either format', () => {
    for (const [oid, value] of [
      [OID.int4, '42'], [OID.int8, '4111111111111111'], [OID.numeric, '12.50'], [OID.date, '2024-01-15'],
      [OID.timestamptz, '2024-01-15 10:00:00+00'], [OID.uuid, '0190f0b4-0000-7000-8000-000000000000'],
      [OID.bytea, '\\x6a6f686e'], [OID.bool, 't'], [OID.int4Array, '{1,2}'], [OID.record, '(1,x)'],
    ] as const) {
      for (const mask of [PARTIAL, REDACT, HASH]) {
        assert.equal(maskFieldValue(b(value), oid, 0, mask, ALL), null, `${oid} ${value} ${mask.strategy}`);
        assert.equal(maskFieldValue(Buffer.alloc(4), oid, 1, mask, ALL), null, `${oid} binary ${mask.strategy}`);
      }
    }
  });
  it('under detect, values that cannot contain a finding are untouched', () => {
    for (const [oid, value] of [[OID.int4, '123456789'], [OID.date, '2024-01-15'], [OID.bool, 'f'], [OID.uuid, '0190f0b4-0000-7000-8000-000000000000']] as const) {
      const v = b(value);
      assert.equal(maskFieldValue(v, oid, 0, DETECT, ALL), v);
    }
    const binaryInt = int32(42);
    assert.equal(maskFieldValue(binaryInt, OID.int4, 1, DETECT, ALL), binaryInt);
  });
  it('under detect, int8 / numeric / float8 holding a card number become NULL', () => {
    assert.equal(maskFieldValue(b('4111111111111111'), OID.int8, 0, DETECT, ALL), null);
    assert.equal(maskFieldValue(b('4111111111111111.00'), OID.numeric, 0, DETECT, ALL), null);
    assert.equal(maskFieldValue(b('4.111111111111111e+15'), OID.float8, 0, DETECT, ALL), null);
    const n = Buffer.alloc(8);
    n.writeBigInt64BE(4111111111111111n);
    assert.equal(maskFieldValue(n, OID.int8, 1, DETECT, ALL), null);
    assert.equal(maskFieldValue(binaryNumeric('4111111111111111'), OID.numeric, 1, DETECT, ALL), null);
    const f = Buffer.alloc(8);
    f.writeDoubleBE(4111111111111111);
    assert.equal(maskFieldValue(f, OID.float8, 1, DETECT, ALL), null);
  });
  it('under detect, other numbers stay, and card numbers stay when card is not a detector', () => {
    for (const v of [b('4111111111111112'), b('12.50'), b('-7'), b('4111111111111111.5')]) {
      assert.equal(maskFieldValue(v, OID.numeric, 0, DETECT, ALL), v);
    }
    const pan = b('4111111111111111');
    assert.equal(maskFieldValue(pan, OID.int8, 0, DETECT, ['email', 'phone', 'ssn']), pan);
    const bn = binaryNumeric('4111111111111112');
    assert.equal(maskFieldValue(bn, OID.numeric, 1, DETECT, ALL), bn);
  });
  it('under detect, bytea and unknown binary values with findings become NULL', () => {
    assert.equal(maskFieldValue(b(`\\x${Buffer.from('mail john@example.com').toString('hex')}`), OID.bytea, 0, DETECT, ALL), null);
    const cleanBytea = b('\\x00ff10');
    assert.equal(maskFieldValue(cleanBytea, OID.bytea, 0, DETECT, ALL), cleanBytea);
    assert.equal(maskFieldValue(b('john\\100example.com'), OID.bytea, 0, DETECT, ALL), null); // escape format, \100 = @
    assert.equal(maskFieldValue(Buffer.concat([int32(1), b('john@example.com')]), OID.record, 1, DETECT, ALL), null);
    const cleanRecord = Buffer.concat([int32(1), int32(23), int32(4), int32(7)]);
    assert.equal(maskFieldValue(cleanRecord, OID.record, 1, DETECT, ALL), cleanRecord);
  });
});

describe('unknown types (citext, enums, domains)', () => {
  it('are text in text format', () => {
    assert.deepEqual(maskFieldValue(b('john@example.com'), OID.citext, 0, PARTIAL, []), b('j***@example.com'));
    assert.deepEqual(maskFieldValue(b('x john@example.com'), OID.citext, 0, DETECT, ['email']), b('x j***@example.com'));
  });
  it('become NULL in binary when protected', () => {
    assert.equal(maskFieldValue(b('john@example.com'), OID.citext, 1, PARTIAL, []), null);
  });
});

describe('arrays', () => {
  it('text[] in text format: each element masked, syntax kept valid', () => {
    assert.deepEqual(
      maskFieldValue(b('{john@example.com,NULL,"a b","say \\"hi\\"",plain}'), OID.textArray, 0, DETECT, ALL),
      b('{j***@example.com,NULL,"a b","say \\"hi\\"",plain}'),
    );
    assert.deepEqual(maskFieldValue(b('{alice,NULL,"x,y"}'), OID.varcharArray, 0, PARTIAL, []), b('{a****,NULL,x**}'));
    assert.deepEqual(maskFieldValue(b('{{a,b},{c,d}}'), OID.textArray, 0, REDACT, []), b('{{****,****},{****,****}}'));
    assert.deepEqual(maskFieldValue(b('{"NULL"}'), OID.textArray, 0, PARTIAL, []), b('{N***}'));
    assert.deepEqual(maskFieldValue(b('[0:1]={a,bb}'), OID.textArray, 0, PARTIAL, []), b('[0:1]={*,b*}'));
    assert.deepEqual(maskFieldValue(b('{"",x}'), OID.textArray, 0, PARTIAL, []), b('{"",*}'));
    assert.deepEqual(maskFieldValue(b('{"a\\\\b c"}'), OID.textArray, 0, PARTIAL, []), b('{a****}'));
  });
  it('an element whose mask needs quoting is quoted', () => {
    assert.deepEqual(maskFieldValue(b('{"password=x y"}'), OID.textArray, 0, DETECT, ALL), b('{"password=[REDACTED:credential] y"}'));
    assert.deepEqual(maskFieldValue(b('{x}'), OID.textArray, 0, { strategy: 'partial' }, []), b('{*}'));
  });
  it('text[] in binary: NULL when protected, elements rewritten under detect', () => {
    const arr = binaryArray(OID.text, [b('john@example.com'), null, b('ok')]);
    assert.equal(maskFieldValue(arr, OID.textArray, 1, PARTIAL, []), null);
    assert.deepEqual(maskFieldValue(arr, OID.textArray, 1, DETECT, ['email']), binaryArray(OID.text, [b('j***@example.com'), null, b('ok')]));
  });
  it('int8[] holding a card number becomes NULL under detect', () => {
    assert.equal(maskFieldValue(b('{1,4111111111111111}'), OID.int8Array, 0, DETECT, ALL), null);
    const ok = b('{1,2}');
    assert.equal(maskFieldValue(ok, OID.int8Array, 0, DETECT, ALL), ok);
    const n = Buffer.alloc(8);
    n.writeBigInt64BE(4111111111111111n);
    assert.equal(maskFieldValue(binaryArray(OID.int8, [n]), OID.int8Array, 1, DETECT, ALL), null);
  });
});

describe('maskFreeText', () => {
  it('masks notice and error text with the detectors', () => {
    assert.equal(
      maskFreeText('Key (email)=(john@example.com) already exists.', ALL),
      'Key (email)=(j***@example.com) already exists.',
    );
    assert.equal(maskFreeText('duplicate key', ALL), 'duplicate key');
  });
});

describe('COPY text lines', () => {
  const types = [OID.int4, OID.text, OID.text, OID.text];
  it('leaves a clean line byte for byte, escapes included', () => {
    const line = b('1\tplain\\ttext\t\\N\tback\\\\slash \\101\n');
    assert.deepEqual(maskCopyTextLine(line, [undefined, undefined, undefined, undefined], types, ALL), line);
  });
  it('masks protected columns and findings, re-escaping what it writes', () => {
    const line = b('7\tjohn@example.com\t\\N\tline one\\nmail x@example.org\\tcard 4111111111111111\n');
    assert.deepEqual(
      maskCopyTextLine(line, [undefined, PARTIAL, PARTIAL, undefined], types, ALL),
      b('7\tj***@example.com\t\\N\tline one\\nmail x***@example.org\\tcard ************1111\n'),
    );
  });
  it('decodes octal and hex escapes before detecting', () => {
    const line = b('1\tjohn\\100example.com\tjane\\x40example.org\n'); // \100 and \x40 are '@'
    assert.deepEqual(maskCopyTextLine(line, [], [OID.int4, OID.text, OID.text], ['email']), b('1\tj***@example.com\tj***@example.org\n'));
  });
  it('writes \\N for values that become NULL and keeps the line ending', () => {
    assert.deepEqual(maskCopyTextLine(b('42\talice\r\n'), [NULL, REDACT], [OID.int4, OID.text], []), b('\\N\t****\r\n'));
    assert.deepEqual(maskCopyTextLine(b('4111111111111111\tx'), [undefined, undefined], [OID.int8, OID.text], ALL), b('\\N\tx'));
  });
  it('a backslash in a mask is escaped', () => {
    assert.deepEqual(maskCopyTextLine(b('a\\\\b\n'), [PARTIAL], [OID.text], []), b('a**\n'));
    assert.deepEqual(maskCopyTextLine(b('ab\n'), [HASH], [OID.int4], []), b('\\N\n'));
  });
  it('columns without a type are scanned as text; the end marker passes', () => {
    assert.deepEqual(maskCopyTextLine(b('1\t2\tjohn@example.com\n'), [], [OID.int4], ['email']), b('1\t2\tj***@example.com\n'));
    const end = b('\\.\n');
    assert.equal(maskCopyTextLine(end, [], [], ALL), end);
  });
});

describe('scrubTargetMessage: target errors and notices as the caller sees them', () => {
  const lib = { maskFreeText, maskFieldValue, maskCopyTextLine };
  const uniqueViolation = {
    S: 'ERROR', V: 'ERROR', C: '23505', M: 'duplicate key value violates unique constraint "customers_card_key"',
    D: 'Key (email, card)=(jane@example.com, 4111 1111 1111 1111) already exists.', s: 'public', t: 'customers', n: 'customers_card_key',
  };

  it('given the detectors every session has, when a unique violation quotes a card, then the card is masked and the rest kept', () => {
    const out = scrubTargetMessage(uniqueViolation, ALWAYS_SCRUBBED, lib);
    assert.equal(out.D, 'Key (email, card)=(jane@example.com, ************1111) already exists.');
    assert.deepEqual({ ...out, D: undefined }, { ...uniqueViolation, D: undefined });
  });

  it('given a mask verdict\'s detectors, when the same error arrives, then the email is masked too', () => {
    const out = scrubTargetMessage(uniqueViolation, [...ALWAYS_SCRUBBED, 'email'], lib);
    assert.equal(out.D, 'Key (email, card)=(j***@example.com, ************1111) already exists.');
    assert.equal(out.C, '23505');
  });

  it('given a credential in a message, hint or context, then it never passes', () => {
    const fields = { S: 'ERROR', C: '08001', M: 'could not establish connection', D: 'connection string postgresql://app:s3cr3t-Passw0rd@127.0.0.1/db failed', H: 'check password=hunter2hunter2', W: 'SQL statement "SELECT dblink_connect(\'password=hunter2hunter2\')"' };
    const out = scrubTargetMessage(fields, ALWAYS_SCRUBBED, lib);
    for (const value of [out.D, out.H, out.W]) assert.ok(!/s3cr3t-Passw0rd|hunter2hunter2/.test(value ?? ''), value);
    assert.equal(out.M, 'could not establish connection');
  });

  it('given no masking library, then the texts are withheld and the SQLSTATE and position stay', () => {
    const out = scrubTargetMessage({ ...uniqueViolation, P: '12' }, ALWAYS_SCRUBBED, undefined);
    assert.equal(out.M, '(message withheld: Portcullis could not scrub it; SQLSTATE 23505)');
    assert.equal(out.D, '');
    assert.equal(out.P, '12');
    assert.equal(out.C, '23505');
  });

  it('a clean message is the same message (forwarded byte for byte)', () => {
    const clean = { S: 'ERROR', C: '42P01', M: 'relation "nope" does not exist', P: '15' };
    assert.ok(sameMessage(clean, scrubTargetMessage(clean, [...ALWAYS_SCRUBBED, 'email', 'phone'], lib)));
    assert.ok(!sameMessage(uniqueViolation, scrubTargetMessage(uniqueViolation, ALWAYS_SCRUBBED, lib)));
  });
});
