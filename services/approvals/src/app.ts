/**
 * The approvals HTTP API. Callers authenticate with an OIDC access token
 * (Authorization: Bearer) before anything else is looked at, the body
 * included; reads come from the in-memory projection of portcullis.approvals
 * and show an approval only to its requester, its approver groups and
 * auditors (visibility.ts); writes go through the decider and are answered
 * once their events are durably in Kafka.
 *
 *   GET  /approvals?status=pending     list
 *   GET  /approvals/:id                one approval
 *   POST /approvals/:id/grant          { comment? }  vote for (grants at quorum)
 *   POST /approvals/:id/deny           { comment? }  one denial denies
 *   GET  /approvals/events             server-sent events: { approvalId, status } per change
 *   GET  /docs/json                    OpenAPI document
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import { z } from 'zod';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Identity } from '@portcullis/schemas';
import { describeError, isPortcullisError, PortcullisError, type IdentityVerifier, type Logger } from '@portcullis/kit';
import { APPROVAL_STATUSES } from './decider.ts';
import type { ApprovalWorkflow } from './workflow.ts';
import { ApprovalView, ErrorView, viewOf } from './views.ts';
import { canSee, DEFAULT_AUDITOR_GROUP } from './visibility.ts';

export interface AppDeps {
  workflow: Pick<ApprovalWorkflow, 'get' | 'list' | 'execute' | 'onChange'>;
  verifier: IdentityVerifier;
  logger: Logger;
  /** Members see every approval (default `auditors`). */
  auditorGroup?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook on every /approvals route. */
    caller?: Identity;
  }
}

const ApprovalParams = z.object({ id: z.string().uuid().describe('approvalId (from the hold verdict or the list)') });
const DecisionBody = z.object({ comment: z.string().max(2000).optional().describe('shown to the requester and recorded in the verdict') }).default({});
const errors = { 400: ErrorView, 401: ErrorView, 403: ErrorView, 404: ErrorView, 409: ErrorView, 503: ErrorView };
const security = [{ bearer: [] }];
const EVENT_STREAM_MAX_MS = 5 * 60_000;

export async function buildApp({ workflow, verifier, logger, auditorGroup = DEFAULT_AUDITOR_GROUP }: AppDeps): Promise<FastifyInstance> {
  // forceCloseConnections: a stop must not wait for sockets of clients that went quiet (an event
  // stream's reconnect cut short leaves one behind until the headers timeout).
  const app = Fastify({ loggerInstance: logger as FastifyBaseLogger, disableRequestLogging: true, bodyLimit: 64 * 1024, forceCloseConnections: true }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'Portcullis approvals', version: '1', description: 'Approve or deny commands the policy holds. Every decision is an event on portcullis.approvals.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
    transform: jsonSchemaTransform,
    // Registers the schemas named with .meta({ id }) as components, so their $refs resolve.
    transformObject: jsonSchemaTransformObject,
  });

  app.setErrorHandler((err, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      return reply.status(400).send({ code: 'PCL_ERR_VALIDATION', message: `invalid request: ${err.validation.map((v) => `${v.instancePath || '(root)'} ${v.message}`).join('; ')}` });
    }
    if (isPortcullisError(err)) return reply.status(err.status).send(err.toJSON());
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return reply.status(status).send({ code: 'PCL_ERR_VALIDATION', message: describeError(err) });
    request.log.error({ err: describeError(err), url: request.routeOptions.url }, 'request failed');
    return reply.status(500).send({ code: 'PCL_ERR_INTERNAL', message: 'internal error' });
  });

  async function caller(request: FastifyRequest): Promise<Identity> {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) throw new PortcullisError('PCL_ERR_UNAUTHENTICATED', 'send your access token as "Authorization: Bearer <token>"', { details: { reason: 'missing_token' } });
    return verifier.verify(match[1]!);
  }

  // Authenticate first: a caller without a valid token learns nothing, not even that the body is malformed.
  app.decorateRequest('caller', undefined);
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.url?.startsWith('/approvals')) request.caller = await caller(request);
  });
  const callerOf = (request: FastifyRequest): Identity => {
    if (!request.caller) throw new PortcullisError('PCL_ERR_UNAUTHENTICATED', 'send your access token as "Authorization: Bearer <token>"', { details: { reason: 'missing_token' } });
    return request.caller;
  };

  /** An approval the caller may see; one they may not is answered exactly like one that does not exist. */
  function visible(id: string, who: Identity) {
    const state = workflow.get(id);
    if (state.status === 'unknown' || !canSee(who, state, auditorGroup)) throw new PortcullisError('PCL_ERR_NOT_FOUND', `no approval ${id}`, { details: { reason: 'unknown_approval' } });
    return state;
  }

  app.get('/approvals', {
    schema: {
      summary: 'List the approvals you may see, oldest first: your own, those your groups approve, all of them for auditors',
      security,
      querystring: z.object({ status: z.enum(APPROVAL_STATUSES).optional() }),
      response: { 200: z.object({ approvals: z.array(ApprovalView) }), ...errors },
    },
    handler: async (request) => {
      const who = callerOf(request);
      const all = workflow.list(request.query.status ? { status: request.query.status } : {});
      return { approvals: all.filter((a) => canSee(who, a, auditorGroup)).map(viewOf) };
    },
  });

  // Event streams never finish by themselves: end them when the service stops, so closing does not wait for clients.
  const openStreams = new Set<import('node:http').ServerResponse>();
  app.addHook('preClose', async () => {
    for (const res of openStreams) res.end();
  });

  app.get('/approvals/events', {
    schema: {
      summary: 'Server-sent events: an "approval" event with { approvalId, status } for every new or changed approval',
      description: 'Read the approval itself with GET /approvals/:id. The stream ends after five minutes; EventSource reconnects (and so re-authenticates) by itself.',
      security,
      response: { 200: z.string().describe('text/event-stream'), ...errors },
    },
    handler: async (request, reply) => {
      const who = callerOf(request);
      reply.hijack();
      const res = reply.raw;
      openStreams.add(res);
      // connection: close: an ended stream frees its socket at once instead of idling in keep-alive through a stop.
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no', connection: 'close' });
      res.write(': connected\n\n');
      // Ids and statuses only: what an approval says is read through the API, with its checks.
      // Only approvals the caller may see: to anyone else they do not exist, here as in GET /approvals.
      const off = workflow.onChange((s) => {
        if (canSee(who, s, auditorGroup)) res.write(`event: approval\ndata: ${JSON.stringify({ approvalId: s.request.approvalId, status: s.status })}\n\n`);
      });
      const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      // A token may expire while the stream is open: end it now and then so the reconnect is checked afresh.
      const end = setTimeout(() => res.end(), EVENT_STREAM_MAX_MS);
      res.once('close', () => {
        openStreams.delete(res);
        off();
        clearInterval(keepAlive);
        clearTimeout(end);
      });
    },
  });

  app.get('/approvals/:id', {
    schema: { summary: 'One approval', security, params: ApprovalParams, response: { 200: ApprovalView, ...errors } },
    handler: async (request) => viewOf(visible(request.params.id, callerOf(request))),
  });

  for (const [action, type] of [['grant', 'Vote'], ['deny', 'Deny']] as const) {
    app.post(`/approvals/:id/${action}`, {
      schema: {
        summary: action === 'grant' ? 'Vote for: the approval is granted once the quorum of distinct approvers is reached' : 'Deny: one denial denies',
        description: 'Idempotent: repeating your own decision answers 200 with the current state. A closed approval answers 409 with its status.',
        security,
        params: ApprovalParams,
        body: DecisionBody,
        response: { 200: ApprovalView, ...errors },
      },
      handler: async (request) => {
        const approver = callerOf(request);
        visible(request.params.id, approver);
        const comment = request.body?.comment;
        const state = await workflow.execute(request.params.id, { type, approver, ...(comment ? { comment } : {}) });
        if (state.status === 'unknown') throw new PortcullisError('PCL_ERR_NOT_FOUND', `no approval ${request.params.id}`);
        return viewOf(state);
      },
    });
  }

  app.get('/docs/json', { schema: { hide: true } }, async () => app.swagger());
  return app as unknown as FastifyInstance;
}
