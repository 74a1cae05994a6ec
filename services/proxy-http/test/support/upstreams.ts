import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';

/** What the upstream saw: every request that reached it, with the headers it got. */
export interface Seen {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

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

const pod = (name: string) => ({
  kind: 'Pod', apiVersion: 'v1',
  metadata: { name, namespace: 'default', uid: '6f1c2a1e-0000-4000-8000-000000000001', resourceVersion: '1', creationTimestamp: '2024-01-01T00:00:00Z' },
  spec: { containers: [{ name: 'app', image: 'nginx' }] },
  status: { phase: 'Running', containerStatuses: [{ name: 'app', ready: true, restartCount: 0, image: 'nginx', imageID: '', state: { running: { startedAt: '2024-01-01T00:00:00Z' } } }] },
});

/**
 * A test double of a Kubernetes API server (no real cluster can run here):
 * legacy discovery for the core group, pods (get/list/create/delete, logs
 * with follow, exec over WebSocket v5.channel.k8s.io) and secrets.
 */
export async function startFakeKubernetes(): Promise<{ app: FastifyInstance; url: string; seen: Seen[]; secretValue: string }> {
  const seen: Seen[] = [];
  const secretValue = 'hunter2-' + createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 12);
  const app = Fastify();
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_r, body, done) => done(null, body));
  app.addHook('onRequest', async (req) => void seen.push({ method: req.method, url: req.url, headers: { ...req.headers }, body: '' }));
  app.get('/api', async () => ({ kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:6443' }] }));
  app.get('/apis', async () => ({ kind: 'APIGroupList', apiVersion: 'v1', groups: [] }));
  app.get('/api/v1', async () => ({
    kind: 'APIResourceList', groupVersion: 'v1',
    resources: [
      { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], shortNames: ['po'] },
      { name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] },
      { name: 'pods/exec', singularName: '', namespaced: true, kind: 'PodExecOptions', verbs: ['create', 'get'] },
      { name: 'secrets', singularName: 'secret', namespaced: true, kind: 'Secret', verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
    ],
  }));
  app.get('/version', async () => ({ major: '1', minor: '32', gitVersion: 'v1.32.0' }));
  app.get('/api/v1/namespaces/:ns/pods', async () => ({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [pod('web-1'), pod('web-2')] }));
  app.get('/api/v1/namespaces/:ns/pods/:name', async (req, reply) => {
    const { name } = req.params as { name: string };
    if (name === 'new-pod') return reply.code(404).send({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `pods "${name}" not found`, reason: 'NotFound', details: { name, kind: 'pods' }, code: 404 });
    return pod(name);
  });
  app.post('/api/v1/namespaces/:ns/pods', async (req, reply) => reply.code(201).send(JSON.parse(req.body as string)));
  app.delete('/api/v1/namespaces/:ns/pods/:name', async (req) => pod((req.params as { name: string }).name));
  app.get('/api/v1/namespaces/:ns/pods/:name/log', (_req, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/plain' });
    reply.raw.write('log line 1\n');
    setTimeout(() => reply.raw.end('log line 2\n'), 300);
  });
  app.get('/api/v1/namespaces/:ns/secrets/:name', async (req) => ({
    kind: 'Secret', apiVersion: 'v1', type: 'Opaque',
    metadata: { name: (req.params as { name: string }).name, namespace: 'default', resourceVersion: '1' },
    data: { password: Buffer.from(secretValue).toString('base64') },
  }));
  app.server.on('upgrade', (req, socket: Socket) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers }, body: '' });
    const key = String(req.headers['sec-websocket-key'] ?? '');
    const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
    const protocol = String(req.headers['sec-websocket-protocol'] ?? '').split(',')[0]!.trim();
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`);
    const frame = (payload: Buffer) => Buffer.concat([Buffer.from([0x82, payload.length]), payload]);
    socket.write(frame(Buffer.concat([Buffer.from([1]), Buffer.from('hello from exec\n')])));
    socket.write(frame(Buffer.concat([Buffer.from([3]), Buffer.from('{"metadata":{},"status":"Success"}')])));
    setTimeout(() => socket.end(Buffer.from([0x88, 0x02, 0x03, 0xe8])), 100);
    socket.on('error', () => undefined);
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  return { app, url: `http://127.0.0.1:${port}`, seen, secretValue };
}
