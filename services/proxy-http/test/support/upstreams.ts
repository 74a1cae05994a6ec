import Fastify, { type FastifyInstance } from 'fastify';
import type { Seen } from '@portcullis/infra/targets';

/** The Kubernetes API double lives in infra: npm start runs it as the demo cluster. */
export { startKubernetesDouble as startFakeKubernetes } from '@portcullis/infra/targets';

/** A small JSON API on 127.0.0.1 holding personal data, plus chunked and SSE endpoints whose later chunks wait for `release()`. */
export async function startApiUpstream(): Promise<{ app: FastifyInstance; url: string; seen: Seen[]; release: () => void }> {
  const seen: Seen[] = [];
  let releaseStream: () => void = () => undefined;
  let released = new Promise<void>((r) => (releaseStream = r));
  const app = Fastify();
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_r, body, done) => done(null, body));
  app.addHook('onRequest', async (req) => void seen.push({ method: req.method, url: req.url, headers: { ...req.headers }, body: '' }));
  app.addHook('preHandler', async (req) => void (seen[seen.length - 1]!.body = typeof req.body === 'string' ? req.body : ''));
  app.get('/customers/7', async () => ({
    id: 7,
    name: 'Erika Mustermann',
    email: 'erika@example.com',
    billing: { card_number: '4111111111111111', country: 'DE' },
    notes: 'call +1 415 555 0134 or mail erika.m@example.org; SSN 078-05-1120',
  }));
  app.get('/customers', async () => ({ items: [{ id: 1, email: 'a@example.com' }, { id: 2, email: 'b@example.com' }] }));
  app.get('/status', async () => ({ ok: true }));
  app.get('/admin/users', async () => ({ users: ['root'] }));
  app.post('/payments', async (req) => ({ paid: true, body: req.body }));
  app.post('/echo', async (req) => ({ echo: req.body }));
  app.get('/whoami', async (req) => ({ authorization: req.headers.authorization ?? null, cookie: req.headers.cookie ?? null }));
  app.get('/customers/export', async () => ({ blob: 'x'.repeat(2 * 1024 * 1024), email: 'erika@example.com' }));
  app.get('/chunked', (_req, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/plain' });
    reply.raw.write('first chunk\n');
    void released.then(() => reply.raw.end('last chunk\n'));
  });
  app.get('/events', (_req, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    reply.raw.write('data: {"n":1,"email":"erika@example.com"}\n\n');
    void released.then(() => reply.raw.end('data: {"n":2}\n\n'));
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    seen,
    release: () => {
      releaseStream();
      released = new Promise<void>((r) => (releaseStream = r));
    },
  };
}
