/** `portcullis projections rebuild audit|replay`: drop a view and rebuild it from offset 0 (works on the database directly). */
import type { Command } from 'commander';
import { busConfigFromEnv, createBus, createLogger, createPool } from '@portcullis/kit';
import { postgresUrl } from '@portcullis/infra';
import { rebuildAuditProjection } from '@portcullis/audit-projection';
import { rebuildReplayProjection } from '@portcullis/replay-projection';
import { commandGroup } from '../groups.ts';

export function registerProjectionCommands(program: Command): void {
  const projections = commandGroup(program, 'projections', 'manage the projections (views built from the log)');
  projections.command('rebuild').description('drop a view and rebuild it from offset 0; stop the live projection first')
    .argument('<name>', 'audit | replay')
    .option('--schema <name>', 'PostgreSQL schema of the view (default: the projection name)')
    .action(async (name: string, o: { schema?: string }) => {
      if (name !== 'audit' && name !== 'replay') {
        console.error(`portcullis: unknown projection "${name}"; choose audit or replay`);
        process.exitCode = 2;
        return;
      }
      const logger = createLogger('cli-rebuild', { level: 'warn' });
      const bus = createBus({ config: busConfigFromEnv('cli-rebuild'), logger });
      const pool = createPool(process.env.PORTCULLIS_PG_URL || postgresUrl('portcullis'), 2);
      try {
        const rebuild = name === 'audit' ? rebuildAuditProjection : rebuildReplayProjection;
        const result = await rebuild({ bus, pool, logger, schema: o.schema ?? process.env[`PORTCULLIS_${name.toUpperCase()}_SCHEMA`] ?? name });
        console.log(`rebuilt ${name}: ${result.events} events in ${(result.ms / 1000).toFixed(1)} s`);
      } finally {
        await bus.disconnect();
        await pool.end();
      }
    });
}
