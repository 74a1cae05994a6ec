/** `portcullis projections rebuild audit|replay`: drop a view and rebuild it from offset 0 (works on the database directly). */
import type { Command } from 'commander';
import { busConfigFromEnv, createBus, createLogger, createPool } from '@portcullis/kit';
import { postgresUrl } from '@portcullis/infra';
import { pruneAudit, rebuildAuditProjection, rebuildAuditWindow } from '@portcullis/audit-projection';
import { rebuildReplayProjection } from '@portcullis/replay-projection';
import { commandGroup } from '../groups.ts';

export function registerProjectionCommands(program: Command): void {
  const projections = commandGroup(program, 'projections', 'manage the projections (views built from the log)');
  projections.command('rebuild').description('drop a view and rebuild it from offset 0; stop the live projection first')
    .argument('<name>', 'audit | replay')
    .option('--schema <name>', 'PostgreSQL schema of the view (default: the projection name)')
    .option('--from <iso>', 'audit only: apply the events of [from, to) to the view, dropping nothing (restores a pruned window)')
    .option('--to <iso>', 'end of the window (default: now)')
    .action(async (name: string, o: { schema?: string; from?: string; to?: string }) => {
      if (name !== 'audit' && name !== 'replay') {
        console.error(`portcullis: unknown projection "${name}"; choose audit or replay`);
        process.exitCode = 2;
        return;
      }
      const from = o.from === undefined ? undefined : new Date(o.from);
      const to = new Date(o.to ?? Date.now());
      if ((from && Number.isNaN(from.getTime())) || Number.isNaN(to.getTime()) || (from && name !== 'audit')) {
        console.error('portcullis: --from/--to take ISO 8601 times, and only for the audit view');
        process.exitCode = 2;
        return;
      }
      const logger = createLogger('cli-rebuild', { level: 'warn' });
      const bus = createBus({ config: busConfigFromEnv('cli-rebuild'), logger });
      const pool = createPool(process.env.PORTCULLIS_PG_URL || postgresUrl('portcullis'), 2);
      try {
        const schema = o.schema ?? process.env[`PORTCULLIS_${name.toUpperCase()}_SCHEMA`] ?? name;
        if (from) {
          const result = await rebuildAuditWindow({ bus, pool, logger, schema, from, to });
          console.log(`applied ${result.events} events of ${from.toISOString()} .. ${to.toISOString()} to ${schema} in ${(result.ms / 1000).toFixed(1)} s`);
          return;
        }
        const rebuild = name === 'audit' ? rebuildAuditProjection : rebuildReplayProjection;
        const result = await rebuild({ bus, pool, logger, schema });
        console.log(`rebuilt ${name}: ${result.events} events in ${(result.ms / 1000).toFixed(1)} s`);
      } finally {
        await bus.disconnect();
        await pool.end();
      }
    });
  projections.command('prune').description('retention: drop audit view rows older than N days (the log keeps everything; rebuild --from/--to restores)')
    .argument('<name>', 'audit')
    .requiredOption('--older-than <days>', 'drop whole sessions whose last event is older, with their commands; approvals and identities likewise')
    .option('--schema <name>', 'PostgreSQL schema of the view (default: audit)')
    .action(async (name: string, o: { olderThan: string; schema?: string }) => {
      const days = Number(o.olderThan.replace(/d$/, ''));
      if (name !== 'audit' || !Number.isFinite(days) || days < 0) {
        console.error('portcullis: usage: projections prune audit --older-than <days>');
        process.exitCode = 2;
        return;
      }
      const pool = createPool(process.env.PORTCULLIS_PG_URL || postgresUrl('portcullis'), 2);
      try {
        const pruned = await pruneAudit(pool, { schema: o.schema ?? process.env.PORTCULLIS_AUDIT_SCHEMA ?? 'audit', olderThanDays: days });
        console.log(`pruned rows older than ${pruned.cutoff}: ${pruned.sessions} sessions, ${pruned.commands} commands, ${pruned.approvals} approvals, ${pruned.identities} identities`);
      } finally {
        await pool.end();
      }
    });
}
