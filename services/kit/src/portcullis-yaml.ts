import { z } from 'zod';
import { decisionSettings, sessionLifetimeSettings } from './gateway/settings.ts';

/**
 * portcullis.yaml, the gateway's one configuration file: a `resources` list
 * with the targets of every protocol, and one section per engine (`postgres:`,
 * `ssh:`, `http:`) with that proxy's settings. This is the part every engine
 * shares — a resource's name, protocol and tags, how a credential is
 * referenced (never inline: an environment variable or a file, read when
 * used so rotation needs no restart), the judge settings — and the composer
 * of the whole document from each engine's own resource and settings
 * schemas. Each proxy reads its part; `portcullis config validate` checks
 * the whole file against the composed schema.
 */

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const envField = { env: z.string().regex(ENV_NAME, 'an environment variable name') };
const fileField = { file: z.string().min(1) };

const CREDENTIAL_ERROR = 'a credential reference: { env: VARIABLE } or { file: path } (never the secret itself)';

/** `{ env: NAME }` or `{ file: path }`. */
export const CredentialRef = z.union([z.object(envField).strict(), z.object(fileField).strict()], { error: CREDENTIAL_ERROR });

/** kit's credential reference with an engine's extra fields (SSH: `kind`). */
export function credentialRef<E extends z.ZodRawShape>(extra: E) {
  return z.union([z.object({ ...envField, ...extra }).strict(), z.object({ ...fileField, ...extra }).strict()], { error: CREDENTIAL_ERROR });
}
export type CredentialRef = z.infer<typeof CredentialRef>;

/** A resource name: what callers connect to and policies match. */
export const resourceName = z.string().min(1).max(63).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . -');

/** The fields every resource has; an engine adds its target fields. */
export function resourceFields<P extends string>(protocol: P) {
  return {
    name: resourceName,
    protocol: z.literal(protocol),
    tags: z.array(z.string()).default([]),
  };
}

/** Settings every engine's section takes: how long a verdict may take, where commands are decided. */
export const engineSettings = {
  verdictTimeoutMs: z.number().int().positive().default(5000),
  ...decisionSettings,
  ...sessionLifetimeSettings,
};

/** One engine's part of portcullis.yaml. */
export interface EngineSchema {
  /** Its settings section (`postgres`, `ssh`, `http`). */
  section: string;
  /** Its resource entries, each with a literal `protocol`. */
  resources: readonly z.ZodObject[];
  settings: z.ZodObject;
}

/** The whole document: resources of every engine's protocols, each engine's section optional, names unique. */
export function portcullisDocumentSchema(engines: readonly EngineSchema[]) {
  const resources = engines.flatMap((e) => e.resources);
  const resource = z.discriminatedUnion('protocol', resources as unknown as [z.ZodObject, ...z.ZodObject[]]);
  const sections = Object.fromEntries(engines.map((e) => [e.section, e.settings.optional()]));
  return z
    .object({ resources: z.array(resource).min(1), ...sections })
    .strict()
    .superRefine((doc, ctx) => {
      const seen = new Set<string>();
      (doc.resources as { name: string }[]).forEach((r, i) => {
        if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: ['resources', i, 'name'], message: `duplicate resource name ${r.name}` });
        seen.add(r.name);
      });
    });
}
