import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { decisionSettings, PortcullisError, sessionLifetimeSettings } from '@portcullis/kit';

/**
 * portcullis.yaml for the HTTP / Kubernetes engine. Only `resources` entries
 * with `protocol: http` or `protocol: kubernetes` are read (the other proxies
 * own the rest), plus the optional `http:` section with proxy-wide settings.
 * Secrets are never inline: a resource names the environment variable or the
 * file that holds the upstream credential; the file is read per request, so
 * rotation needs no restart.
 */
export const CredentialRef = z.union([
  z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name') }).strict(),
  z.object({ file: z.string().min(1) }).strict(),
]);
export type CredentialRef = z.infer<typeof CredentialRef>;

/** How the credential reaches the upstream: `Authorization: Bearer`, `Authorization: Basic` (credential is "user:password"), or a named header. */
export const Injection = z.union([z.literal('bearer'), z.literal('basic'), z.object({ header: z.string().regex(/^[A-Za-z0-9-]+$/, 'a header name') }).strict()]);
export type Injection = z.infer<typeof Injection>;

export const HoldSettings = z
  .object({
    /** respond: 202 with the approval id, the caller retries with `Portcullis-Approval: <id>`; wait: the request waits for the final verdict. */
    mode: z.enum(['respond', 'wait']).default('respond'),
    /** wait mode: how long the request waits; respond mode: how long a retry waits for a verdict not yet issued. */
    timeoutMs: z.number().int().positive().default(60_000),
  })
  .strict();

const TlsSettings = z.object({ verify: z.boolean().default(true), ca: z.string().min(1).optional() }).strict();

const resourceName = z.string().min(1).max(63).regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, 'lower-case letters, digits and - (it is also a DNS label for Host routing)');

export const HttpResource = z
  .object({
    name: resourceName,
    protocol: z.literal('http'),
    tags: z.array(z.string()).default([]),
    baseUrl: z.string().url().refine((u) => /^https?:\/\//.test(u), 'http or https URL'),
    tls: TlsSettings.default({ verify: true }),
    credential: CredentialRef.optional(),
    inject: Injection.default('bearer'),
    hold: HoldSettings.default({ mode: 'respond', timeoutMs: 60_000 }),
  })
  .strict();
export type HttpResource = z.infer<typeof HttpResource>;

export const KubernetesResource = z
  .object({
    name: resourceName,
    protocol: z.literal('kubernetes'),
    tags: z.array(z.string()).default([]),
    /** The API server URL (may carry a path prefix). */
    server: z.string().url().refine((u) => /^https?:\/\//.test(u), 'http or https URL'),
    /** PEM file with the cluster CA. */
    ca: z.string().min(1).optional(),
    tls: TlsSettings.default({ verify: true }),
    /** The service-account token Portcullis uses towards the API server. */
    token: CredentialRef.optional(),
    /** Mask Secret data/stringData values in every response (default true). */
    maskSecrets: z.boolean().default(true),
    hold: HoldSettings.default({ mode: 'respond', timeoutMs: 60_000 }),
  })
  .strict();
export type KubernetesResource = z.infer<typeof KubernetesResource>;

export type ProxiedResource = HttpResource | KubernetesResource;

export const HttpProxySettings = z
  .object({
    /** Host routing: `<resource>.<baseDomain>` also reaches a resource (besides `/r/<resource>/…`). */
    baseDomain: z.string().min(1).optional(),
    verdictTimeoutMs: z.number().int().positive().default(5000),
    ...decisionSettings,
    ...sessionLifetimeSettings,
    /** Request bodies above this are refused (413); they are buffered to compute the digest before judging. */
    maxRequestBodyBytes: z.number().int().positive().default(10 * 1024 * 1024),
    /** Masked responses are buffered up to this; above it the proxy answers 502 instead of passing them unmasked. */
    maxMaskedBodyBytes: z.number().int().positive().default(10 * 1024 * 1024),
    /** Request body text copied into CommandRequested (0: never; policies do not match bodies today). */
    commandBodyBytes: z.number().int().nonnegative().default(0),
    /** Bytes of response kept (masked) in OutputRecorded. */
    recordBytes: z.number().int().nonnegative().default(4096),
    maxHeaderBytes: z.number().int().positive().default(16 * 1024),
    /** PEM files of the certificate callers see: the proxy serves HTTPS (kubectl sends bearer tokens only over TLS). Absent: plain HTTP. */
    tls: z.object({ cert: z.string().min(1), key: z.string().min(1) }).strict().optional(),
  })
  .strict();
export type HttpProxySettings = z.infer<typeof HttpProxySettings>;

export interface HttpProxyConfig {
  settings: HttpProxySettings;
  resources: ProxiedResource[];
}

const OwnResource = z.discriminatedUnion('protocol', [HttpResource, KubernetesResource]);

/** Validates a parsed portcullis.yaml; relative file paths are taken relative to `baseDir`. */
export function parseHttpProxyConfig(document: unknown, baseDir = process.cwd()): HttpProxyConfig {
  const doc = (document ?? {}) as { http?: unknown; resources?: unknown };
  const issues: string[] = [];
  const settings = HttpProxySettings.safeParse(doc.http ?? {});
  if (!settings.success) issues.push(...settings.error.issues.map((i) => `  http.${i.path.join('.')}: ${i.message}`));
  const resources: ProxiedResource[] = [];
  const all = Array.isArray(doc.resources) ? doc.resources : [];
  const seen = new Set<string>();
  all.forEach((entry, index) => {
    const protocol = (entry as { protocol?: unknown } | null)?.protocol;
    if (protocol !== 'http' && protocol !== 'kubernetes') return;
    const parsed = OwnResource.safeParse(entry);
    if (!parsed.success) {
      issues.push(...parsed.error.issues.map((i) => `  resources.${index}.${i.path.join('.')}: ${i.message}`));
      return;
    }
    if (seen.has(parsed.data.name)) issues.push(`  resources.${index}.name: duplicate resource name ${parsed.data.name}`);
    seen.add(parsed.data.name);
    resources.push(parsed.data);
  });
  if (issues.length > 0) throw new PortcullisError('PCL_ERR_CONFIG', `invalid HTTP proxy configuration:\n${issues.join('\n')}`);
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  const proxySettings = settings.success ? settings.data : HttpProxySettings.parse({});
  if (proxySettings.tls) proxySettings.tls = { cert: abs(proxySettings.tls.cert), key: abs(proxySettings.tls.key) };
  for (const r of resources) {
    if (r.tls.ca) r.tls.ca = abs(r.tls.ca);
    if (r.protocol === 'kubernetes') {
      if (r.ca) r.ca = abs(r.ca);
      if (r.token && 'file' in r.token) r.token = { file: abs(r.token.file) };
    } else if (r.credential && 'file' in r.credential) r.credential = { file: abs(r.credential.file) };
  }
  return { settings: proxySettings, resources };
}

export function loadHttpProxyConfig(path: string): HttpProxyConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PortcullisError('PCL_ERR_CONFIG', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseHttpProxyConfig(parseYaml(text), dirname(path));
}
