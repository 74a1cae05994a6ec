/**
 * The demo shop's records: the same customers in the PostgreSQL demo database
 * (seed.ts) and behind the demo HTTP API (shop-api.ts), so masking looks the
 * same whichever way the agent asks. Invented people, test card numbers.
 */
export interface DemoCustomer {
  name: string;
  email: string;
  cardNumber: string;
  phone: string;
  country: string;
}

export const demoCustomers: readonly DemoCustomer[] = [
  { name: 'Jane Roe', email: 'jane.roe@example.com', cardNumber: '4111 1111 1111 1111', phone: '+1 415 555 0132', country: 'US' },
  { name: 'John Doe', email: 'john.doe@example.org', cardNumber: '5500 0000 0000 0004', phone: '+44 20 7946 0958', country: 'GB' },
  { name: 'Ana Lima', email: 'ana.lima@example.net', cardNumber: '3400 0000 0000 009', phone: '+55 11 91234 5678', country: 'BR' },
  { name: 'Wei Zhang', email: 'wei.zhang@example.com', cardNumber: '6011 0000 0000 0004', phone: '+86 10 6552 9988', country: 'CN' },
  { name: 'Olu Ade', email: 'olu.ade@example.org', cardNumber: '4012 8888 8888 1881', phone: '+234 1 270 0000', country: 'NG' },
];

/** Every customer has these two orders. */
export const demoOrdersPerCustomer: readonly { status: string; total: string }[] = [
  { status: 'placed', total: '42.50' },
  { status: 'shipped', total: '19.99' },
];
