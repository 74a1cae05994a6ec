/**
 * The documents the HTTP benchmarks serve and mask, shared by bench:http's upstream
 * and bench:mask so both measure the same bytes.
 */

/** A JSON list of `count` customer records with e-mail addresses, phones and card numbers (≈ 200 KB for 1,000). */
export function customersDocument(count = 1000): string {
  return JSON.stringify({
    items: Array.from({ length: count }, (_, i) => ({
      id: i,
      name: `Customer ${i}`,
      email: `customer${i}@example.com`,
      phone: `+1 415 555 ${String(1000 + (i % 9000)).padStart(4, '0')}`,
      billing: { card_number: '4111111111111111', country: 'US' },
      notes: 'regular customer, prefers e-mail',
    })),
  });
}

/** The mask bench:http's policy gives the service identity for /customers. */
export const CUSTOMERS_MASK = { fields: ['email', 'billing.card_number'], detectors: ['email', 'card', 'phone'] } as const;

/** One line of a Kubernetes watch stream of pods. */
export function podEvent(i: number): string {
  return `${JSON.stringify({ type: 'MODIFIED', object: { kind: 'Pod', apiVersion: 'v1', metadata: { name: `web-${i}`, namespace: 'default', resourceVersion: String(i), labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.25' }] }, status: { phase: 'Running', podIP: '10.0.0.1' } } })}\n`;
}
