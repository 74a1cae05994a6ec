import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Detector } from '@portcullis/schemas';
import { ALL_DETECTORS, DETECTOR_SCANS, findSensitive } from '../src/masking/find-sensitive.ts';
import { scanEmails } from '../src/masking/email.ts';
import type { Finding, Scanner } from '../src/masking/finding.ts';
import { scanIbans } from '../src/masking/iban.ts';
import { maskText } from '../src/masking/mask-text.ts';
import { scanPaymentCards } from '../src/masking/payment-card.ts';
import { scanPhones } from '../src/masking/phone.ts';
import { scanSecrets } from '../src/masking/secrets.ts';
import { maskFinding } from '../src/masking/shapes.ts';
import { scanSsns } from '../src/masking/ssn.ts';
import { profileText } from '../src/masking/text-profile.ts';
import { int, seededRandom, sensitiveFragment, sensitiveText, type Random } from './support/sensitive-text.ts';

const SEED = Number(process.env.MASKING_PROPERTY_SEED ?? 20261203);
const CASES = 3000;

const SCANNERS: Record<Detector, Scanner> = {
  secret: scanSecrets, iban: scanIbans, card: scanPaymentCards, ssn: scanSsns, email: scanEmails, phone: scanPhones,
};

const scan = (detector: Detector, text: string): Finding[] => {
  const out: Finding[] = [];
  SCANNERS[detector](text, out);
  return out;
};

/** findSensitive as it was written before the pre-checks: every scanner, a mark per taken character, a sort. */
function referenceFindSensitive(text: string, detectors: readonly Detector[]): Finding[] {
  const taken = new Array<boolean>(text.length).fill(false);
  const chosen: Finding[] = [];
  for (const detector of ALL_DETECTORS.filter((d) => detectors.includes(d))) {
    for (const f of scan(detector, text)) {
      if (taken.slice(f.start, f.end).some(Boolean)) continue;
      taken.fill(true, f.start, f.end);
      chosen.push(f);
    }
  }
  return chosen.sort((a, b) => a.start - b.start);
}

function referenceMaskText(text: string, detectors: readonly Detector[]): string {
  let out = '';
  let at = 0;
  for (const f of referenceFindSensitive(text, detectors)) {
    out += text.slice(at, f.start) + maskFinding(text.slice(f.start, f.end), f);
    at = f.end;
  }
  return out + text.slice(at);
}

/** The texts of the property tests: generated ones, and each shrunk character by character towards nothing. */
function* texts(rnd: Random): Generator<string> {
  for (let i = 0; i < CASES; i++) {
    let text = sensitiveText(rnd);
    yield text;
    // Deleting characters one at a time walks a finding down to the edge of what a pre-check lets through.
    if (i % 10 === 0) {
      while (text.length > 0) {
        const at = int(rnd, 0, text.length - 1);
        text = text.slice(0, at) + text.slice(at + 1);
        yield text;
      }
    }
  }
}

const subsetOf = (rnd: Random): Detector[] => ALL_DETECTORS.filter(() => rnd() < 0.5);

describe('detector pre-checks (seed ' + SEED + ')', () => {
  it('given generated texts, when a pre-check says its scanner cannot match, then the scanner finds nothing', () => {
    const rejected = new Map<Detector, number>();
    const found = new Map<Detector, number>();
    for (const text of texts(seededRandom(SEED))) {
      for (const { detector, possible } of DETECTOR_SCANS) {
        const findings = scan(detector, text);
        if (findings.length > 0) found.set(detector, (found.get(detector) ?? 0) + 1);
        if (possible(profileText(text))) continue;
        rejected.set(detector, (rejected.get(detector) ?? 0) + 1);
        assert.deepEqual(findings, [], `${detector}'s pre-check rejected ${JSON.stringify(text)}, which it finds something in`);
      }
    }
    // Not vacuous: every scanner found something and every pre-check rejected something.
    for (const detector of ALL_DETECTORS) {
      assert.ok((found.get(detector) ?? 0) > 20, `${detector} found too little in the generated texts`);
      assert.ok((rejected.get(detector) ?? 0) > 100, `${detector}'s pre-check rejected too little`);
    }
  });

  it('given a text that is exactly one finding, or it less one character, then the pre-check never hides what the scanner still finds', () => {
    const rnd = seededRandom(SEED + 1);
    for (let i = 0; i < 2000; i++) {
      const fragment = sensitiveFragment(rnd);
      for (let at = -1; at < fragment.length; at++) {
        const text = at === -1 ? fragment : fragment.slice(0, at) + fragment.slice(at + 1);
        for (const { detector, possible } of DETECTOR_SCANS) {
          if (!possible(profileText(text))) assert.deepEqual(scan(detector, text), [], `${detector} on ${JSON.stringify(text)}`);
        }
      }
    }
  });

  it('given generated texts, then the profile counts what it says it counts', () => {
    const count = (text: string, ok: (c: string) => boolean): number => [...text].filter(ok).length;
    for (const text of texts(seededRandom(SEED + 2))) {
      const p = profileText(text);
      const runs = text.split(/[^A-Za-z0-9_-]/u).map((r) => r.length);
      assert.deepEqual({ ...p }, {
        digits: count(text, (c) => c >= '0' && c <= '9'),
        upper: count(text, (c) => c >= 'A' && c <= 'Z'),
        at: count(text, (c) => c === '@'),
        dots: count(text, (c) => c === '.'),
        dashes: count(text, (c) => c === '-'),
        colonsOrEquals: count(text, (c) => c === ':' || c === '='),
        phoneMarks: count(text, (c) => '+( /'.includes(c)),
        letterS: count(text, (c) => c === 's' || c === 'S'),
        longestBase64UrlRun: Math.max(0, ...runs),
        length: text.length,
      }, JSON.stringify(text));
    }
  });
});

describe('findSensitive against the plain reference (seed ' + SEED + ')', () => {
  it('given generated texts and any set of detectors, then it finds exactly what every scanner run without pre-checks finds', () => {
    const rnd = seededRandom(SEED + 3);
    for (const text of texts(seededRandom(SEED + 4))) {
      const detectors = rnd() < 0.3 ? [...ALL_DETECTORS] : subsetOf(rnd);
      assert.deepEqual([...findSensitive(text, detectors)], referenceFindSensitive(text, detectors), `${detectors.join(',')} on ${JSON.stringify(text)}`);
      assert.equal(maskText(text, detectors), referenceMaskText(text, detectors));
    }
  });

  it('given generated texts, then every scanner reports its findings in order and without overlaps (the contract the merge relies on)', () => {
    for (const text of texts(seededRandom(SEED + 5))) {
      for (const detector of ALL_DETECTORS) {
        let end = 0;
        for (const f of scan(detector, text)) {
          assert.ok(f.start >= end && f.end > f.start && f.end <= text.length, `${detector} on ${JSON.stringify(text)}`);
          end = f.end;
        }
      }
    }
  });

  it('given nothing to find, then findSensitive returns the same empty list every time (no allocation)', () => {
    const a = findSensitive('nothing to see here', [...ALL_DETECTORS]);
    assert.equal(a.length, 0);
    assert.equal(findSensitive('still nothing', ['email']), a);
    assert.ok(Object.isFrozen(a));
  });
});
