/**
 * exec and http_request against the demo's real targets: infra's OpenSSH
 * server and the shop HTTP API, through the MCP service with the SDK client
 * as llm-agent. The same rules decide as for ssh and curl callers; output is
 * masked and the gateway's credentials never reach the caller.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { issueServiceToken } from '@portcullis/infra';
import { startShopApi } from '../../../infra/src/demo/shop-api.ts';
import { startSshd, type TestSshd } from '../../proxy-ssh/test/support/sshd.ts';
import { ISSUER, startHarness, textOf, type Harness } from './support/harness.ts';

describe('exec and http_request on the demo targets', () => {
  const apiToken = randomBytes(24).toString('base64url');
  let sshd: TestSshd;
  let api: FastifyInstance;
  let h: Harness;
  let agentToken: string;

  before(async () => {
    sshd = await startSshd();
    api = await startShopApi({ port: 0, token: apiToken });
    const apiPort = (api.server.address() as AddressInfo).port;
    h = await startHarness('mcp-targets', {
      resources: [
        { name: 'web-host', protocol: 'ssh', tags: ['production'], target: { host: '127.0.0.1', port: sshd.port, user: sshd.user, hostKeyFingerprint: sshd.hostKeyFingerprint }, credential: { file: sshd.userKeyPath } },
        { name: 'shop-api', protocol: 'http', tags: ['production', 'pii'], baseUrl: `http://127.0.0.1:${apiPort}`, credential: { env: 'PCL_TEST_SHOP_TOKEN' } },
      ],
    }, { env: { ...process.env, PCL_TEST_SHOP_TOKEN: apiToken } });
    process.env.PCL_TEST_SHOP_TOKEN = apiToken;
    agentToken = await issueServiceToken(ISSUER, 'llm-agent');
  });
  after(async () => {
    await h?.close();
    await api?.close();
    await sshd?.stop();
  });

  it('exec: uptime runs on the host; rm -rf is blocked naming the rule', async () => {
    const { client } = await h.connect(agentToken);
    const up = await client.callTool({ name: 'exec', arguments: { resource: 'web-host', command: 'uptime' } });
    assert.notEqual(up.isError, true, textOf(up));
    assert.match(textOf(up), /^exit 0\n.*load average/s);
    const rm = await client.callTool({ name: 'exec', arguments: { resource: 'web-host', command: 'rm -rf /tmp/x' } });
    assert.equal(rm.isError, true);
    assert.match(textOf(rm), /PCL_ERR_BLOCKED: .*rule ssh-destructive: .*destructive host commands are not allowed/);
  });

  it('http_request: customers come back masked; a write no rule allows is blocked', async () => {
    const { client } = await h.connect(agentToken);
    const r = await client.callTool({ name: 'http_request', arguments: { resource: 'shop-api', method: 'GET', path: '/v1/customers?limit=2' } });
    assert.notEqual(r.isError, true, textOf(r));
    const text = textOf(r);
    assert.match(text, /^HTTP 200 \(application\/json/);
    const body = JSON.parse(text.slice(text.indexOf('\n') + 1).split('\n[truncated')[0]!) as { items: { email: string; billing: { card_number: string } }[] };
    assert.match(body.items[0]!.email, /^\w\*\*\*@/);
    assert.match(body.items[0]!.billing.card_number, /^\*+\d{0,4}$/);
    assert.ok(!text.includes(apiToken));
    const post = await client.callTool({ name: 'http_request', arguments: { resource: 'shop-api', method: 'POST', path: '/v1/customers', body: '{"name":"x"}' } });
    assert.equal(post.isError, true);
    assert.match(textOf(post), /PCL_ERR_BLOCKED: .*no rule allows "?POST \/v1\/customers/);
  });

  it('a tool for the wrong kind of resource says which tool to use', async () => {
    const { client } = await h.connect(agentToken);
    const r = await client.callTool({ name: 'query', arguments: { resource: 'web-host', sql: 'SELECT 1' } });
    assert.equal(r.isError, true);
    assert.match(textOf(r), /web-host is of kind ssh; use exec/);
  });
});
