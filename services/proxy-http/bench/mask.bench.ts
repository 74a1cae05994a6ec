/**
 * bench:mask — CPU cost of response masking, no network: MB/s of
 *   - maskJsonText on bench:http's customers document (1,000 records, ≈ 200 KB) with
 *     bench:http's mask (two fields, detectors email/card/phone),
 *   - LineMasker on a Kubernetes watch stream of pod events, every detector on,
 *   - kit's maskText on 1 MB of text with every detector, findings sprinkled through it,
 * each next to JSON.parse + JSON.stringify of the same input in the same run (the anchor:
 * the least any masking that parses the document must cost).
 *   npm run bench:mask [-- <seconds per measurement, default 2>]
 * Profile with: node --cpu-prof --import tsx services/proxy-http/bench/mask.bench.ts
 * Figures are the median per call, the best in parentheses. Last line:
 * `bench:mask maskJsonText: N MB/s (N× JSON.parse+stringify)`, medians, the second N being
 * how many times the anchor's time maskJsonText takes.
 */
import { loadavg } from 'node:os';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ALL_DETECTORS, maskText } from '@portcullis/kit';
import type { Detector } from '@portcullis/schemas';
import type { JsonMaskPlan } from '../src/json-masking.ts';
import { LineMasker, maskJsonText } from '../src/response-masking.ts';
import { CUSTOMERS_MASK, customersDocument, podEvent } from './documents.ts';

const seconds = Number(process.argv.find((a) => /^\d+(\.\d+)?$/.test(a)) ?? 2);

/** Median and best milliseconds per call of `run`, over calls filling `seconds` after a warm-up (best: the least disturbed by other jobs on a shared machine). */
async function timePerCall(run: () => unknown): Promise<{ median: number; best: number }> {
  const warmUntil = performance.now() + 300;
  while (performance.now() < warmUntil) await run();
  const samples: number[] = [];
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until || samples.length < 5) {
    const t0 = performance.now();
    await run();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return { median: samples[samples.length >> 1]!, best: samples[0]! };
}

interface Row { name: string; bytes: number; ms: number; anchorMs: number; bestMs: number; anchorBestMs: number }
const rows: Row[] = [];

async function measure(name: string, bytes: number, run: () => unknown, anchor: () => unknown): Promise<Row> {
  const anchorTime = await timePerCall(anchor);
  const time = await timePerCall(run);
  const row = { name, bytes, ms: time.median, anchorMs: anchorTime.median, bestMs: time.best, anchorBestMs: anchorTime.best };
  rows.push(row);
  return row;
}

const mbps = (bytes: number, ms: number): number => bytes / 1e6 / (ms / 1000);

// 1. maskJsonText on the customers document
const customers = customersDocument();
const customersPlan: JsonMaskPlan = { fields: [...CUSTOMERS_MASK.fields], detectors: [...CUSTOMERS_MASK.detectors], secrets: false, secretResource: false };
const json = await measure(`maskJsonText, customers document (${(Buffer.byteLength(customers) / 1000).toFixed(0)} KB)`, Buffer.byteLength(customers),
  () => maskJsonText(customers, customersPlan), () => JSON.stringify(JSON.parse(customers)));

// 2. LineMasker on a watch stream
const watchLines = Array.from({ length: 20_000 }, (_, i) => podEvent(i));
const watchChunks: Buffer[] = [];
for (let i = 0; i < watchLines.length; i += 100) watchChunks.push(Buffer.from(watchLines.slice(i, i + 100).join(''))); // 100 events per write, like bench:http's upstream
const watchBytes = watchChunks.reduce((n, c) => n + c.length, 0);
const watchPlan: JsonMaskPlan = { fields: [], detectors: [...ALL_DETECTORS], secrets: true, secretResource: false };
await measure(`LineMasker, watch stream of ${watchLines.length.toLocaleString('en')} pod events, all detectors`, watchBytes,
  () => pipeline(Readable.from(watchChunks), new LineMasker(watchPlan, 1 << 20), new Writable({ write: (_c, _e, done) => done() })),
  () => { for (const line of watchLines) JSON.stringify(JSON.parse(line)); });

// 3. maskText on 1 MB of text
const text = sensitiveText(1_000_000);
const all: readonly Detector[] = ALL_DETECTORS;
await measure('kit maskText, 1 MB text, all detectors', Buffer.byteLength(text), () => maskText(text, all), () => JSON.parse(JSON.stringify(text)));

console.log(`bench:mask (load average ${loadavg()[0]!.toFixed(1)}, ${seconds} s per measurement, median per call)`);
console.log('| input | ms (best) | MB/s (best) | JSON.parse+stringify ms (best) | MB/s (best) | cost × anchor |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.name} | ${r.ms.toFixed(2)} (${r.bestMs.toFixed(2)}) | ${mbps(r.bytes, r.ms).toFixed(1)} (${mbps(r.bytes, r.bestMs).toFixed(1)}) | ${r.anchorMs.toFixed(2)} (${r.anchorBestMs.toFixed(2)}) | ${mbps(r.bytes, r.anchorMs).toFixed(1)} (${mbps(r.bytes, r.anchorBestMs).toFixed(1)}) | ${(r.ms / r.anchorMs).toFixed(1)} |`);
}
console.log(`bench:mask maskJsonText: ${mbps(json.bytes, json.ms).toFixed(1)} MB/s (${(json.ms / json.anchorMs).toFixed(1)}× JSON.parse+stringify)`);

/** Prose with one finding of some detector every ~200 characters: e-mails, cards, phones, IBANs, SSNs, secrets, and near misses. */
function sensitiveText(size: number): string {
  const findings = [
    'write to jane.doe@example.com today', 'card 4111 1111 1111 1111 on file', 'call +44 20 7946 0958 after six',
    'IBAN DE89 3704 0044 0532 0130 00 for transfers', 'SSN 123-45-6789 on the form', 'token ghp_abcdefghijklmnopqrstuvwxyz0123456789',
    'password=hunter2-but-longer', 'order 12345678 shipped 2024-01-15', 'version 1.25.3 at 10.0.0.1', 'see https://user:pa55@127.0.0.1/x',
  ];
  const prose = 'The quick brown fox jumps over the lazy dog while the operator reviews the nightly report. ';
  let out = '';
  for (let i = 0; out.length < size; i++) out += `${prose}${findings[i % findings.length]!}. ${prose}\n`;
  return out.slice(0, size);
}
