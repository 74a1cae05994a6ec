import { z } from 'zod';

/**
 * Every proxy's decision settings (the `postgres:`, `ssh:` and `http:`
 * sections of portcullis.yaml take the same two keys):
 *   decision           edge (default): the proxy decides each command itself and records it with its
 *                      verdict before running it; remote: the PDP decides over Kafka, for deployments
 *                      that must not hand policies to proxies.
 *   policyStalenessMs  edge: how long the proxy's policy state may go without reading the policies
 *                      topic before it refuses every command (fail closed, with that reason).
 */
export const decisionSettings = {
  decision: z.enum(['edge', 'remote']).default('edge'),
  policyStalenessMs: z.number().int().positive().default(10_000),
};

/**
 * Every proxy's session lifetime settings (same keys in `postgres:`, `ssh:` and `http:`):
 *   tokenGraceMs  a session ends this long after the token it was opened with expires (PostgreSQL and
 *                 SSH cannot refresh a token in-band; each HTTP request carries its own)
 *   drainGraceMs  on SIGTERM, how long running commands may take to finish before every session is
 *                 ended with the shutdown reason
 */
export const sessionLifetimeSettings = {
  tokenGraceMs: z.number().int().nonnegative().default(0),
  drainGraceMs: z.number().int().nonnegative().default(10_000),
};
