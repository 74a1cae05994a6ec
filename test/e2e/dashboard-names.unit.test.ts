/** The names the dashboard check compares: families in a scrape, metrics in PromQL. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dashboardMetricNames, scrapedFamilies } from './support/metric-names.ts';

test('given a scrape, when its families are read, then they come from the # TYPE lines', () => {
  const scrape = '# HELP portcullis_decision_seconds x\n# TYPE portcullis_decision_seconds histogram\nportcullis_decision_seconds_bucket{le="0.1"} 1\n# TYPE portcullis_commands_total counter\n';
  assert.deepEqual(scrapedFamilies(scrape), ['portcullis_decision_seconds', 'portcullis_commands_total']);
});

test('given dashboard queries, when their metrics are read, then histogram series map to their family and label values are skipped', () => {
  const dashboard = { panels: [
    { targets: [{ expr: 'histogram_quantile(0.99, sum by (le) (rate(portcullis_decision_seconds_bucket[5m])))' }] },
    { targets: [{ expr: 'sum by (effect) (rate(portcullis_commands_total{effect="portcullis_not_a_metric"}[5m]))' }, { expr: 'up' }] },
    {},
  ] };
  assert.deepEqual(dashboardMetricNames(dashboard), ['portcullis_commands_total', 'portcullis_decision_seconds']);
});
