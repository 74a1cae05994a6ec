/**
 * Runs the engine alone in a child process (so a test can measure its
 * memory): allow-all gate, in-memory sink, test verifier. The resource comes
 * as JSON in PCL_TEST_RESOURCE; prints {"port":…} once listening.
 */
import { pino } from 'pino';
import { parseProxyConfig } from '../../src/config.ts';
import { createPostgresProxy } from '../../src/proxy.ts';
import { CollectingSink } from './collecting-sink.ts';
import { InMemoryGate } from './in-memory-gate.ts';
import { TestVerifier } from './test-verifier.ts';

const config = parseProxyConfig({ resources: [JSON.parse(process.env.PCL_TEST_RESOURCE!)], allowCleartextOnLoopback: true });
const sink = new CollectingSink();
const proxy = createPostgresProxy({ config, gate: new InMemoryGate(() => ({ effect: 'allow', ruleIds: ['allow'] })), sink, verifier: new TestVerifier(), logger: pino({ level: 'silent' }) });
const { port } = await proxy.listen(0, '127.0.0.1');
process.stdout.write(`${JSON.stringify({ port })}\n`);
process.on('message', (m) => {
  if (m === 'events') process.send?.(sink.events.map((e) => ({ type: e.type, rows: 'rows' in e && Array.isArray(e.rows) ? e.rows.length : undefined, truncated: 'truncated' in e ? e.truncated : undefined })));
});
process.on('SIGTERM', () => void proxy.close().then(() => process.exit(0)));
