import { createHash, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';

/** What an upstream saw: every request that reached it, with the headers it got. */
export interface Seen {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface KubernetesDouble {
  app: FastifyInstance;
  url: string;
  seen: Seen[];
  /** The value inside every Secret it serves (random per start), so tests can prove it never got through. */
  secretValue: string;
}

export interface KubernetesDoubleOptions {
  /** 0 (default): a free port. */
  port?: number;
  host?: string;
  /** When set, requests without `Authorization: Bearer <token>` get the API server's 401 Status. */
  token?: string;
}

const pod = (name: string) => ({
  kind: 'Pod', apiVersion: 'v1',
  metadata: { name, namespace: 'default', uid: '6f1c2a1e-0000-4000-8000-000000000001', resourceVersion: '1', creationTimestamp: '2024-01-01T00:00:00Z' },
  spec: { containers: [{ name: 'app', image: 'nginx' }] },
  status: { phase: 'Running', containerStatuses: [{ name: 'app', ready: true, restartCount: 0, image: 'nginx', imageID: '', state: { running: { startedAt: '2024-01-01T00:00:00Z' } } }] },
});

const status = (code: number, reason: string, message: string) => ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });

/**
 * A double of a Kubernetes API server (no real cluster can run here):
 * legacy discovery for the core group, pods (get/list/create/delete, logs
 * with follow, exec over WebSocket v5.channel.k8s.io) and secrets. The HTTP
 * proxy's tests drive it with kubectl, and `npm start` runs it as the demo
 * cluster.
 */
export async function startKubernetesDouble(options: KubernetesDoubleOptions = {}): Promise<KubernetesDouble> {
  const seen: Seen[] = [];
  const secretValue = 'hunter2-' + createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 12);
  const secret = (name: string) => ({
    kind: 'Secret', apiVersion: 'v1', type: 'Opaque',
    metadata: { name, namespace: 'default', resourceVersion: '1' },
    data: { password: Buffer.from(secretValue).toString('base64') },
  });
  const authorized = (header: unknown): boolean => {
    if (options.token === undefined) return true;
    const expected = Buffer.from(`Bearer ${options.token}`);
    const got = Buffer.from(typeof header === 'string' ? header : '');
    return got.length === expected.length && timingSafeEqual(got, expected);
  };
  const app = Fastify();
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_r, body, done) => done(null, body));
  app.addHook('onRequest', async (req, reply) => {
    seen.push({ method: req.method, url: req.url, headers: { ...req.headers }, body: '' });
    if (!authorized(req.headers.authorization)) return reply.code(401).send(status(401, 'Unauthorized', 'Unauthorized'));
  });
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
  app.get('/api/v1/namespaces/:ns/pods', (req, reply) => {
    const { watch } = req.query as { watch?: string };
    if (watch !== 'true' && watch !== '1') return reply.send({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [pod('web-1'), pod('web-2')] });
    // A watch (kubectl get -w): one event per pod, then the stream stays open as the API server keeps it.
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    for (const name of ['web-1', 'web-2']) reply.raw.write(`${JSON.stringify({ type: 'ADDED', object: { ...pod(name), metadata: { ...pod(name).metadata, resourceVersion: '2' } } })}\n`);
    const keepAlive = setInterval(() => reply.raw.write(''), 5000);
    reply.raw.on('close', () => clearInterval(keepAlive));
  });
  app.get('/api/v1/namespaces/:ns/pods/:name', async (req, reply) => {
    const { name } = req.params as { name: string };
    if (name === 'new-pod') return reply.code(404).send({ ...status(404, 'NotFound', `pods "${name}" not found`), details: { name, kind: 'pods' } });
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
  app.get('/api/v1/namespaces/:ns/secrets', async () => ({ kind: 'SecretList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [secret('db-password')] }));
  app.get('/api/v1/namespaces/:ns/secrets/:name', async (req) => secret((req.params as { name: string }).name));
  app.server.on('upgrade', (req, socket: Socket) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers }, body: '' });
    socket.on('error', () => undefined);
    if (!authorized(req.headers.authorization)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const key = String(req.headers['sec-websocket-key'] ?? '');
    const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
    const protocol = String(req.headers['sec-websocket-protocol'] ?? '').split(',')[0]!.trim();
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`);
    const frame = (payload: Buffer) => Buffer.concat([Buffer.from([0x82, payload.length]), payload]);
    socket.write(frame(Buffer.concat([Buffer.from([1]), Buffer.from('hello from exec\n')])));
    socket.write(frame(Buffer.concat([Buffer.from([3]), Buffer.from('{"metadata":{},"status":"Success"}')])));
    setTimeout(() => socket.end(Buffer.from([0x88, 0x02, 0x03, 0xe8])), 100);
  });
  await app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  return { app, url: `http://127.0.0.1:${port}`, seen, secretValue };
}
