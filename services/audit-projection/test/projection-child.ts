/**
 * The audit projection in a process of its own, for the SIGKILL test: tells
 * its parent after each committed transaction; small fetches cut in chunks of
 * five events make many.
 */
import { busConfigFromEnv, createBus, silentLogger } from '@portcullis/kit';
import { startAuditProjection } from '../src/projection.ts';
import { testPool } from './support.ts';

const bus = createBus({ config: busConfigFromEnv('audit-kill-child'), logger: silentLogger(), namespace: process.env.CHILD_NAMESPACE!, partitions: 3 });
const projection = await startAuditProjection({
  bus, pool: testPool(), logger: silentLogger(), schema: process.env.CHILD_SCHEMA!, groupId: 'kill-child', maxBytesPerPartition: 4096, decodeChunkEvents: 5,
});
setInterval(async () => {
  const committed = (await projection.metrics.transactions.get()).values.reduce((n, v) => n + v.value, 0);
  if (committed > 0) process.send?.('committed');
}, 5).unref();
setInterval(() => undefined, 1000);
