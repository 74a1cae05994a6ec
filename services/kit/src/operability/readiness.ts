/**
 * Readiness: a service is ready when every dependency it needs to do its
 * work is usable now (Kafka producer and consumers, the policy state, the
 * schema registry, its target catalog). Each check says why it is not.
 */
export interface ReadinessCheck {
  name: string;
  /** Resolves when usable; throws (or rejects) with the reason when not. */
  check(): Promise<void> | void;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  /** Why not, when not ok. */
  detail?: string;
}

export interface ReadinessReport {
  ready: boolean;
  checks: CheckResult[];
}

/** Ready only when there is at least one check and all pass (a service that checks nothing is not known to be ready). */
export function readinessReport(results: readonly CheckResult[]): ReadinessReport {
  return { ready: results.length > 0 && results.every((r) => r.ok), checks: [...results] };
}

/** Runs every check at once, each bounded by `timeoutMs` (a hung dependency is not ready). */
export async function runChecks(checks: readonly ReadinessCheck[], timeoutMs: number): Promise<CheckResult[]> {
  return Promise.all(checks.map(async ({ name, check }) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.resolve().then(check),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      return { name, ok: true };
    } catch (err) {
      return { name, ok: false, detail: err instanceof Error ? err.message : String(err) };
    } finally {
      clearTimeout(timer);
    }
  }));
}
