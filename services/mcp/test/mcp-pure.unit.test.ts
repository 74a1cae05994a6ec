/** The MCP service's pure parts: result capping, tool digests, the auth challenge, result masking, configuration. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { VerdictIssued } from '@portcullis/schemas';
import { capText } from '../src/result.ts';
import { canonicalJson, toolDigest } from '../src/gateway/tool-digest.ts';
import { challenge, protectedResource, metadataDocument } from '../src/auth.ts';
import { maskResult } from '../src/gateway/gateway-server.ts';
import { parseMcpServiceConfig } from '../src/config.ts';

const verdict = (over: Partial<VerdictIssued>): VerdictIssued => ({
  type: 'VerdictIssued', eventId: '01890000-0000-7000-8000-000000000001', occurredAt: '2025-01-01T00:00:00.000Z', sessionId: 's', commandId: '01890000-0000-7000-8000-000000000002',
  effect: 'allow', ruleIds: [], reasons: [], policyVersion: 1, final: true, classes: [], ...over,
}) as VerdictIssued;

describe('capText', () => {
  it('given text within the cap, then it is unchanged', () => {
    assert.deepEqual(capText('hello', 5), { text: 'hello', truncated: false });
  });
  it('given longer text, then it is cut with a marker saying how much was shown', () => {
    assert.deepEqual(capText('abcdefgh', 3), { text: 'abc\n[truncated by Portcullis: 3 of 8 bytes shown]', truncated: true });
  });
  it('given a multi-byte character at the cut, then no half character is left', () => {
    const r = capText('ééé', 3);
    assert.equal(r.text.split('\n')[0], 'é');
  });
});

describe('tool digests', () => {
  it('key order does not matter; any change to description or schema does', () => {
    const a = { name: 't', description: 'd', inputSchema: { type: 'object', properties: { p: { type: 'string' } } } };
    const b = { inputSchema: { properties: { p: { type: 'string' } }, type: 'object' }, description: 'd', name: 't' };
    assert.equal(toolDigest(a), toolDigest(b));
    assert.notEqual(toolDigest(a), toolDigest({ ...a, description: 'd ' }));
    assert.notEqual(toolDigest(a), toolDigest({ ...a, inputSchema: { type: 'object', properties: { p: { type: 'number' } } } }));
    assert.equal(canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }), '{"a":[2,{"c":4,"d":3}],"b":1}');
  });
});

describe('authorization', () => {
  const r = protectedResource('http://127.0.0.1:8095/', '/mcp', 'http://127.0.0.1:9400');
  it('names the metadata URL and the issuer', () => {
    assert.equal(r.metadataUrl, 'http://127.0.0.1:8095/.well-known/oauth-protected-resource/mcp');
    assert.deepEqual(metadataDocument(r).authorization_servers, ['http://127.0.0.1:9400']);
  });
  it('challenges: bare without a token; invalid_token with a description that cannot break the header', () => {
    assert.equal(challenge(r), 'Bearer resource_metadata="http://127.0.0.1:8095/.well-known/oauth-protected-resource/mcp"');
    assert.equal(challenge(r, { code: 'invalid_token', description: 'bad "x"\r\nSet-Cookie: a' }), 'Bearer resource_metadata="http://127.0.0.1:8095/.well-known/oauth-protected-resource/mcp", error="invalid_token", error_description="bad  x   Set-Cookie: a"');
  });
});

describe('gateway result masking', () => {
  const result = { content: [{ type: 'text' as const, text: 'mail jane.roe@example.com' }, { type: 'image' as const, data: 'AAAA', mimeType: 'image/png' }], structuredContent: { email: 'jane.roe@example.com' } };
  it('given a mask verdict, then text is masked and content that cannot be masked is withheld', () => {
    const masked = maskResult(result, verdict({ effect: 'mask', mask: { columns: [], referenced: [], derived: false, fields: [], detectors: ['email'] } }), 1000);
    assert.deepEqual(masked.content, [{ type: 'text', text: 'mail j***@example.com' }, { type: 'text', text: '[image content withheld by Portcullis: it cannot be masked]' }]);
    assert.deepEqual(masked.structuredContent, { email: 'j***@example.com' });
  });
  it('given an allow verdict, then content passes, capped', () => {
    const out = maskResult(result, verdict({}), 8);
    assert.match((out.content[0] as { text: string }).text, /^mail jan\n\[truncated by Portcullis/);
    assert.equal(out.content[1]!.type, 'image');
  });
});

describe('configuration', () => {
  it('reads upstream MCP servers by URL or command, with credentials by reference only', () => {
    const c = parseMcpServiceConfig({ resources: [{ name: 'a', protocol: 'mcp', url: 'http://127.0.0.1:1/mcp', credential: { file: 'tok' } }, { name: 'b', protocol: 'mcp', command: ['node', 'x.js'] }] }, '/base');
    assert.deepEqual(c.upstreams.map((u) => u.name), ['a', 'b']);
    assert.deepEqual(c.upstreams[0]!.credential, { file: '/base/tok' });
    assert.equal(c.settings.maxResultBytes, 65536);
  });
  it('refuses an upstream with both or neither of url and command, and inline secrets', () => {
    assert.throws(() => parseMcpServiceConfig({ resources: [{ name: 'a', protocol: 'mcp' }] }), /either url/);
    assert.throws(() => parseMcpServiceConfig({ resources: [{ name: 'a', protocol: 'mcp', command: ['x'], env: { TOKEN: 'inline' } }] }), /PCL_ERR_CONFIG|invalid/);
  });
});
