/**
 * Fills an audit view with a synthetic history, generated inside PostgreSQL
 * (nothing checked in): COMMANDS commands in sessions of 10, 200 identities,
 * 50 resources, effects mixed as in production (most allowed, some masked,
 * few blocked or held), spread over the last 90 days.
 *
 *   node --import tsx services/audit-projection/bench/generate.ts <schema> [commands=1000000]
 */
import { migrateProjection, schemaIdent, type Pool } from '@portcullis/kit';
import { auditProjection } from '../src/audit/tables.ts';

export async function generateHistory(pool: Pool, schema: string, commands: number, log = console.log): Promise<void> {
  await migrateProjection(pool, schema, auditProjection);
  const s = schemaIdent(schema);
  const perSession = 10;
  const sessions = Math.ceil(commands / perSession);
  const chunk = 20_000;
  const t0 = Date.now();
  for (let from = 0; from < sessions; from += chunk) {
    const to = Math.min(sessions, from + chunk) - 1;
    // Session g starts at a time spread over 90 days (newest last), lasts 10 minutes; command k of it at +k minutes.
    await pool.query(`
      INSERT INTO ${s}.sessions (session_id, protocol, identity_subject, identity_issuer, identity_kind, identity_groups, resource, resource_kind,
        resource_tags, client_address, started_at, opened_at, closed_at, duration_ms, last_event_at, last_seq, verified_seq, integrity)
      SELECT 'gen-s-' || g, 'postgres', 'user-' || (g % 200), 'http://127.0.0.1:9400', CASE WHEN g % 200 < 40 THEN 'service' ELSE 'human' END,
             ARRAY['group-' || (g % 7)], 'db-' || (g % 50), 'postgres', ARRAY[CASE WHEN g % 50 < 10 THEN 'production' ELSE 'staging' END], '127.0.0.1:5000',
             t, t, t + interval '10 minutes', 600000, t + interval '10 minutes', ${perSession * 2 + 2}, ${perSession * 2 + 2}, 'ok'
        FROM generate_series($1::int, $2::int) g, LATERAL (SELECT now() - interval '90 days' + (g::float8 / $3) * interval '90 days' AS t) x`,
      [from, to, sessions]);
    await pool.query(`
      INSERT INTO ${s}.commands (command_id, session_id, seq, at, requested_at, identity_subject, identity_issuer, identity_kind, identity_groups,
        resource, resource_kind, resource_tags, protocol, kind, text, phase, effect, verdict_final, held, rule_ids, reasons, classes, policy_version,
        verdict_at, status, row_count, duration_ms, completed_at)
      SELECT 'gen-c-' || g || '-' || k, s.session_id, 2 * k + 2, s.started_at + k * interval '1 minute', s.started_at + k * interval '1 minute',
             s.identity_subject, s.identity_issuer, s.identity_kind, s.identity_groups, s.resource, 'postgres', s.resource_tags, 'postgres', 'sql',
             CASE e WHEN 'block' THEN 'DROP TABLE orders_' || k WHEN 'hold' THEN 'UPDATE orders SET status = ''x'' WHERE id = ' || g
                    ELSE 'SELECT id, email FROM customers WHERE id = ' || g END,
             'simple', e, true, e = 'hold', ARRAY['rule-' || e], ARRAY['generated ' || e],
             ARRAY[CASE e WHEN 'block' THEN 'ddl' WHEN 'hold' THEN 'write' ELSE 'read' END], 1, s.started_at + k * interval '1 minute',
             CASE WHEN e = 'block' THEN 'refused' ELSE 'executed' END, 1, 2, s.started_at + k * interval '1 minute'
        FROM generate_series($1::int, $2::int) g
        JOIN ${s}.sessions s ON s.session_id = 'gen-s-' || g
        CROSS JOIN generate_series(0, ${perSession - 1}) k,
        LATERAL (SELECT CASE WHEN (g * 7 + k) % 100 < 2 THEN 'block' WHEN (g * 7 + k) % 100 < 3 THEN 'hold'
                             WHEN (g * 7 + k) % 100 < 30 THEN 'mask' ELSE 'allow' END AS e) x
       WHERE g * ${perSession} + k < $3::int`,
      [from, to, commands]);
    log(`generated ${Math.min(commands, (to + 1) * perSession)} of ${commands} commands (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
  await pool.query(`
    INSERT INTO ${s}.identities (issuer, subject, kind, groups, first_seen, last_seen, profile_event_id)
    SELECT identity_issuer, identity_subject, min(identity_kind), ARRAY['group-0'], min(started_at), max(started_at), 'generated'
      FROM ${s}.sessions GROUP BY 1, 2 ON CONFLICT DO NOTHING`);
  await pool.query(`ANALYZE ${s}.sessions; ANALYZE ${s}.commands; ANALYZE ${s}.identities`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { createPool } = await import('@portcullis/kit');
  const { postgresUrl } = await import('@portcullis/infra');
  const schema = process.argv[2];
  if (!schema) throw new Error('usage: generate.ts <schema> [commands]');
  const pool = createPool(process.env.PORTCULLIS_PG_URL || postgresUrl('portcullis'), 2);
  await generateHistory(pool, schema, Number(process.argv[3] ?? 1_000_000));
  await pool.end();
}
