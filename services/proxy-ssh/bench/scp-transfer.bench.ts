/**
 * Manual measurement: scp -O of a large file through the proxy (default 200 MiB),
 * throughput and the peak RSS / heap of this process (proxy + PDP + bus, in-process).
 *   node --import tsx services/proxy-ssh/bench/scp-transfer.bench.ts [MiB]
 * Needs `npm run infra:up`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync, writeSync, closeSync, rmSync, statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { issueHumanToken } from '@portcullis/infra';
import { ISSUER, generateClientKey, startFixture } from '../test/support/fixture.ts';

const mib = Number(process.argv[2] ?? 200);
const f = await startFixture();
try {
  const key = generateClientKey(f.dir, 'bench_ed25519');
  const token = await issueHumanToken(ISSUER, 'alice');
  await fetch(`http://127.0.0.1:${f.keysPort}/keys`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: readFileSync(`${key}.pub`, 'utf8') });
  const source = join(f.dir, 'big.bin');
  const fd = openSync(source, 'w');
  const chunk = randomBytes(1024 * 1024);
  for (let i = 0; i < mib; i++) writeSync(fd, chunk);
  closeSync(fd);
  const dest = `/tmp/portcullis-bench-${process.pid}`;
  let peakRss = 0;
  let peakHeap = 0;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed + m.arrayBuffers);
  }, 100);
  const baseline = process.memoryUsage();
  const started = Date.now();
  for (const direction of ['upload', 'download'] as const) {
    const t0 = Date.now();
    const remote = `root@web-1@127.0.0.1:${dest}`;
    const args = direction === 'upload' ? [source, remote] : [remote, `${source}.back`];
    await promisify(execFile)('scp', ['-O', '-q', '-P', String(f.port), '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', ...args], { timeout: 600_000 });
    const s = (Date.now() - t0) / 1000;
    console.log(`${direction}: ${mib} MiB in ${s.toFixed(1)} s = ${(mib / s).toFixed(1)} MiB/s`);
  }
  clearInterval(sampler);
  console.log(`sizes match: ${statSync(`${source}.back`).size === mib * 1024 * 1024}; total ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`rss baseline ${(baseline.rss / 2 ** 20).toFixed(0)} MiB, peak ${(peakRss / 2 ** 20).toFixed(0)} MiB; heap+buffers peak ${(peakHeap / 2 ** 20).toFixed(0)} MiB`);
  rmSync(dest, { force: true });
} finally {
  await f.close();
}
