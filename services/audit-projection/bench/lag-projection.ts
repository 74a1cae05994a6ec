/**
 * The audit projection in a process of its own for bench:audit-lag (as it
 * runs in production: not sharing an event loop with the proxy). Says
 * "ready" to its parent once it has caught up with what was in the log.
 */
import { busConfigFromEnv, createBus, createPool, silentLogger } from '@portcullis/kit';
import { postgresUrl } from '@portcullis/infra';
import { startAuditProjection } from '../src/projection.ts';

const bus = createBus({ config: busConfigFromEnv('bench-audit-lag-projection'), logger: silentLogger(), namespace: process.env.BENCH_NAMESPACE!, partitions: 3 });
const pool = createPool(postgresUrl('portcullis'), 4);
const projection = await startAuditProjection({ bus, pool, logger: silentLogger(), schema: process.env.BENCH_SCHEMA! });
await projection.caughtUp;
process.send?.('ready');
// The bench went away (finished or failed): so does its projection.
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => void projection.stop().finally(() => pool.end()).finally(() => bus.disconnect()).finally(() => process.exit(0)));
