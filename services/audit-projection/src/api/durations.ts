import { PortcullisError } from '@portcullis/kit';

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "30d", "12h", "90m" → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)([smhdw])$/.exec(text.trim());
  if (!m) throw new PortcullisError('PCL_ERR_VALIDATION', `"${text.slice(0, 40)}" is not a duration; use a number and a unit: 30d, 12h, 90m`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

/** An ISO timestamp as given, or now minus a duration. */
export function pointInTime(text: string, now = Date.now()): string {
  if (/^\d+[smhdw]$/.test(text.trim())) return new Date(now - parseDuration(text)).toISOString();
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new PortcullisError('PCL_ERR_VALIDATION', `"${text.slice(0, 40)}" is neither a timestamp nor a duration like 30d`);
  return new Date(t).toISOString();
}
