import pg from 'pg';
import { postgresConnection } from '../postgres.ts';
import { DEMO_SECRETS, demoSecret, demoSecretFile } from './secrets.ts';
import { demoCustomers, demoOrdersPerCustomer } from './shop-data.ts';

/**
 * The demo target: a `shop` schema in the `demo` database with customers
 * (names, e-mails, card numbers, phone numbers) and orders, owned by the
 * login role the gateway uses. Its password is generated once and kept in
 * infra/.data/secrets/demo-target.password (the credential file that
 * portcullis.yaml references); callers never see it.
 */
export const DEMO_ROLE = 'portcullis_demo';
export const demoPasswordFile = demoSecretFile(DEMO_SECRETS.database);

export async function seedDemoDatabase(): Promise<void> {
  const password = demoSecret(DEMO_SECRETS.database).value;
  const c = postgresConnection();
  const admin = new pg.Client({ host: c.host, port: c.port, user: c.user, password: c.password, database: 'demo' });
  await admin.connect();
  try {
    const role = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [DEMO_ROLE]);
    // The password is passed as a literal because CREATE/ALTER ROLE takes no parameters; it is generated, never user input.
    if (role.rowCount === 0) await admin.query(`CREATE ROLE ${DEMO_ROLE} LOGIN PASSWORD '${password}'`);
    else await admin.query(`ALTER ROLE ${DEMO_ROLE} PASSWORD '${password}'`);
    await admin.query(`CREATE SCHEMA IF NOT EXISTS shop AUTHORIZATION ${DEMO_ROLE}`);
    await admin.query(`ALTER ROLE ${DEMO_ROLE} IN DATABASE demo SET search_path = shop`);
    await admin.query(`CREATE TABLE IF NOT EXISTS shop.customers (id serial PRIMARY KEY, name text NOT NULL, email text NOT NULL, card_number text, phone text)`);
    await admin.query(`CREATE TABLE IF NOT EXISTS shop.orders (id serial PRIMARY KEY, customer_id int REFERENCES shop.customers(id), status text NOT NULL, total numeric(10,2) NOT NULL, placed_at timestamptz NOT NULL DEFAULT now())`);
    await admin.query(`ALTER TABLE shop.customers OWNER TO ${DEMO_ROLE}`);
    await admin.query(`ALTER TABLE shop.orders OWNER TO ${DEMO_ROLE}`);
    const count = await admin.query('SELECT count(*)::int AS n FROM shop.customers');
    if (count.rows[0].n === 0) {
      for (const customer of demoCustomers) {
        const { name, email, cardNumber, phone } = customer;
        const { rows } = await admin.query('INSERT INTO shop.customers (name, email, card_number, phone) VALUES ($1, $2, $3, $4) RETURNING id', [name, email, cardNumber, phone]);
        for (const o of demoOrdersPerCustomer) await admin.query('INSERT INTO shop.orders (customer_id, status, total) VALUES ($1, $2, $3)', [rows[0].id, o.status, o.total]);
      }
    }
  } finally {
    await admin.end();
  }
}
