/** Replay routes, registered into the query API (same authentication: auditors only). */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorBody, PortcullisError, schemaIdent, type Pool } from '@portcullis/kit';
import type { OutputRecorded } from '@portcullis/schemas';
import { buildTranscript, renderCast, renderPsql, type Transcript } from './transcript.ts';

const Entry = z.object({
  seq: z.number().nullable(), commandId: z.string(), at: z.string(), text: z.string(), phase: z.string().nullable(), statementName: z.string().nullable(),
  parameters: z.array(z.string().nullable()).nullable(),
  verdict: z.object({ effect: z.string(), ruleIds: z.array(z.string()), reasons: z.array(z.string()), final: z.boolean() }).nullable(),
  outcome: z.object({ status: z.string(), rows: z.number().nullable(), tag: z.string().nullable(), error: z.string().nullable(), durationMs: z.number() }).nullable(),
  results: z.array(z.object({ columns: z.array(z.string()), rows: z.array(z.array(z.string().nullable())), truncated: z.boolean() })),
  response: z.object({ text: z.string(), truncated: z.boolean() }).nullable(),
});
export const TranscriptSchema = z.object({
  sessionId: z.string(), protocol: z.string().nullable(), identity: z.object({ subject: z.string(), kind: z.string() }).nullable(),
  resource: z.string().nullable(), openedAt: z.string().nullable(), closedAt: z.string().nullable(), entries: z.array(Entry), hasRecording: z.boolean(),
});

export async function loadSessionEvents(pool: Pool, schema: string, sessionId: string): Promise<unknown[]> {
  const { rows } = await pool.query<{ body: unknown }>(
    `SELECT body FROM ${schemaIdent(schema)}.transcript_events WHERE session_id = $1 ORDER BY seq NULLS LAST, occurred_at, event_id`, [sessionId]);
  if (rows.length === 0) throw new PortcullisError('PCL_ERR_NOT_FOUND', `no recording of session ${sessionId}`);
  return rows.map((r) => r.body);
}

export function replayRoutes(deps: { pool: Pool; schema?: string }) {
  const schema = deps.schema ?? 'replay';
  return (base: FastifyInstance): void => {
    const app = base.withTypeProvider<ZodTypeProvider>();
    const errors = { 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };
    const params = z.object({ id: z.string() });
    app.get('/sessions/:id/replay', {
      schema: {
        description: 'The session transcript: JSON, or psql-style text with the gateway decisions marked (Accept: text/plain)',
        params, response: { 200: z.union([TranscriptSchema, z.string()]), ...errors },
      },
    }, async (req, reply) => {
      const events = await loadSessionEvents(deps.pool, schema, req.params.id);
      const transcript: Transcript = buildTranscript(req.params.id, events as never);
      if ((req.headers.accept ?? '').includes('text/plain')) {
        reply.type('text/plain; charset=utf-8');
        return renderPsql(transcript);
      }
      return TranscriptSchema.parse(transcript);
    });
    app.get('/sessions/:id/replay.cast', {
      schema: { description: 'asciicast v2 recording of an SSH session', params, response: { 200: z.string(), ...errors } },
    }, async (req, reply) => {
      const events = await loadSessionEvents(deps.pool, schema, req.params.id);
      const transcript = buildTranscript(req.params.id, events as never);
      if (!transcript.hasRecording) throw new PortcullisError('PCL_ERR_NOT_FOUND', `session ${req.params.id} has no terminal recording (only SSH sessions do)`);
      reply.type('application/x-asciicast');
      return renderCast(transcript, (events as OutputRecorded[]).filter((e) => e.type === 'OutputRecorded'));
    });
  };
}
