/**
 * The admin API: revoke and restore identities, groups and OAuth clients,
 * list the live sessions every proxy reports, end one. Callers must be in
 * the configured admins group (app.ts checks every /admin/ path); every
 * change is an event naming who made it (portcullis.revocations), every
 * call is logged with the caller.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { newId, nowIso, targetKey, type Actor, type RevocationTarget } from '@portcullis/schemas';
import { PortcullisError, type Bus, type Logger, type PresenceView, type RevocationList } from '@portcullis/kit';
import { ErrorBody } from './schemas.ts';

const TargetBody = z.object({
  kind: z.enum(['identity', 'group', 'client']),
  /** The subject, group name or client id. */
  name: z.string().min(1).max(500),
  /** Default: the issuer this API trusts. */
  issuer: z.string().min(1).optional(),
});
const RevokeBody = TargetBody.extend({ reason: z.string().min(1).max(2000) });
const RestoreBody = TargetBody.extend({ reason: z.string().max(2000).optional() });
const KillBody = z.object({ reason: z.string().min(1).max(2000) });

const ActorView = z.object({ subject: z.string(), issuer: z.string(), name: z.string().optional() });
const Target = z.object({ kind: z.string(), issuer: z.string(), subject: z.string().optional(), group: z.string().optional(), clientId: z.string().optional() });
export const RevocationItem = z.object({
  target: Target,
  revokedAt: z.string(),
  reason: z.string(),
  revokedBy: ActorView,
  restored: z.object({ at: z.string(), by: ActorView, reason: z.string().optional() }).optional(),
});
const LiveItem = z.object({
  sessionId: z.string(),
  identity: z.object({ subject: z.string(), issuer: z.string(), kind: z.string(), groups: z.array(z.string()), name: z.string().optional(), clientId: z.string().optional() }),
  resource: z.object({ name: z.string(), kind: z.string(), tags: z.array(z.string()) }),
  protocol: z.string(),
  openedAt: z.string(),
  clientAddress: z.string().optional(),
  tokenExpiresAt: z.string().optional(),
  instance: z.string(),
  service: z.string(),
  reportedAt: z.string(),
});
const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

export function targetOf(body: z.infer<typeof TargetBody>, defaultIssuer: string): RevocationTarget {
  const issuer = body.issuer ?? defaultIssuer;
  switch (body.kind) {
    case 'identity':
      return { kind: 'identity', issuer, subject: body.name };
    case 'group':
      return { kind: 'group', issuer, group: body.name };
    case 'client':
      return { kind: 'client', issuer, clientId: body.name };
  }
}

function actorOf(req: FastifyRequest): Actor {
  const caller = req.caller!;
  return { subject: caller.subject, issuer: caller.issuer, ...(caller.name ? { name: caller.name } : {}) };
}

/** `revocations` and `presence` are followed by the caller (kit's followRevocations / followPresence). */
export function adminRoutes({ bus, issuer, revocations, presence, logger }: { bus: Bus; issuer: string; revocations: Pick<RevocationList, 'state'>; presence: Pick<PresenceView, 'live'>; logger?: Logger }) {
  return (instance: FastifyInstance): void => {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    const audit = (req: FastifyRequest, action: string, details: Record<string, unknown> = {}): void =>
      logger?.info({ admin: req.caller?.subject, issuer: req.caller?.issuer, action, ...details }, 'admin API call');

    app.get('/admin/revocations', {
      schema: { description: 'Revocations in force and lifted ones (latest per identity, group or client)', response: { 200: z.object({ items: z.array(RevocationItem) }), ...errors } },
    }, async (req) => {
      audit(req, 'list-revocations');
      return { items: [...revocations.state().entries.values()] };
    });

    app.post('/admin/revocations', {
      schema: { description: 'Revoke an identity, a group or an OAuth client: its live sessions end within a second, new ones are refused', body: RevokeBody, response: { 201: RevocationItem, ...errors } },
    }, async (req, reply) => {
      const target = targetOf(req.body, issuer);
      const event = { type: 'IdentityRevoked' as const, eventId: newId(), occurredAt: nowIso(), sessionId: `admin-${newId()}`, target, reason: req.body.reason, revokedBy: actorOf(req) };
      audit(req, 'revoke', { target: targetKey(target), reason: req.body.reason });
      await bus.publish('revocations', event);
      return reply.status(201).send({ target, revokedAt: event.occurredAt, reason: event.reason, revokedBy: event.revokedBy });
    });

    app.post('/admin/restorations', {
      schema: { description: 'Lift a revocation; tokens issued before it stay refused', body: RestoreBody, response: { 201: RevocationItem, ...errors } },
    }, async (req, reply) => {
      const target = targetOf(req.body, issuer);
      const entry = revocations.state().entries.get(targetKey(target));
      audit(req, 'restore', { target: targetKey(target) });
      if (!entry || entry.restored) throw new PortcullisError('PCL_ERR_NOT_FOUND', `${req.body.kind} ${req.body.name} (${target.issuer}) is not revoked`);
      const event = {
        type: 'IdentityRestored' as const, eventId: newId(), occurredAt: nowIso(), sessionId: `admin-${newId()}`, target,
        revoked: { at: entry.revokedAt, by: entry.revokedBy, reason: entry.reason }, restoredBy: actorOf(req), ...(req.body.reason ? { reason: req.body.reason } : {}),
      };
      await bus.publish('revocations', event);
      return reply.status(201).send({ ...entry, restored: { at: event.occurredAt, by: event.restoredBy, ...(event.reason ? { reason: event.reason } : {}) } });
    });

    app.get('/admin/sessions/live', {
      schema: { description: 'Sessions the proxies serve now (a proxy that stopped heart-beating serves none)', response: { 200: z.object({ items: z.array(LiveItem) }), ...errors } },
    }, async (req) => {
      audit(req, 'list-live-sessions');
      return { items: presence.live() };
    });

    app.post('/admin/sessions/:sessionId/terminate', {
      schema: { description: 'End one live session with a reason', params: z.object({ sessionId: z.string().min(1).max(200) }), body: KillBody, response: { 202: z.object({ sessionId: z.string(), reason: z.string() }), ...errors } },
    }, async (req, reply) => {
      const { sessionId } = req.params;
      audit(req, 'kill-session', { sessionId, reason: req.body.reason });
      if (!presence.live().some((s) => s.sessionId === sessionId)) throw new PortcullisError('PCL_ERR_NOT_FOUND', `no live session ${sessionId}`);
      await bus.publish('revocations', { type: 'SessionTerminated', eventId: newId(), occurredAt: nowIso(), sessionId, reason: req.body.reason, terminatedBy: actorOf(req) });
      return reply.status(202).send({ sessionId, reason: req.body.reason });
    });
  };
}
