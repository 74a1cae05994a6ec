/**
 * The identity inventory: every identity ever seen, with the resources it used
 * and its commands counted by effect; and the over-privilege heuristic
 * (docs/projections.md#overprivileged).
 */
import type { PolicyState } from '@portcullis/policy-decision';
import type { Pool } from '@portcullis/kit';
import { pointInTime, parseDuration } from './durations.ts';
import { Where } from './queries.ts';

export interface IdentityFilter {
  kind?: string;
  issuer?: string;
  dormantSince?: string;
  resource?: string;
  limit: number;
}

export async function listIdentities(pool: Pool, schema: string, f: IdentityFilter) {
  const w = new Where()
    .add((p) => `i.kind = ${p}`, f.kind)
    .add((p) => `i.issuer = ${p}`, f.issuer)
    .add((p) => `i.last_seen < ${p}::timestamptz`, f.dormantSince ? pointInTime(f.dormantSince) : undefined)
    .add((p) => `(EXISTS (SELECT 1 FROM ${schema}.commands c WHERE c.identity_issuer = i.issuer AND c.identity_subject = i.subject AND c.resource = ${p})
               OR EXISTS (SELECT 1 FROM ${schema}.sessions s WHERE s.identity_issuer = i.issuer AND s.identity_subject = i.subject AND s.resource = ${p}))`, f.resource);
  const { rows } = await pool.query(
    `SELECT i.subject, i.issuer, i.kind, i.groups, i.name, i.first_seen, i.last_seen,
       ARRAY(SELECT DISTINCT r FROM (
         SELECT c.resource AS r FROM ${schema}.commands c WHERE c.identity_issuer = i.issuer AND c.identity_subject = i.subject AND c.resource IS NOT NULL
         UNION SELECT s.resource FROM ${schema}.sessions s WHERE s.identity_issuer = i.issuer AND s.identity_subject = i.subject AND s.resource IS NOT NULL) x ORDER BY r) AS resources,
       (SELECT coalesce(jsonb_object_agg(e, n), '{}'::jsonb) FROM (
         SELECT coalesce(c.effect, 'none') AS e, count(*) AS n FROM ${schema}.commands c
          WHERE c.identity_issuer = i.issuer AND c.identity_subject = i.subject GROUP BY 1) counts) AS command_counts
     FROM ${schema}.identities i ${w} ORDER BY i.last_seen DESC, i.issuer, i.subject LIMIT ${Math.trunc(f.limit)}`,
    w.params,
  );
  return rows.map((r) => ({
    subject: r.subject, issuer: r.issuer, kind: r.kind, groups: r.groups, name: r.name, firstSeen: r.first_seen, lastSeen: r.last_seen,
    resources: r.resources, commandCounts: r.command_counts,
  }));
}

/** The statement classes a policy can name (policy-decision's SqlClassName; that package exports no list). */
const ALL_SQL_CLASSES: readonly string[] = [
  'read', 'write', 'ddl', 'dcl', 'unbounded-write', 'session-change', 'session-setting', 'file-access', 'admin-function', 'remote-execution',
  'dynamic-sql', 'non-literal-dynamic-sql', 'routine-call', 'transaction', 'prepare', 'utility',
];

/**
 * SQL statement classes the policy's allow rules admit for this identity:
 * every allow rule whose identity conditions match and that can apply to
 * PostgreSQL contributes its `sql.classes`, or every class when it names none.
 */
export function admittedClasses(state: PolicyState, identity: { subject: string; issuer: string; kind: string; groups: string[] }): { classes: Set<string>; rules: string[] } {
  const classes = new Set<string>();
  const rules: string[] = [];
  for (const rule of state.policy?.rules ?? []) {
    if (rule.effect !== 'allow') continue;
    const id = rule.identity;
    if (id.subjects && !id.subjects(identity.subject)) continue;
    if (id.kinds && !id.kinds.includes(identity.kind)) continue;
    if (id.issuer && !id.issuer(identity.issuer)) continue;
    if (id.groups && !identity.groups.some((g) => id.groups!(g))) continue;
    if (rule.protocols && !rule.protocols.includes('postgres')) continue;
    if (!rule.sql && (rule.shell || rule.http)) continue;
    rules.push(rule.id);
    for (const c of rule.sql?.classes ?? ALL_SQL_CLASSES) classes.add(c);
  }
  return { classes, rules };
}

export async function overprivileged(pool: Pool, schema: string, state: PolicyState, window: string, ratio: number) {
  const since = new Date(Date.now() - parseDuration(window)).toISOString();
  const { rows } = await pool.query(
    `SELECT i.subject, i.issuer, i.kind, i.groups,
       ARRAY(SELECT DISTINCT cls FROM ${schema}.commands c, unnest(c.classes) cls
              WHERE c.identity_issuer = i.issuer AND c.identity_subject = i.subject AND c.effect IN ('allow', 'mask') AND c.at >= $1::timestamptz
              ORDER BY cls) AS used
     FROM ${schema}.identities i WHERE i.last_seen >= $1::timestamptz ORDER BY i.issuer, i.subject`,
    [since],
  );
  const items = [];
  for (const r of rows) {
    const { classes, rules } = admittedClasses(state, r);
    if (classes.size === 0) continue;
    const used = (r.used as string[]).filter((c) => classes.has(c));
    const usage = used.length / classes.size;
    if (usage > ratio) continue;
    const admitted = [...classes].sort();
    items.push({
      subject: r.subject, issuer: r.issuer, kind: r.kind, groups: r.groups, usedClasses: used, admittedClasses: admitted,
      unusedClasses: admitted.filter((c) => !used.includes(c)), usage: Math.round(usage * 100) / 100, allowRules: rules,
    });
  }
  return items.sort((a, b) => a.usage - b.usage || a.subject.localeCompare(b.subject));
}
