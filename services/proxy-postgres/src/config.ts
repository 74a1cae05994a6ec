import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CredentialRef, engineSettings, PortcullisError, resourceFields, type EngineSchema } from '@portcullis/kit';

/**
 * portcullis.yaml for the PostgreSQL engine: kit's shared schema
 * (portcullis-yaml.ts: resource name/protocol/tags, credential references,
 * judge settings) extended with PostgreSQL's target fields and the
 * `postgres:` section. Secrets are never inline: a resource names the
 * environment variable or the file that holds the target password, and the
 * file is read at each connect (rotation works).
 */
const Credential = CredentialRef;
export type Credential = CredentialRef;

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
    ...resourceFields('postgres'),
    target: PostgresTarget,
    credential: Credential,
  })
  .strict();
export type PostgresResource = z.infer<typeof PostgresResource>;

/** The `postgres:` section of portcullis.yaml. */
export const PostgresSettings = z
  .object({
    listen: z.object({ host: z.string().default('127.0.0.1'), port: z.number().int().min(0).max(65535).default(6432) }).strict().default({ host: '127.0.0.1', port: 6432 }),
    /** PEM files of the certificate callers see; absent: a self-signed one is generated at start (development). */
    tls: z.object({ cert: z.string().min(1), key: z.string().min(1) }).strict().optional(),
    /** Accept a token over a plain TCP connection from 127.0.0.1/::1 (development only). */
    allowCleartextOnLoopback: z.boolean().default(false),
    ...engineSettings,
    /** How long a held statement waits for its approval before it fails. */
    holdTimeoutMs: z.number().int().positive().default(15 * 60_000),
    recording: z
      .object({ maxRows: z.number().int().nonnegative().default(1000), maxBytes: z.number().int().nonnegative().default(1_048_576) })
      .strict()
      .default({ maxRows: 1000, maxBytes: 1_048_576 }),
  })
  .strict();

/** This engine's part of the whole document (kit's portcullisDocumentSchema). */
export const postgresEngine: EngineSchema = { section: 'postgres', resources: [PostgresResource], settings: PostgresSettings };

export const ProxyConfig = PostgresSettings
  .extend({ resources: z.array(PostgresResource).min(1) })
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
    throw new PortcullisError('PCL_ERR_CONFIG', `invalid proxy configuration:\n${lines.join('\n')}`);
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
