import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { decisionSettings } from '@portcullis/kit';
import { parseProxyConfig, postgresSectionOf, type PostgresResource } from '@portcullis/proxy-postgres';
import { parseSshProxyConfig, type SshResource } from '@portcullis/proxy-ssh';
import { parseHttpProxyConfig, type ProxiedResource } from '@portcullis/proxy-http';
import { McpServiceError } from './errors.ts';

/**
 * portcullis.yaml for the MCP service: the `mcp:` section, every PostgreSQL,
 * SSH and HTTP/Kubernetes resource (parsed by the proxies' own parsers, so a
 * resource means the same to both) and the `protocol: mcp` resources, which
 * name upstream MCP servers for the MCP gateway. Credentials are referenced,
 * never inline.
 */
const CredentialRef = z.union([
  z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name') }).strict(),
  z.object({ file: z.string().min(1) }).strict(),
]);
export type CredentialRef = z.infer<typeof CredentialRef>;

export const McpUpstreamResource = z
  .object({
    name: z.string().min(1).max(63).regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, 'lower-case letters, digits and -'),
    protocol: z.literal('mcp'),
    tags: z.array(z.string()).default([]),
    /** Streamable HTTP: the upstream's MCP endpoint. */
    url: z.string().url().refine((u) => /^https?:\/\//.test(u), 'http or https URL').optional(),
    /** stdio: the command the gateway starts (argv; no shell). */
    command: z.array(z.string().min(1)).min(1).optional(),
    /** stdio: the started process's working directory. */
    cwd: z.string().min(1).optional(),
    /** stdio: environment variables of the started process, credentials by reference. */
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), CredentialRef).default({}),
    /** Streamable HTTP: the credential the gateway sends upstream (callers never see it). */
    credential: CredentialRef.optional(),
    inject: z.union([z.literal('bearer'), z.object({ header: z.string().regex(/^[A-Za-z0-9-]+$/) }).strict()]).default('bearer'),
  })
  .strict()
  .refine((r) => (r.url === undefined) !== (r.command === undefined), 'an mcp resource names either url (Streamable HTTP) or command (stdio)');
export type McpUpstreamResource = z.infer<typeof McpUpstreamResource>;

export const McpSettings = z
  .object({
    /** The URL callers reach this service at (the protected resource's identifier); default http://<host>:<port>. */
    publicUrl: z.string().url().optional(),
    verdictTimeoutMs: z.number().int().positive().default(5000),
    ...decisionSettings,
    /** The longest one wait_for_approval call waits (callers call again after it). */
    maxApprovalWaitMs: z.number().int().positive().default(120_000),
    /** Tool results above this are cut, with an explicit truncation marker. */
    maxResultBytes: z.number().int().positive().default(64 * 1024),
    /** Rows a query returns at most (the rest is counted, not shown). */
    maxRows: z.number().int().positive().default(500),
    /** How long connecting to a target may take. */
    connectTimeoutMs: z.number().int().positive().default(10_000),
    /** How long a command may run on its target. */
    commandTimeoutMs: z.number().int().positive().default(60_000),
    /** Bytes of each result kept (masked) in OutputRecorded. */
    recordBytes: z.number().int().nonnegative().default(4096),
    /**
     * Browser origins allowed to call the MCP endpoints (DNS-rebinding defence, as the MCP transport
     * asks); a request with any other Origin header is refused. Clients outside browsers send none.
     */
    allowedOrigins: z.array(z.string().url()).default([]),
  })
  .strict();
export type McpSettings = z.infer<typeof McpSettings>;

export interface McpServiceConfig {
  settings: McpSettings;
  postgres: PostgresResource[];
  ssh: SshResource[];
  http: ProxiedResource[];
  upstreams: McpUpstreamResource[];
}

const has = (resources: unknown[], protocol: string): boolean => resources.some((r) => (r as { protocol?: unknown } | null)?.protocol === protocol);

/** Validates a parsed portcullis.yaml; relative file paths are taken relative to `baseDir`. */
export function parseMcpServiceConfig(document: unknown, baseDir = process.cwd()): McpServiceConfig {
  const doc = (document ?? {}) as Record<string, unknown>;
  const resources = Array.isArray(doc.resources) ? (doc.resources as unknown[]) : [];
  const issues: string[] = [];
  const settings = McpSettings.safeParse(doc.mcp ?? {});
  if (!settings.success) issues.push(...settings.error.issues.map((i) => `  mcp.${i.path.join('.')}: ${i.message}`));
  const upstreams: McpUpstreamResource[] = [];
  resources.forEach((entry, index) => {
    if ((entry as { protocol?: unknown } | null)?.protocol !== 'mcp') return;
    const parsed = McpUpstreamResource.safeParse(entry);
    if (!parsed.success) issues.push(...parsed.error.issues.map((i) => `  resources.${index}.${i.path.join('.')}: ${i.message}`));
    else upstreams.push(parsed.data);
  });
  const guard = <T>(what: string, parse: () => T): T | undefined => {
    try {
      return parse();
    } catch (err) {
      issues.push(`  ${what}: ${(err as Error).message}`);
      return undefined;
    }
  };
  const postgres = has(resources, 'postgres') ? guard('postgres resources', () => parseProxyConfig(postgresSectionOf(doc), baseDir).resources) : [];
  const ssh = has(resources, 'ssh') ? guard('ssh resources', () => parseSshProxyConfig({ resources: resources.filter((r) => (r as { protocol?: unknown }).protocol === 'ssh') }, baseDir).resources) : [];
  const http = guard('http resources', () => parseHttpProxyConfig({ resources }, baseDir).resources);
  const names = new Set<string>();
  for (const r of [...(postgres ?? []), ...(ssh ?? []), ...(http ?? []), ...upstreams]) {
    if (names.has(r.name)) issues.push(`  resources: duplicate resource name ${r.name}`);
    names.add(r.name);
  }
  if (issues.length > 0) throw new McpServiceError('PCL_ERR_CONFIG', `invalid MCP service configuration:\n${issues.join('\n')}`);
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  const ref = (c: CredentialRef): CredentialRef => ('file' in c ? { file: abs(c.file) } : c);
  for (const u of upstreams) {
    if (u.credential) u.credential = ref(u.credential);
    u.env = Object.fromEntries(Object.entries(u.env).map(([k, v]) => [k, ref(v)]));
    if (u.cwd) u.cwd = abs(u.cwd);
  }
  return { settings: settings.success ? settings.data : McpSettings.parse({}), postgres: postgres ?? [], ssh: ssh ?? [], http: http ?? [], upstreams };
}

export function loadMcpServiceConfig(path: string): McpServiceConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new McpServiceError('PCL_ERR_CONFIG', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseMcpServiceConfig(parseYaml(text), dirname(resolve(path)));
}

/** A referenced secret, read when it is used (rotation needs no restart); the error never contains it. */
export function readSecret(ref: CredentialRef, what: string, env: NodeJS.ProcessEnv = process.env): string {
  if ('env' in ref) {
    const value = env[ref.env];
    if (value === undefined || value === '') throw new McpServiceError('PCL_ERR_CONFIG', `${what}: environment variable ${ref.env} is not set`);
    return value;
  }
  try {
    return readFileSync(ref.file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new McpServiceError('PCL_ERR_CONFIG', `${what}: cannot read ${ref.file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}
