/**
 * The upstream for bench:http, in its own process so the proxy's CPU is measured alone:
 * /small (a tiny JSON), /1mb (1 MB of bytes), /customers (a JSON list of 1,000 customer
 * records with e-mail addresses and card numbers) and a Kubernetes-style watch stream of
 * `events` pod events (/api/v1/namespaces/default/pods?watch=1). Prints its port.
 */
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { customersDocument, podEvent } from './documents.ts';

const events = Number(process.argv[2] ?? 100_000);
const small = Buffer.from(JSON.stringify({ ok: true, service: 'bench' }));
const mb = randomBytes(1_000_000);
const customers = Buffer.from(customersDocument());

const server = createServer((req, res) => {
  const url = req.url ?? '/';
  if (url === '/small') return res.writeHead(200, { 'content-type': 'application/json', 'content-length': small.length }).end(small);
  if (url === '/1mb') return res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': mb.length }).end(mb);
  if (url === '/customers') return res.writeHead(200, { 'content-type': 'application/json', 'content-length': customers.length }).end(customers);
  if (url.startsWith('/api/v1/namespaces/default/pods')) {
    res.writeHead(200, { 'content-type': 'application/json;stream=watch' });
    let i = 0;
    const pump = (): void => {
      while (i < events) {
        // Batches of 100 events per write, like an API server flushing a busy watch.
        let batch = '';
        for (let j = 0; j < 100 && i < events; j++) batch += podEvent(i++);
        if (!res.write(batch)) return void res.once('drain', pump);
      }
      res.end();
    };
    return pump();
  }
  res.writeHead(404).end();
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: (server.address() as { port: number }).port })));
