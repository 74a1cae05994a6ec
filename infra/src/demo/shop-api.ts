import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { demoCustomers, demoOrdersPerCustomer } from './shop-data.ts';

/**
 * The demo HTTP API behind the gateway's HTTP proxy: the shop's customers
 * (with e-mails, phone numbers and card numbers) and orders as JSON under
 * /v1. It wants `Authorization: Bearer <token>`, the credential the gateway
 * injects; a caller's own token would not open it.
 */
export async function startShopApi(options: { port: number; host?: string; token: string }): Promise<FastifyInstance> {
  const customers = demoCustomers.map((c, i) => ({
    id: i + 1,
    name: c.name,
    email: c.email,
    phone: c.phone,
    billing: { card_number: c.cardNumber, country: c.country },
  }));
  const orders = customers.flatMap((c) => demoOrdersPerCustomer.map((o) => ({ customerId: c.id, status: o.status, total: o.total })))
    .map((o, i) => ({ id: i + 1, ...o }));
  const expected = Buffer.from(`Bearer ${options.token}`);
  const app = Fastify({ logger: false });
  app.addHook('onRequest', async (req, reply) => {
    const got = Buffer.from(req.headers.authorization ?? '');
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) return reply.code(401).send({ error: 'a valid API token is required' });
  });
  const notFound = { error: 'not found' };
  app.get('/v1/customers', async () => ({ items: customers }));
  app.get('/v1/customers/:id', async (req, reply) => customers.find((c) => String(c.id) === (req.params as { id: string }).id) ?? reply.code(404).send(notFound));
  app.get('/v1/customers/:id/orders', async (req) => ({ items: orders.filter((o) => String(o.customerId) === (req.params as { id: string }).id) }));
  app.get('/v1/orders', async () => ({ items: orders }));
  app.get('/v1/orders/:id', async (req, reply) => orders.find((o) => String(o.id) === (req.params as { id: string }).id) ?? reply.code(404).send(notFound));
  await app.listen({ port: options.port, host: options.host ?? '127.0.0.1' });
  return app;
}
