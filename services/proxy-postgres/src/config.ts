import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { decisionSettings, sessionLifetimeSettings } from '@portcullis/kit';

/**
 * portcullis.yaml for the PostgreSQL engine. Secrets are never inline: a
 * resource names the environment variable or the file that holds the
 * target password, and the file is read at each connect (rotation works).
 */
const Credential = z.union([
  z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name') }).strict(),
  z.object({ file: z.string().min(1) }).strict(),
]);
export type Credential = z.infer<typeof Credential>;

export const PostgresTarget = z
  .object({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(5432),
    database: z.string().min(1),
    user: z.string().min(1),
    tls: z.enum(['disable', 'require', 'verify-full']).default('verify-full'),
    /** PEM file with the CA that signs the target's certificate (verify-full). */
    ca: z.string().optional(),
  })
  .strict();
export type PostgresTarget = z.infer<typeof PostgresTarget>;

export const PostgresResource = z
  .object({
    name: z.string().min(1).max(63).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . -'),
    protocol: z.literal('postgres'),
    tags: z.array(z.string()).default([]),
    target: PostgresTarget,
    credential: Credential,
  })
  .strict();
export type PostgresResource = z.infer<typeof PostgresResource>;

export const ProxyConfig = z
  .object({
    listen: z.object({ host: z.string().default('127.0.0.1'), port: z.number().int().min(0).max(65535).default(6432) }).strict().default({ host: '127.0.0.1', port: 6432 }),
    /** PEM files of the certificate callers see; absent: a self-signed one is generated at start (development). */
    tls: z.object({ cert: z.string().min(1), key: z.string().min(1) }).strict().optional(),
    /** Accept a token over a plain TCP connection from 127.0.0.1/::1 (development only). */
    allowCleartextOnLoopback: z.boolean().default(false),
    verdictTimeoutMs: z.number().int().positive().default(5000),
    ...decisionSettings,
    ...sessionLifetimeSettings,
    /** How long a held statement waits for its approval before it fails. */
    holdTimeoutMs: z.number().int().positive().default(15 * 60_000),
    recording: z
      .object({ maxRows: z.number().int().nonnegative().default(1000), maxBytes: z.number().int().nonnegative().default(1_048_576) })
      .strict()
      .default({ maxRows: 1000, maxBytes: 1_048_576 }),
    resources: z.array(PostgresResource).min(1),
  })
  .strict()
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    for (const [i, r] of config.resources.entries()) {
      if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: ['resources', i, 'name'], message: `duplicate resource name ${r.name}` });
      seen.add(r.name);
    }
  });
export type ProxyConfig = z.infer<typeof ProxyConfig>;
export type ProxyConfigInput = z.input<typeof ProxyConfig>;

/** Validates a parsed document; relative file paths are taken relative to `baseDir`. */
export function parseProxyConfig(document: unknown, baseDir = process.cwd()): ProxyConfig {
  const result = ProxyConfig.safeParse(document);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid proxy configuration:\n${lines.join('\n')}`);
  }
  const config = result.data;
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  if (config.tls) config.tls = { cert: abs(config.tls.cert), key: abs(config.tls.key) };
  for (const r of config.resources) {
    if (r.target.ca) r.target.ca = abs(r.target.ca);
    if ('file' in r.credential) r.credential = { file: abs(r.credential.file) };
  }
  return config;
}

/**
 * Reads and validates portcullis.yaml. One file serves every proxy: the
 * `resources` list holds entries of every protocol (this engine takes those
 * with `protocol: postgres`), and the `postgres` section holds this engine's
 * own settings (listen, tls, timeouts, recording).
 */
export function loadProxyConfig(path: string): ProxyConfig {
  const document = (parseYaml(readFileSync(path, 'utf8')) ?? {}) as Record<string, unknown>;
  return parseProxyConfig(postgresSectionOf(document), dirname(resolve(path)));
}

export function postgresSectionOf(document: Record<string, unknown>): Record<string, unknown> {
  const section = (typeof document.postgres === 'object' && document.postgres !== null ? document.postgres : {}) as Record<string, unknown>;
  const shared = Array.isArray(document.resources) ? document.resources : [];
  const own = Array.isArray(section.resources) ? section.resources : [];
  const resources = [...shared, ...own].filter((r) => typeof r === 'object' && r !== null && (r as { protocol?: unknown }).protocol === 'postgres');
  return { ...section, resources };
}

/** The target password, read when the proxy connects; the error never contains the secret. */
export function readCredential(resource: PostgresResource): string {
  const c = resource.credential;
  if ('env' in c) {
    const value = process.env[c.env];
    if (value === undefined || value === '') throw new Error(`credential for resource ${resource.name}: environment variable ${c.env} is not set`);
    return value;
  }
  try {
    return readFileSync(c.file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new Error(`credential for resource ${resource.name}: cannot read ${c.file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}
