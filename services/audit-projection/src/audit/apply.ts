/**
 * How one batch (one or more Kafka batches, in the runner's transaction)
 * reaches the audit tables, set-based: one query per table loads the rows
 * the batch touches, foldAuditBatch evolves them in memory (hash chains
 * included), and one statement per table writes them back
 * (INSERT … SELECT FROM unnest(…) ON CONFLICT …). The number of statements
 * does not grow with the batch.
 */
import { loadRows, schemaIdent, unnestSource, upsertRows, type PoolClient, type ProjectedEvent } from '@portcullis/kit';
import type { ChainedEvent } from '@portcullis/schemas';
import { foldAuditBatch, identityKey, touchedKeys, type ChainFacts } from './fold.ts';
import type { ChainLinkRow, IdentityRow, SessionRow } from './rows.ts';
import { approvalsTable, chainLinkProbe, chainLinksTable, chainPendingTable, commandsTable, identitiesTable, sessionsTable } from './tables.ts';

export async function applyAuditBatch(client: PoolClient, schema: string, batch: ProjectedEvent[]): Promise<void> {
  const keys = touchedKeys(batch);
  const sessions = await loadRows(client, schema, sessionsTable, keys.sessions);
  const commands = await loadRows(client, schema, commandsTable, keys.commands);
  const approvals = await loadRows(client, schema, approvalsTable, keys.approvals);
  const identities = await loadIdentities(client, schema, keys.identities);
  const chained = new Set(keys.chainedSessions);
  const withPending = sessions.filter((r) => chained.has(r.session_id) && r.integrity !== 'tampered' && r.last_seq > r.verified_seq);
  const chain: ChainFacts = { pending: await loadPending(client, schema, withPending), conflicts: new Map() };

  const folded0 = foldAuditBatch({
    sessions: new Map(sessions.map((r) => [r.session_id, r])),
    commands: new Map(commands.map((r) => [r.command_id, r])),
    approvals: new Map(approvals.map((r) => [r.approval_id, r])),
    identities: new Map(identities.map((r) => [identityKey(r), r])),
  }, batch, chain);
  // A link whose seq is already stored with another digest is tampering; the database knows, so ask it while storing the links.
  const conflicts = await insertLinks(client, schema, folded0.links, new Map(sessions.map((r) => [r.session_id, r.last_seq])));
  let folded = folded0;
  if (conflicts.size > 0) {
    chain.conflicts = conflicts;
    folded = foldAuditBatch({
      sessions: new Map(sessions.map((r) => [r.session_id, r])),
      commands: new Map(commands.map((r) => [r.command_id, r])),
      approvals: new Map(approvals.map((r) => [r.approval_id, r])),
      identities: new Map(identities.map((r) => [identityKey(r), r])),
    }, batch, chain);
  }

  await upsertRows(client, schema, sessionsTable, [...folded.sessions.values()]);
  await upsertRows(client, schema, commandsTable, [...folded.commands.values()]);
  await upsertRows(client, schema, approvalsTable, [...folded.approvals.values()]);
  await upsertRows(client, schema, identitiesTable, [...folded.identities.values()]);
  await upsertRows(client, schema, chainPendingTable, folded.pendingAdded, 'nothing');
  const proven = [...folded.pendingProvenUpTo].filter(([sessionId]) => chain.pending.has(sessionId));
  if (proven.length > 0) {
    await client.query(
      `DELETE FROM ${schemaIdent(schema)}.chain_pending p USING unnest($1::text[], $2::int[]) AS v(session_id, seq)
        WHERE p.session_id = v.session_id AND p.seq <= v.seq`,
      [proven.map(([id]) => id), proven.map(([, seq]) => seq)],
    );
  }
}

async function loadIdentities(client: PoolClient, schema: string, keys: [string, string][]): Promise<IdentityRow[]> {
  if (keys.length === 0) return [];
  const { rows } = await client.query<IdentityRow>(
    `SELECT ${identitiesTable.columns.map((c) => `t.${c.name}`).join(', ')}
       FROM ${schemaIdent(schema)}.identities t JOIN unnest($1::text[], $2::text[]) AS k(issuer, subject) USING (issuer, subject)`,
    [keys.map((k) => k[0]), keys.map((k) => k[1])],
  );
  return rows;
}

async function loadPending(client: PoolClient, schema: string, sessions: SessionRow[]): Promise<Map<string, ChainedEvent[]>> {
  const pending = new Map<string, ChainedEvent[]>();
  if (sessions.length === 0) return pending;
  const { rows } = await client.query<{ session_id: string; body: string }>(
    `SELECT p.session_id, p.body FROM ${schemaIdent(schema)}.chain_pending p
       JOIN unnest($1::text[], $2::int[]) AS v(session_id, verified_seq) USING (session_id)
      WHERE p.seq > v.verified_seq`,
    [sessions.map((r) => r.session_id), sessions.map((r) => r.verified_seq)],
  );
  for (const r of rows) {
    const list = pending.get(r.session_id) ?? [];
    list.push(JSON.parse(r.body) as ChainedEvent);
    pending.set(r.session_id, list);
  }
  return pending;
}

/**
 * Stores the links (the first one per seq wins) and returns, per session, a
 * link that contradicts one stored before. Only a seq up to the session's
 * last stored seq can be stored already, so only those are checked: a
 * session's new events cost a plain insert.
 */
async function insertLinks(client: PoolClient, schema: string, links: ChainLinkRow[], storedLastSeq: Map<string, number>): Promise<Map<string, { seq: number; eventId: string }>> {
  const conflicts = new Map<string, { seq: number; eventId: string }>();
  const suspects = links.filter((l) => l.seq <= (storedLastSeq.get(l.session_id) ?? 0));
  if (suspects.length > 0) {
    const { from, select, values } = unnestSource(chainLinkProbe, suspects);
    const { rows } = await client.query<{ session_id: string; seq: number; event_id: string }>(
      `SELECT b.session_id, b.seq, b.event_id FROM (SELECT ${select} FROM ${from}) b JOIN ${schemaIdent(schema)}.chain_links c USING (session_id, seq)
        WHERE c.digest <> b.digest ORDER BY b.session_id, b.seq`,
      values,
    );
    for (const r of rows) if (!conflicts.has(r.session_id)) conflicts.set(r.session_id, { seq: r.seq, eventId: r.event_id });
  }
  await upsertRows(client, schema, chainLinksTable, links, 'nothing');
  return conflicts;
}
