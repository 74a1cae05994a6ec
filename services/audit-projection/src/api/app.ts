/**
 * The compliance query API: sessions, commands (with export), identities,
 * OpenAPI at /docs/json, Prometheus metrics at /metrics. Reading the audit
 * needs an OIDC access token of a member of the auditor group.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, hasZodFastifySchemaValidationErrors, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Registry } from 'prom-client';
import { PortcullisError, describeTarget, isPortcullisError, targetCovers, type RevocationState, type IdentityVerifier, type Logger, type ProjectionStatus } from '@portcullis/kit';
import type { Identity } from '@portcullis/schemas';
import type { PolicyState } from '@portcullis/policy-decision';
import { schemaIdent, type Pool } from '@portcullis/kit';
import { commandsQuery, decodeCursor, encodeCursor, sessionsQuery } from './queries.ts';
import {
  CommandItem, CommandQuery, ErrorBody, ExportQuery, IdentityItem, IdentityQuery, OverprivilegedAnswer, OverprivilegedQuery, Page,
  SessionDetail, SessionItem, SessionQuery, StatusAnswer,
} from './schemas.ts';
import { toCommandItem, toSessionItem } from './mappers.ts';
import { exportCommands } from './export.ts';
import { listIdentities, overprivileged } from './identities.ts';

export interface QueryApiDeps {
  pool: Pool;
  verifier: IdentityVerifier;
  /** Group whose members may read the audit; default `auditors`. */
  auditorGroup?: string;
  /** Group whose members may call /admin/ (revoke, restore, live sessions, kill); default `admins`. */
  adminGroup?: string;
  /** Schema of the audit view; default `audit`. */
  schema?: string;
  /** Current policy state, for the over-privilege report. */
  policyState?: () => PolicyState;
  /** Registries served at /metrics. */
  metrics?: Registry[];
  logger?: Logger;
  /** How current the views this process serves are (the running projections' status); without it `asOf` is null. */
  status?: () => ProjectionStatus[];
  /** The revocation list (kit's followRevocations): the inventory marks revoked identities. */
  revocations?: () => RevocationState;
  /** More routes under the same authentication (e.g. the replay API). */
  routes?: ((app: FastifyInstance) => void | Promise<void>)[];
}

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Identity;
  }
}

const PUBLIC = new Set(['/metrics', '/docs/json', '/health', '/status']);
/** Routes any caller with a valid token may use (about themselves); everything else needs the auditor group. */
const EVERY_CALLER = new Set(['/resources']);
export const AS_OF_HEADER = 'portcullis-as-of';

/** The oldest `asOf` of the views: every event written before it is in all of them. */
export function viewAsOf(statuses: ProjectionStatus[]): string | null {
  if (statuses.length === 0 || statuses.some((s) => s.asOf === null)) return null;
  return statuses.map((s) => s.asOf!).sort()[0]!;
}
const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 503: ErrorBody };

export async function buildApp(deps: QueryApiDeps): Promise<FastifyInstance> {
  const schema = schemaIdent(deps.schema ?? 'audit');
  const auditorGroup = deps.auditorGroup ?? 'auditors';
  const adminGroup = deps.adminGroup ?? 'admins';
  const app = Fastify({ loggerInstance: deps.logger as FastifyBaseLogger | undefined }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(swagger, {
    openapi: {
      info: { title: 'Portcullis query API', version: '1.0.0', description: 'Audit, replay and identity inventory. Bearer: OIDC access token of a member of the auditor group.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });

  app.setErrorHandler((err: unknown, _req, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const issues = err.validation.map((v) => `${v.instancePath || 'query'}: ${v.message}`).join('; ');
      return reply.status(400).send({ code: 'PCL_ERR_VALIDATION', message: `invalid request: ${issues}` });
    }
    if (isPortcullisError(err)) return reply.status(err.status).send({ code: err.code, message: err.message });
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status < 500) return reply.status(status).send({ code: 'PCL_ERR_VALIDATION', message: (err as Error).message });
    deps.logger?.error({ err: (err as Error).message }, 'query API request failed');
    return reply.status(500).send({ code: 'PCL_ERR_INTERNAL', message: 'internal error; see the server log' });
  });

  app.addHook('onRequest', async (req: FastifyRequest) => {
    const path = req.url.split('?')[0]!;
    if (PUBLIC.has(path) || path.startsWith('/docs')) return;
    const header = req.headers.authorization;
    if (!header) throw new PortcullisError('PCL_ERR_UNAUTHENTICATED', 'no credentials: send an OIDC access token as "Authorization: Bearer <token>"');
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new PortcullisError('PCL_ERR_UNAUTHENTICATED', 'the Authorization header must be "Bearer <access token>"');
    const caller = await deps.verifier.verify(m[1]!);
    const admin = path.startsWith('/admin/');
    const group = admin ? adminGroup : auditorGroup;
    if (!EVERY_CALLER.has(path) && !caller.groups.includes(group)) {
      deps.logger?.info({ subject: caller.subject, path, method: req.method }, 'API call refused: not in the required group');
      throw new PortcullisError('PCL_ERR_FORBIDDEN', `${admin ? 'the admin API' : 'reading the audit'} needs membership of the group "${group}"; ${caller.subject} is in ${caller.groups.length ? caller.groups.map((g) => `"${g}"`).join(', ') : 'no groups'}`);
    }
    req.caller = caller;
  });

  const asOf = (): string | null => viewAsOf(deps.status?.() ?? []);
  // Every answer says how current the view behind it is.
  app.addHook('onSend', async (_req, reply, payload) => {
    const at = asOf();
    if (at) reply.header(AS_OF_HEADER, at);
    return payload;
  });

  app.get('/health', { schema: { hide: true } }, async () => ({ ok: true }));
  app.get('/status', {
    schema: { description: 'How current the views are: lag per partition, seconds behind the newest event, asOf', response: { 200: StatusAnswer } },
  }, async () => ({ asOf: asOf(), projections: deps.status?.() ?? [] }));
  app.get('/docs/json', { schema: { hide: true } }, async () => app.swagger());

  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    const registries = deps.metrics ?? [];
    const bodies = await Promise.all(registries.map((r) => r.metrics()));
    reply.type(registries[0]?.contentType ?? 'text/plain; version=0.0.4; charset=utf-8');
    return bodies.join('\n');
  });

  app.get('/sessions', {
    schema: { description: 'Sessions, newest first', querystring: SessionQuery, response: { 200: Page(SessionItem), ...errors } },
  }, async (req) => {
    const { limit, cursor, ...filter } = req.query;
    const q = sessionsQuery(schema, filter, decodeCursor(cursor), limit + 1);
    const { rows } = await deps.pool.query(q.text, q.values);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page.map(toSessionItem), nextCursor: rows.length > limit && last ? encodeCursor(last.at_key, last.session_id) : null, asOf: asOf() };
  });

  app.get('/sessions/:id', {
    schema: { description: 'One session with its commands in order', params: z.object({ id: z.string() }), response: { 200: SessionDetail, ...errors } },
  }, async (req) => {
    const q = sessionsQuery(schema, {}, undefined, 1, req.params.id);
    const { rows } = await deps.pool.query(q.text, q.values);
    if (!rows[0]) throw new PortcullisError('PCL_ERR_NOT_FOUND', `no session ${req.params.id} in the audit`);
    const c = commandsQuery(schema, { sessionId: req.params.id }, undefined, 100_000);
    const commands = (await deps.pool.query(c.text, c.values)).rows.map(toCommandItem).sort((a, b) => (a.seq ?? Infinity) - (b.seq ?? Infinity));
    return { ...toSessionItem(rows[0]), commands };
  });

  app.get('/commands', {
    schema: { description: 'Commands with verdict and outcome, newest first', querystring: CommandQuery, response: { 200: Page(CommandItem), ...errors } },
  }, async (req) => {
    const { limit, cursor, ...filter } = req.query;
    const q = commandsQuery(schema, filter, decodeCursor(cursor), limit + 1);
    const { rows } = await deps.pool.query(q.text, q.values);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page.map(toCommandItem), nextCursor: rows.length > limit && last ? encodeCursor(last.at_key, last.command_id) : null, asOf: asOf() };
  });

  app.get('/commands/export', {
    schema: {
      description: 'Every command matching the filter, streamed as NDJSON (one CommandItem per line) or CSV',
      querystring: ExportQuery,
      response: { 200: z.string().describe('application/x-ndjson or text/csv stream'), ...errors },
    },
  }, async (req, reply) => {
    const { format, ...filter } = req.query;
    reply.header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson');
    reply.header('content-disposition', `attachment; filename="portcullis-commands.${format === 'csv' ? 'csv' : 'ndjson'}"`);
    return reply.send(exportCommands(deps.pool, schema, filter, format) as never);
  });

  app.get('/identities', {
    schema: { description: 'Every identity seen, most recently seen first', querystring: IdentityQuery, response: { 200: z.object({ items: z.array(IdentityItem) }), ...errors } },
  }, async (req) => {
    const items = await listIdentities(deps.pool, schema, req.query);
    const state = deps.revocations?.();
    if (!state) return { items };
    return {
      items: items.map((i) => {
        const entry = [...state.entries.values()].find((e) => !e.restored && targetCovers(e.target, { subject: i.subject, issuer: i.issuer, kind: i.kind, groups: i.groups }));
        return { ...i, revoked: entry ? { target: describeTarget(entry.target), at: entry.revokedAt, by: entry.revokedBy.subject, reason: entry.reason } : null };
      }),
    };
  });

  app.get('/identities/overprivileged', {
    schema: { description: 'Identities whose allowed commands used few of the statement classes their policy admits', querystring: OverprivilegedQuery, response: { 200: OverprivilegedAnswer, ...errors } },
  }, async (req) => {
    const state = deps.policyState?.();
    if (!state?.policy) throw new PortcullisError('PCL_ERR_CONFLICT', 'no policy is loaded yet, so admitted classes cannot be computed');
    return { policyVersion: state.version, window: req.query.window, ratio: req.query.ratio, items: await overprivileged(deps.pool, schema, state, req.query.window, req.query.ratio) };
  });

  for (const register of deps.routes ?? []) await register(app);
  await app.ready();
  return app;
}
