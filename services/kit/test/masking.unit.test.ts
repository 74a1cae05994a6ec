import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Detector } from '@portcullis/schemas';
import { findSensitive, maskText, maskValue } from '../src/masking/index.ts';

// PEM armour built at run time: no key-looking line sits in the repository (these are not keys anyway).
const pemBegin = (kind: string): string => `-----BEGIN ${kind} ${'PRIVATE'} KEY-----`;
const pemEnd = (kind: string): string => `-----END ${kind} ${'PRIVATE'} KEY-----`;

const ALL: Detector[] = ['email', 'card', 'iban', 'ssn', 'phone', 'secret'];

/** The substrings `detector` finds in `text` (all detectors enabled unless given). */
function found(text: string, detector: Detector, detectors: Detector[] = ALL): string[] {
  return findSensitive(text, detectors).filter((f) => f.detector === detector).map((f) => text.slice(f.start, f.end));
}

const b64url = (s: string): string => Buffer.from(s).toString('base64url');
const JWT = `${b64url('{"alg":"HS256","typ":"JWT"}')}.${b64url('{"sub":"1234567890","name":"Jo"}')}.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c`;
const GITHUB = `ghp_${'aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6'.slice(0, 36)}`;
const GOOGLE = `AIza${'SyA-1234567890abcdefghijklmnopqrstu'.slice(0, 35)}`;

describe('e-mail detector', () => {
  it('finds addresses and leaves the sentence punctuation out', () => {
    assert.deepEqual(found('write to john.doe+tag@mail.example.co.uk.', 'email'), ['john.doe+tag@mail.example.co.uk']);
    assert.deepEqual(found('<a@b.io>, (x_y@z-a.com)', 'email'), ['a@b.io', 'x_y@z-a.com']);
  });
  it('does not flag near misses', () => {
    for (const text of ['a@b.c', 'john@localhost', '@example.com', 'john.@example.com', 'user@-bad.com', 'user@example.c0m', 'foo @ bar.com']) {
      assert.deepEqual(found(text, 'email'), [], text);
    }
  });
});

describe('payment card detector', () => {
  it('finds Luhn-valid numbers of known issuers, contiguous or grouped', () => {
    assert.deepEqual(found('Visa 4111 1111 1111 1111.', 'card'), ['4111 1111 1111 1111']);
    assert.deepEqual(found('mc=5555-5555-5555-4444;', 'card'), ['5555-5555-5555-4444']);
    assert.deepEqual(found('amex 378282246310005 and 3782 822463 10005', 'card'), ['378282246310005', '3782 822463 10005']);
    assert.deepEqual(found('discover:6011111111111117', 'card'), ['6011111111111117']);
    assert.deepEqual(found('ref 12 4111 1111 1111 1111', 'card'), ['4111 1111 1111 1111']);
  });
  it('does not flag near misses', () => {
    for (const text of [
      '4111111111111112', // Luhn-invalid 16 digits
      '4111 1111 1111 1112',
      '1234567812345670', // Luhn-valid, no issuer starts with 1
      '0000000000000000',
      'order 41111111111111110000', // longer than 19 digits
      'pi 3.4111111111111111',
      'id A4111111111111111',
      '4111 1111-1111 1111', // mixed separators
      '+4111111111111111', // international phone shape
    ]) {
      assert.deepEqual(found(text, 'card'), [], text);
    }
  });
});

describe('IBAN detector', () => {
  it('finds print and electronic forms with valid check digits', () => {
    assert.deepEqual(found('IBAN: DE89 3704 0044 0532 0130 00, thanks', 'iban'), ['DE89 3704 0044 0532 0130 00']);
    assert.deepEqual(found('GB82WEST12345698765432', 'iban'), ['GB82WEST12345698765432']);
    assert.deepEqual(found('(NO9386011117947)', 'iban'), ['NO9386011117947']);
  });
  it('does not flag near misses', () => {
    for (const text of [
      'DE88 3704 0044 0532 0130 00', // wrong check digits
      'DE89370400440532013000X', // runs on
      'DE8937040044053201300', // one short
      'ZZ89370400440532013000', // no such country
      'xDE89370400440532013000',
      'de89370400440532013000',
    ]) {
      assert.deepEqual(found(text, 'iban'), [], text);
    }
  });
});

describe('SSN detector', () => {
  it('finds dashed numbers, and bare nine digits only when labelled', () => {
    assert.deepEqual(found('ssn 123-45-6789.', 'ssn'), ['123-45-6789']);
    assert.deepEqual(found('SSN: 123456789', 'ssn'), ['123456789']);
    assert.deepEqual(found('Social Security Number #123456789', 'ssn'), ['123456789']);
    assert.deepEqual(found('{"ssn":"078051120"}', 'ssn'), ['078051120']);
  });
  it('does not flag numbers never issued, dates or order numbers', () => {
    for (const text of [
      '000-12-3456', '666-12-3456', '912-34-5678', '123-00-4567', '123-45-0000',
      '2024-01-15', 'order 123456789', 'lessn 123456789', '1123-45-6789', '123-45-67890', '5-123-45-6789',
      'SSN: 000123456',
    ]) {
      assert.deepEqual(found(text, 'ssn'), [], text);
    }
  });
});

describe('phone detector', () => {
  it('finds E.164 and common national formats', () => {
    assert.deepEqual(found('call +1 (555) 123-4567 now', 'phone'), ['+1 (555) 123-4567']);
    assert.deepEqual(found('+4915112345678', 'phone'), ['+4915112345678']);
    assert.deepEqual(found('+44 20 7946 0958', 'phone'), ['+44 20 7946 0958']);
    assert.deepEqual(found('555-123-4567, 555.123.4567', 'phone'), ['555-123-4567', '555.123.4567']);
    assert.deepEqual(found('1 555 123 4567', 'phone'), ['1 555 123 4567']);
    assert.deepEqual(found('(030) 1234567', 'phone'), ['(030) 1234567']);
    assert.deepEqual(found('Tel. 030 12345678 / 06 12 34 56 78', 'phone'), ['030 12345678', '06 12 34 56 78']);
  });
  it('does not flag integers, dates, versions, addresses or card numbers', () => {
    for (const text of [
      '12345678', 'order 20240115001', '2024-01-15', '15.01.2024', '01-15-2024', '2024-01-15 12:30',
      '192.168.100.200', '10.0.19041.1234', '555-1234', '+1234567', '4111 1111 1111 1111',
      '00 49 1234 5678', 'v1.2.3', '555-123-4567-89', 'x555-123-4567',
    ]) {
      assert.deepEqual(found(text, 'phone', ['phone']), [], text);
    }
  });
});

describe('secret detector', () => {
  it('finds JWTs whose header is JSON with "alg"', () => {
    assert.deepEqual(found(`Authorization: Bearer ${JWT}`, 'secret'), [JWT]);
    const noAlg = `${b64url('{"typ":"JWT"}')}.${b64url('{"a":1}')}.sig`;
    const notJson = `eyJub3QganNvbg.${b64url('{"a":1}')}.sig`;
    assert.deepEqual(found(`${noAlg} ${notJson} eyJhbGciOiJIUzI1NiJ9`, 'secret'), []);
  });
  it('finds PEM private key blocks, to the end when truncated, and not certificates', () => {
    const key = `${pemBegin('RSA')}\nMIIEow\n${pemEnd('RSA')}`;
    assert.deepEqual(found(`x ${key} y`, 'secret'), [key]);
    assert.deepEqual(found(`${pemBegin('OPENSSH')}\nb3Blbn`, 'secret'), [`${pemBegin('OPENSSH')}\nb3Blbn`]);
    assert.deepEqual(found('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----', 'secret'), []);
  });
  it('finds vendor tokens by prefix and length', () => {
    const text = `AKIAIOSFODNN7EXAMPLE ASIAY34FZKBOKMUTVV7A ${GITHUB} github_pat_11ABCDEFG0123456789_abcdefghijklmnop xoxb-123456789012-abcdefghij ${GOOGLE}`;
    assert.deepEqual(findSensitive(text, ['secret']).map((f) => f.kind), [
      'aws-access-key', 'aws-access-key', 'github-token', 'github-token', 'slack-token', 'google-api-key',
    ]);
    for (const near of ['AKIAIOSFODNN7EXAMPL', 'AKIAIOSFODNN7EXAMPLEX', 'ghp_short', 'xoxb-short', 'AIzaShort', 'XAKIAIOSFODNN7EXAMPLE']) {
      assert.deepEqual(found(near, 'secret'), [], near);
    }
  });
  it('finds the values of credential assignments', () => {
    assert.deepEqual(found('password=hunter2 user=bob', 'secret'), ['hunter2']);
    assert.deepEqual(found('{"client_secret": "s3 cr3t", "id": 1}', 'secret'), ['s3 cr3t']);
    assert.deepEqual(found("DB_PASSWORD: 'x y'", 'secret'), ['x y']);
    assert.deepEqual(found('https://a.example/?api_key=abc123&page=2', 'secret'), ['abc123']);
    assert.deepEqual(found('postgres://bob:pw1@db.example.com/app', 'secret'), ['pw1']);
    assert.deepEqual(found('if password == other', 'secret'), []);
    assert.deepEqual(found('secretary: Bob, password policy', 'secret'), []);
  });
});

describe('overlaps', () => {
  it('lets a secret win over the e-mail or card inside it', () => {
    assert.equal(maskText('password=john@example.com', ALL), 'password=[REDACTED:credential]');
    assert.equal(maskText('postgres://bob:pw@db.example.com', ALL), 'postgres://bob:[REDACTED:credential]@db.example.com');
  });
  it('runs only the detectors asked for', () => {
    assert.equal(maskText('john@example.com 4111111111111111', ['card']), 'john@example.com ************1111');
    assert.equal(maskText('john@example.com', []), 'john@example.com');
  });
});

describe('maskText shapes', () => {
  it('masks each kind in its shape', () => {
    assert.equal(maskText('Mail john.doe@example.com.', ALL), 'Mail j***@example.com.');
    assert.equal(maskText('4111 1111 1111 1234 / 4111-1111-1111-1111', ALL).replace(/\d{4}$/u, ''), '4111 1111 1111 1234 / ************');
    assert.equal(maskText('card 4111111111111111', ALL), 'card ************1111');
    assert.equal(maskText('DE89 3704 0044 0532 0130 00', ALL), 'DE** **** **** **** **30 00');
    assert.equal(maskText('GB82WEST12345698765432', ALL), 'GB****************5432');
    assert.equal(maskText('123-45-6789', ALL), '***-**-6789');
    assert.equal(maskText('SSN: 123456789', ALL), 'SSN: *****6789');
    assert.equal(maskText('+1 (555) 123-4567', ALL), '+* (***) ***-**67');
    assert.equal(maskText(`token ${JWT}.`, ALL), 'token [REDACTED:jwt].');
    assert.equal(maskText('key AKIAIOSFODNN7EXAMPLE', ALL), 'key [REDACTED:aws-access-key]');
  });
});

describe('maskValue', () => {
  it('partial keeps the shape of what the value is', () => {
    assert.equal(maskValue('john@example.com', 'partial', []), 'j***@example.com');
    assert.equal(maskValue('4111 1111 1111 1234', 'partial', []).length > 0, true);
    assert.equal(maskValue('4111111111111111', 'partial', []), '************1111');
    assert.equal(maskValue(' 123-45-6789 ', 'partial', []), '***-**-6789');
    assert.equal(maskValue('Alice Smith', 'partial', []), 'A**********');
    assert.equal(maskValue('x', 'partial', []), '*');
    assert.equal(maskValue('', 'partial', []), '');
    assert.equal(maskValue('😀ab', 'partial', []), '😀**');
    assert.equal(maskValue('mail john@example.com', 'partial', []), 'm********************');
  });
  it('redact is fixed, null is null', () => {
    assert.equal(maskValue('anything at all', 'redact', []), '****');
    assert.equal(maskValue('', 'redact', []), '****');
    assert.equal(maskValue('john@example.com', 'null', []), null);
  });
  it('hash correlates equal values within the process and reveals nothing else', () => {
    const a = maskValue('john@example.com', 'hash', []);
    assert.match(a, /^sha256:[0-9a-f]{16}$/u);
    assert.equal(maskValue('john@example.com', 'hash', []), a);
    assert.notEqual(maskValue('jane@example.com', 'hash', []), a);
    // Keyed: not the plain SHA-256 prefix an attacker could compute offline.
    assert.notEqual(a.slice(7), createHash('sha256').update('john@example.com').digest('hex').slice(0, 16));
  });
});

describe('linear time on 1 MB adversarial inputs', () => {
  const MB = 1 << 20;
  const fill = (unit: string): string => unit.repeat(Math.ceil(MB / unit.length)).slice(0, MB);
  const inputs: Record<string, string> = {
    'one digit run': fill('1'),
    'digit groups': fill('4111 '),
    'dashed groups': fill('123-45-'),
    'at signs': fill('a.b@'),
    'local part then no domain': `${fill('a')}@`,
    'domain labels': `a@${fill('b.')}`,
    'jwt prefixes': fill('eyJ'),
    'jwt-like parts': fill('eyJhbGciOiJIUzI1NiJ9.'),
    'pem begins': fill(pemBegin('RSA')),
    'pem begins without label end': fill('-----BEGIN '),
    'credential keys': fill('password='),
    'unterminated quotes': fill("secret:'"),
    'url schemes': fill('://a:'),
    'iban starts': fill('DE89 3704 '),
    'phone starts': fill('+1 ('),
    'parens': fill('(555) '),
    'base64url': fill('A'),
  };
  // Linear, not fast: the time on 1 MB is compared with the time on 1/16 of it, in the same run, so a
  // loaded machine slows both. A scan that backtracks or rescans grows with the square (×256 here);
  // a linear one grows ×16 (a little more once the text outgrows the caches). The best of five runs
  // of each size keeps scheduling noise out.
  const best = (run: () => void): number => Math.min(...[0, 1, 2, 3, 4].map(() => {
    const started = performance.now();
    run();
    return performance.now() - started;
  }));
  const growth = (scan: (text: string) => void, text: string): number => {
    const small = text.slice(0, text.length / 16);
    return best(() => scan(text)) / Math.max(best(() => scan(small)), 0.5);
  };
  for (const [name, text] of Object.entries(inputs)) {
    it(`${name}: every detector's time grows linearly with the input`, () => {
      for (const detector of ALL) {
        const ratio = growth((t) => findSensitive(t, [detector]), text);
        assert.ok(ratio < 80, `${detector} on ${name}: 16× the input took ${ratio.toFixed(1)}× the time`);
      }
    });
  }
  it('masks a 1 MB mixed text with every detector, in time linear in its size', () => {
    const text = fill(`id 42, john@example.com, 4111 1111 1111 1111, +1 (555) 123-4567, password=x, 2024-01-15 ${JWT}\n`);
    const ratio = growth((t) => maskText(t, ALL), text);
    assert.ok(ratio < 80, `16× the input took ${ratio.toFixed(1)}× the time`);
    const masked = maskText(text, ALL);
    assert.ok(!masked.includes('john@example.com') && !masked.includes(JWT));
  });
});
