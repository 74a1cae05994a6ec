/**
 * The gateway's resources as portcullis.yaml lists them — name, kind and
 * tags only (never a target address or credential) — for answers about
 * resources that are not one proxy's own (the query API's GET /resources).
 * Each proxy still validates its own entries strictly; here an entry
 * without a name or with an unknown protocol is left out.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { ResourceRef } from '@portcullis/schemas';
import { PortcullisError } from './errors.ts';

const KINDS = new Set(['postgres', 'ssh', 'http', 'kubernetes']);

export function resourceCatalogue(document: unknown): ResourceRef[] {
  const doc = (document ?? {}) as { resources?: unknown; postgres?: { resources?: unknown } };
  const entries = [doc.resources, doc.postgres?.resources].flatMap((list) => (Array.isArray(list) ? list : []));
  const seen = new Set<string>();
  const catalogue: ResourceRef[] = [];
  for (const entry of entries as { name?: unknown; protocol?: unknown; tags?: unknown }[]) {
    if (typeof entry?.name !== 'string' || !entry.name || typeof entry.protocol !== 'string' || !KINDS.has(entry.protocol) || seen.has(entry.name)) continue;
    seen.add(entry.name);
    const tags = Array.isArray(entry.tags) ? entry.tags.filter((t): t is string => typeof t === 'string') : [];
    catalogue.push({ name: entry.name, kind: entry.protocol as ResourceRef['kind'], tags });
  }
  return catalogue;
}

export function loadResourceCatalogue(file: string): ResourceRef[] {
  try {
    return resourceCatalogue(parse(readFileSync(file, 'utf8')));
  } catch (err) {
    throw new PortcullisError('PCL_ERR_CONFIG', `cannot read the resources of ${file}: ${(err as Error).message}`, { cause: err });
  }
}
