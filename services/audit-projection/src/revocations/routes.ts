/** GET /revocations: the revocation log for auditors (who revoked, restored or ended what, when, why). */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { schemaIdent, type Pool } from '@portcullis/kit';
import { ErrorBody } from '../api/schemas.ts';

const RevocationLogQuery = z.object({
  name: z.string().optional().describe('subject, group or client id'),
  sessionId: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
const RevocationLogItem = z.object({
  eventId: z.string(),
  type: z.string(),
  at: z.string(),
  target: z.object({ kind: z.string(), issuer: z.string(), name: z.string() }).nullable(),
  sessionId: z.string().nullable(),
  reason: z.string().nullable(),
  by: z.object({ subject: z.string(), issuer: z.string() }),
  revokedAt: z.string().nullable(),
});

export function revocationLogRoutes({ pool, schema = 'audit' }: { pool: Pool; schema?: string }) {
  const s = schemaIdent(schema);
  return (instance: FastifyInstance): void => {
    instance.withTypeProvider<ZodTypeProvider>().get('/revocations', {
      schema: { description: 'The revocation log, newest first: revocations, restores and sessions ended by an admin', querystring: RevocationLogQuery, response: { 200: z.object({ items: z.array(RevocationLogItem) }), 400: ErrorBody, 401: ErrorBody, 403: ErrorBody } },
    }, async (req) => {
      const params: unknown[] = [];
      const where: string[] = [];
      if (req.query.name) where.push(`name = $${params.push(req.query.name)}`);
      if (req.query.sessionId) where.push(`session_id = $${params.push(req.query.sessionId)}`);
      const { rows } = await pool.query(
        `SELECT * FROM ${s}.revocation_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, event_id DESC LIMIT ${Math.trunc(req.query.limit)}`,
        params,
      );
      return {
        items: rows.map((r) => ({
          eventId: r.event_id, type: r.type, at: new Date(r.at).toISOString(),
          target: r.target_kind ? { kind: r.target_kind, issuer: r.issuer, name: r.name } : null,
          sessionId: r.session_id, reason: r.reason, by: { subject: r.actor_subject, issuer: r.actor_issuer },
          revokedAt: r.revoked_at ? new Date(r.revoked_at).toISOString() : null,
        })),
      };
    });
  };
}
