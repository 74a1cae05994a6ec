/**
 * Authorization per the MCP specification: the protected-resource metadata
 * names the OpenID issuer; no token, an expired token and a token from
 * someone else's key are each answered 401 with the WWW-Authenticate header
 * MCP clients read (checked with curl, and with the SDK's client, which
 * refuses to start the session). An MCP session cannot be used with another
 * identity's token.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { generateKeyPair, SignJWT } from 'jose';
import { issueServiceToken, issueShortLivedServiceToken } from '@portcullis/infra';
import { ISSUER, startHarness, type Harness } from './support/harness.ts';

const run = promisify(execFile);

const INITIALIZE = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'curl', version: '1' } } });

/** curl -i: the status, the headers (lower-case names) and the body. */
async function curl(url: string, headers: string[] = [], body?: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const args = ['-sS', '-i', ...headers.flatMap((h) => ['-H', h]), ...(body !== undefined ? ['-X', 'POST', '-H', 'content-type: application/json', '-H', 'accept: application/json, text/event-stream', '--data-binary', body] : []), url];
  const { stdout } = await run('curl', args);
  const [head, ...rest] = stdout.split('\r\n\r\n');
  const lines = head!.split('\r\n');
  const status = Number(lines[0]!.split(' ')[1]);
  const out: Record<string, string> = {};
  for (const l of lines.slice(1)) out[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
  return { status, headers: out, body: rest.join('\r\n\r\n') };
}

describe('MCP authorization', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness('mcp-auth', { resources: [] }, { clockToleranceSeconds: 0 });
  });
  after(async () => {
    await h?.close();
  });

  it('publishes protected-resource metadata naming the OpenID issuer', async () => {
    for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
      const r = await curl(`${h.mcp.url}${path}`);
      assert.equal(r.status, 200);
      const doc = JSON.parse(r.body) as Record<string, unknown>;
      assert.equal(doc.resource, `${h.mcp.url}/mcp`);
      assert.deepEqual(doc.authorization_servers, [ISSUER]);
      assert.deepEqual(doc.bearer_methods_supported, ['header']);
    }
  });

  it('no token: 401 with the resource metadata in WWW-Authenticate', async () => {
    const r = await curl(`${h.mcp.url}/mcp`, [], INITIALIZE);
    assert.equal(r.status, 401);
    assert.equal(r.headers['www-authenticate'], `Bearer resource_metadata="${h.mcp.url}/.well-known/oauth-protected-resource/mcp"`);
    assert.equal((JSON.parse(r.body) as { error: { code: string } }).error.code, 'PCL_ERR_UNAUTHENTICATED');
  });

  it('an expired token: 401 invalid_token', async () => {
    const token = await issueShortLivedServiceToken(ISSUER);
    await new Promise((resolve) => setTimeout(resolve, 3500));
    const r = await curl(`${h.mcp.url}/mcp`, [`authorization: Bearer ${token}`], INITIALIZE);
    assert.equal(r.status, 401);
    assert.match(r.headers['www-authenticate']!, /^Bearer resource_metadata="[^"]+", error="invalid_token", error_description="[^"]*exp/);
  });

  it('a token signed by a key the issuer does not have: 401 invalid_token', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ sub: 'llm-agent', client_id: 'llm-agent' })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'forged' })
      .setIssuer(ISSUER)
      .setAudience('portcullis')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    const r = await curl(`${h.mcp.url}/mcp`, [`authorization: Bearer ${forged}`], INITIALIZE);
    assert.equal(r.status, 401);
    assert.match(r.headers['www-authenticate']!, /error="invalid_token"/);
  });

  it('the SDK client without a token does not get a session', async () => {
    await assert.rejects(h.connect("not-a-token"), /PCL_ERR_UNAUTHENTICATED/);
  });

  it('a request from a browser origin that is not allowed is refused (DNS rebinding)', async () => {
    const token = await issueServiceToken(ISSUER, 'llm-agent');
    const r = await curl(`${h.mcp.url}/mcp`, [`authorization: Bearer ${token}`, 'origin: http://evil.127.0.0.1.nip.io'], INITIALIZE);
    assert.equal(r.status, 403);
    assert.match(r.body, /PCL_ERR_FORBIDDEN_ORIGIN/);
  });

  it('an MCP session is bound to the identity that opened it', async () => {
    const { transport } = await h.connect(await issueServiceToken(ISSUER, 'llm-agent'));
    const other = await issueServiceToken(ISSUER, 'ci-deploy');
    const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    const r = await curl(`${h.mcp.url}/mcp`, [`authorization: Bearer ${other}`, `mcp-session-id: ${transport.sessionId}`, 'mcp-protocol-version: 2025-06-18'], list);
    assert.equal(r.status, 403);
    assert.match(r.body, /PCL_ERR_SESSION_MISMATCH/);
  });
});
