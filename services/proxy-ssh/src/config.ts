import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { decisionSettings, sessionLifetimeSettings } from '@portcullis/kit';

/**
 * The SSH engine's part of portcullis.yaml: the `resources` entries with
 * `protocol: ssh` (other engines own the other entries of the same list) and
 * an optional `ssh:` section with engine settings. Secrets are never inline:
 * a resource names the environment variable or the file that holds the
 * target's private key (OpenSSH/PEM) or password; it is read at each connect.
 */
const Credential = z.union([
  z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'), kind: z.enum(['privateKey', 'password']).optional() }).strict(),
  z.object({ file: z.string().min(1), kind: z.enum(['privateKey', 'password']).optional() }).strict(),
]);
export type Credential = z.infer<typeof Credential>;

/** OpenSSH's fingerprint notation: `SHA256:` + unpadded base64 of sha256(host key blob). */
const Fingerprint = z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'an OpenSSH SHA256 fingerprint (ssh-keygen -lf): SHA256:<43 base64 characters>');

export const SshTarget = z
  .object({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(22),
    /** The login used when the caller names only the resource. */
    user: z.string().min(1),
    hostKeyFingerprint: Fingerprint,
    /** Users a caller may ask for as `<user>@<resource>`; default: only `user`. `*` allows any. */
    allowedUsers: z.array(z.string().min(1)).optional(),
  })
  .strict();
export type SshTarget = z.infer<typeof SshTarget>;

export const SshResource = z
  .object({
    name: z.string().min(1).max(63).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . -'),
    protocol: z.literal('ssh'),
    tags: z.array(z.string()).default([]),
    target: SshTarget,
    credential: Credential,
  })
  .strict();
export type SshResource = z.infer<typeof SshResource>;

export const SshSettings = z
  .object({
    verdictTimeoutMs: z.number().int().positive().default(5000),
    ...decisionSettings,
    ...sessionLifetimeSettings,
    /** How long a held command waits for its approval before it fails. */
    holdTimeoutMs: z.number().int().positive().default(15 * 60_000),
    connectTimeoutMs: z.number().int().positive().default(10_000),
    /** Interactive shells (pty + shell) are line-judged best effort; false refuses them so only exec runs. */
    interactive: z.boolean().default(true),
    recording: z
      .object({
        /** Also record what the caller types (asciicast "i" events). Off by default: echo-less prompts carry passwords. */
        input: z.boolean().default(false),
        flushMs: z.number().int().positive().default(250),
        batchBytes: z.number().int().positive().default(16 * 1024),
        /** Per channel; past it the channel keeps running and the record says truncated. 0 = record nothing. */
        maxBytesPerChannel: z.number().int().nonnegative().default(1024 * 1024),
      })
      .strict()
      .default({ input: false, flushMs: 250, batchBytes: 16 * 1024, maxBytesPerChannel: 1024 * 1024 }),
    /** How long a public key registered through POST /keys stays valid. */
    keyTtlSeconds: z.number().int().positive().default(30 * 24 * 3600),
  })
  .strict();
export type SshSettings = z.infer<typeof SshSettings>;

export interface SshProxyConfig extends SshSettings {
  resources: SshResource[];
}
export type SshProxyConfigInput = { resources: unknown[] } & Partial<z.input<typeof SshSettings>>;

/** Validates a parsed portcullis.yaml document; relative credential files are taken relative to `baseDir`. */
export function parseSshProxyConfig(document: unknown, baseDir = process.cwd()): SshProxyConfig {
  const doc = (document && typeof document === 'object' ? document : {}) as Record<string, unknown>;
  const issues: string[] = [];
  const settings = SshSettings.safeParse(doc.ssh ?? {});
  if (!settings.success) for (const i of settings.error.issues) issues.push(`  ssh.${i.path.join('.')}: ${i.message}`);
  const entries = Array.isArray(doc.resources) ? doc.resources : [];
  const resources: SshResource[] = [];
  const seen = new Set<string>();
  entries.forEach((entry, index) => {
    if (!entry || typeof entry !== 'object' || (entry as { protocol?: unknown }).protocol !== 'ssh') return;
    const parsed = SshResource.safeParse(entry);
    if (!parsed.success) {
      for (const i of parsed.error.issues) issues.push(`  resources.${index}.${i.path.join('.')}: ${i.message}`);
      return;
    }
    if (seen.has(parsed.data.name)) issues.push(`  resources.${index}.name: duplicate resource name ${parsed.data.name}`);
    seen.add(parsed.data.name);
    const r = parsed.data;
    if ('file' in r.credential && !isAbsolute(r.credential.file)) r.credential = { ...r.credential, file: resolve(baseDir, r.credential.file) };
    resources.push(r);
  });
  if (issues.length > 0) throw new Error(`invalid SSH proxy configuration:\n${issues.join('\n')}`);
  return { ...settings.data!, resources };
}

export function loadSshProxyConfig(path: string): SshProxyConfig {
  const document = parseYaml(readFileSync(path, 'utf8')) as unknown;
  return parseSshProxyConfig(document, dirname(resolve(path)));
}

export type TargetSecret = { privateKey: string } | { password: string };

/** The target credential, read when the proxy connects; errors never contain the secret. */
export function readCredential(resource: SshResource): TargetSecret {
  const c = resource.credential;
  let value: string;
  if ('env' in c) {
    const v = process.env[c.env];
    if (v === undefined || v === '') throw new Error(`credential for resource ${resource.name}: environment variable ${c.env} is not set`);
    value = v;
  } else {
    try {
      value = readFileSync(c.file, 'utf8');
    } catch (err) {
      throw new Error(`credential for resource ${resource.name}: cannot read ${c.file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  const kind = c.kind ?? (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(value) ? 'privateKey' : 'password');
  return kind === 'privateKey' ? { privateKey: value } : { password: value.replace(/\r?\n$/, '') };
}

/** `<target-user>@<resource>` or `<resource>`: splits on the last `@` (user names may not contain one; resource names cannot). */
export function parseLogin(login: string, resources: readonly SshResource[]): { resource: SshResource; targetUser: string } | { error: string } {
  const at = login.lastIndexOf('@');
  const name = at >= 0 ? login.slice(at + 1) : login;
  const resource = resources.find((r) => r.name === name);
  if (!resource) return { error: `unknown resource "${name.slice(0, 63)}"` };
  const targetUser = at >= 0 ? login.slice(0, at) : resource.target.user;
  if (targetUser === '') return { error: 'empty target user' };
  const allowed = resource.target.allowedUsers ?? [resource.target.user];
  if (!allowed.includes('*') && !allowed.includes(targetUser)) return { error: `user "${targetUser.slice(0, 32)}" is not offered on ${resource.name}` };
  return { resource, targetUser };
}
