/** Request and response schemas of the console's own API (auth and policy). Responses list their fields: nothing else leaves. */
import { z } from 'zod';

export const ErrorBody = z.object({ code: z.string(), message: z.string() }).meta({ id: 'ConsoleError' });

export const LoginQuery = z.object({ returnTo: z.string().max(2000).optional().describe('a path of the console to come back to') });

export const Me = z
  .object({
    subject: z.string(),
    name: z.string().optional(),
    kind: z.enum(['human', 'service']),
    groups: z.array(z.string()),
    expiresAt: z.string().describe('when the login ends (the access token expires)'),
    csrfToken: z.string().describe('send as x-csrf-token on every POST'),
    canReadAudit: z.boolean().describe('member of the auditor group: sessions, replay, identities'),
    canReadPolicy: z.boolean(),
    canAdmin: z.boolean().describe('member of the admins group: revoke identities, groups and clients, end live sessions'),
  })
  .meta({ id: 'Me' });

const Json = z.record(z.string(), z.unknown());

export const PolicyView = z
  .object({
    version: z.number().int().describe('0 until a policy is published'),
    policySetId: z.string().nullable(),
    documentDigest: z.string().nullable(),
    defaultEffect: z.string().nullable(),
    defaultApproval: Json.nullable(),
    rules: z.array(z.object({ id: z.string(), description: z.string().nullable(), effect: z.string(), match: Json, rule: Json })),
    rejected: z.object({ version: z.number(), errors: z.array(z.string()) }).nullable().describe('the last publication that was refused, if any'),
  })
  .meta({ id: 'PolicyView' });

export const DecideRequest = z
  .object({
    identity: z.object({
      subject: z.string().min(1).max(200),
      kind: z.enum(['human', 'service']),
      groups: z.array(z.string().max(200)).max(50).default([]),
      issuer: z.string().min(1).max(500).optional().describe('default: the issuer of the person using the playground'),
    }),
    resource: z.object({ name: z.string().min(1).max(200), tags: z.array(z.string().max(200)).max(50).default([]) }),
    protocol: z.enum(['postgres', 'ssh', 'http']).optional(),
    command: z.union([
      z.object({ sql: z.string().min(1).max(100_000) }),
      z.object({ shell: z.string().min(1).max(100_000) }),
      z.object({ http: z.string().min(1).max(8_000).describe('"METHOD /path?query"') }),
    ]),
  })
  .meta({ id: 'DecideRequest' });

export const DecisionView = z
  .object({
    effect: z.enum(['allow', 'mask', 'block', 'hold']),
    ruleIds: z.array(z.string()),
    reasons: z.array(z.string()),
    classes: z.array(z.string()),
    policyVersion: z.number(),
    mask: Json.optional(),
    approval: Json.optional(),
  })
  .meta({ id: 'Decision' });
