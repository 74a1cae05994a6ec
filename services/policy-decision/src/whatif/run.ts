/** What-if over the recorded history: the log read through the comparison. */
import type { Bus } from '@portcullis/kit';
import type { PolicyState } from '../policy/state.ts';
import { createWhatIf, type WhatIfFilter } from './compare.ts';
import { readHistory } from './history.ts';
import type { WhatIfReport } from './report.ts';

export interface WhatIfRun {
  report: WhatIfReport;
  /** Where the history came from: always the log, which is complete and never behind. */
  source: 'log';
  since?: string;
  until?: string;
}

export async function runWhatIf({ bus, draft, filter = {}, onProgress }: {
  bus: Bus;
  draft: PolicyState;
  filter?: WhatIfFilter;
  onProgress?: (read: number, total: number) => void;
}): Promise<WhatIfRun> {
  const whatIf = createWhatIf({ draft, filter });
  await readHistory(bus, filter.since === undefined ? {} : { since: filter.since }, {
    onCommand: (c) => whatIf.onCommand(c),
    onVerdict: (v) => whatIf.onVerdict(v),
    ...(onProgress ? { onProgress } : {}),
  });
  return { report: whatIf.finish(), source: 'log', ...(filter.since ? { since: filter.since } : {}), ...(filter.until ? { until: filter.until } : {}) };
}
