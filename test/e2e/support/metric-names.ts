/**
 * Metric names on both sides of the dashboard check: the families a
 * Prometheus scrape declares (its `# TYPE` lines) and the portcullis_* names
 * the Grafana dashboard's queries use (a histogram's _bucket/_count/_sum
 * series belong to its family).
 */
const SERIES_SUFFIXES = ['_bucket', '_count', '_sum'];
const NAME_CHARACTERS = /[A-Za-z0-9_:]/;

export function scrapedFamilies(exposition: string): string[] {
  return exposition.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]!);
}

/** The family a series name in a query belongs to. */
export function familyOf(series: string, families: ReadonlySet<string>): string {
  if (families.has(series)) return series;
  const suffix = SERIES_SUFFIXES.find((s) => series.endsWith(s));
  return suffix ? series.slice(0, -suffix.length) : series;
}

/** Every portcullis_* identifier in the dashboard's PromQL expressions, as family names, sorted and unique. */
export function dashboardMetricNames(dashboard: { panels?: { targets?: { expr?: string }[] }[] }, families: ReadonlySet<string> = new Set()): string[] {
  const names = new Set<string>();
  for (const panel of dashboard.panels ?? []) {
    for (const target of panel.targets ?? []) {
      for (const identifier of identifiers(target.expr ?? '')) {
        if (identifier.startsWith('portcullis_')) names.add(familyOf(identifier, families));
      }
    }
  }
  return [...names].sort();
}

/** Splits an expression into runs of identifier characters (label values in quotes are skipped). */
function identifiers(expr: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of expr) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && NAME_CHARACTERS.test(ch)) {
      current += ch;
      continue;
    }
    if (current) out.push(current);
    current = '';
  }
  if (current) out.push(current);
  return out;
}
