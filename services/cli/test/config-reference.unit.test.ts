/**
 * portcullis.yaml: `portcullis config validate` as a user runs it, the JSON
 * Schema in docs/ generated from the zod schema, and docs/configuration.md
 * checked against the schema so the reference cannot drift.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { parseProxyConfig, postgresSectionOf } from '@portcullis/proxy-postgres';
import { parseSshProxyConfig } from '@portcullis/proxy-ssh';
import { parseHttpProxyConfig } from '@portcullis/proxy-http';
import { PortcullisDocument, portcullisJsonSchema } from '../src/config/portcullis-schema.ts';
import { configFields } from '../src/config/schema-fields.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(root, 'services/cli/bin/portcullis.js');
const dir = mkdtempSync(join(tmpdir(), 'portcullis-config-'));

function portcullis(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const valid = {
  resources: [
    { name: 'orders', protocol: 'postgres', tags: ['production'], target: { host: '127.0.0.1', database: 'orders', user: 'gw' }, credential: { env: 'ORDERS_PASSWORD' } },
    { name: 'web-1', protocol: 'ssh', target: { host: '127.0.0.1', user: 'deploy', hostKeyFingerprint: `SHA256:${'A'.repeat(43)}` }, credential: { file: 'web-1-key', kind: 'privateKey' } },
    { name: 'shop-api', protocol: 'http', baseUrl: 'http://127.0.0.1:8180', credential: { file: 'api-token' }, inject: { header: 'X-Api-Key' } },
    { name: 'cluster', protocol: 'kubernetes', server: 'http://127.0.0.1:8181', token: { env: 'CLUSTER_TOKEN' } },
  ],
  postgres: { listen: { host: '127.0.0.1', port: 6432 }, verdictTimeoutMs: 3000 },
  ssh: { interactive: false },
  http: { decision: 'remote' },
};

describe('portcullis config validate', () => {
  it('given a valid file, when validated, then it says ok with its resources and exits 0', () => {
    const file = join(dir, 'valid.yaml');
    writeFileSync(file, stringify(valid));
    const r = portcullis('config', 'validate', file);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), `${file}: ok (4 resources: postgres, ssh, http, kubernetes)`);
  });

  it('given mistakes in several engines, when validated, then each is reported as file:line: field: message and it exits 1', () => {
    const file = join(dir, 'invalid.yaml');
    writeFileSync(file, [
      'resources:',
      '  - name: orders',
      '    protocol: postgres',
      '    target: { host: 127.0.0.1, database: orders, user: gw }',
      '    credential: { password: hunter2 }',
      '  - name: web-1',
      '    protocol: ssh',
      '    target: { host: 127.0.0.1, user: deploy, hostKeyFingerprint: nope }',
      '    credential: { file: key }',
      'postgres:',
      '  verdictTimeoutMs: -1',
      'http:',
      '  baseDomian: example.test',
      '',
    ].join('\n'));
    const r = portcullis('config', 'validate', file);
    assert.equal(r.status, 1);
    const lines = r.stderr.trim().split('\n');
    assert.deepEqual(lines.map((l) => l.split(': ').slice(0, 2).join(': ')), [
      `${file}:5: resources[0].credential`,
      `${file}:8: resources[1].target.hostKeyFingerprint`,
      `${file}:11: postgres.verdictTimeoutMs`,
      `${file}:13: http.baseDomian`,
    ]);
    assert.match(lines[3]!, /unknown field "baseDomian"/);
    assert.ok(!r.stderr.includes('hunter2'), 'the inline secret is not echoed');
  });

  it('given two resources of different protocols with one name, when validated, then the second is refused', () => {
    const file = join(dir, 'duplicate.yaml');
    writeFileSync(file, stringify({ ...valid, resources: [valid.resources[0], { ...valid.resources[2], name: 'orders' }] }));
    const r = portcullis('config', 'validate', file);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /duplicate\.yaml:\d+: resources\[1\]\.name: duplicate resource name orders/);
  });

  it('given a YAML syntax error or a missing file, when validated, then it says where and exits 1', () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'resources:\n  - name: [unclosed\n');
    const broken = portcullis('config', 'validate', file);
    assert.equal(broken.status, 1);
    assert.match(broken.stderr, new RegExp(`^${file.replaceAll('.', '\\.')}:\\d+: `));
    const missing = portcullis('config', 'validate', join(dir, 'absent.yaml'));
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /cannot read: ENOENT/);
  });
});

describe('one schema for every engine', () => {
  it('given a document the whole schema accepts, when each proxy reads it, then each takes its own resources and section', () => {
    assert.equal(PortcullisDocument.safeParse(valid).success, true);
    assert.deepEqual(parseProxyConfig(postgresSectionOf(valid), dir).resources.map((r) => r.name), ['orders']);
    const ssh = parseSshProxyConfig(valid, dir);
    assert.deepEqual([ssh.resources.map((r) => r.name), ssh.interactive], [['web-1'], false]);
    const http = parseHttpProxyConfig(valid, dir);
    assert.deepEqual([http.resources.map((r) => r.name), http.settings.decision], [['shop-api', 'cluster'], 'remote']);
  });

  it('given the committed docs/portcullis.schema.json, then it is what the zod schema generates (npx portcullis config schema)', () => {
    const committed = JSON.parse(readFileSync(join(root, 'docs/portcullis.schema.json'), 'utf8'));
    assert.deepEqual(committed, portcullisJsonSchema(), 'regenerate: npx portcullis config schema > docs/portcullis.schema.json');
  });

  it('given docs/configuration.md, then its rows are exactly the schema\'s fields, with their types and defaults', () => {
    const rows = new Map<string, { type: string; default: string }>();
    for (const line of readFileSync(join(root, 'docs/configuration.md'), 'utf8').split('\n')) {
      if (!line.startsWith('| `')) continue;
      const cells = line.split(/(?<!\\) \| /).map((c) => c.replace(/^\| /, '').trim());
      rows.set(cells[0]!.slice(1, -1), { type: cells[1]!.replaceAll('\\|', '|'), default: cells[2]! });
    }
    const fields = configFields(portcullisJsonSchema());
    assert.deepEqual([...rows.keys()].sort(), fields.map((f) => f.path).sort(), 'every schema field documented, every documented field in the schema');
    for (const f of fields) {
      const expected = f.required ? 'required' : f.default === undefined ? '—' : `\`${JSON.stringify(f.default)}\``;
      assert.deepEqual(rows.get(f.path), { type: f.type, default: expected }, f.path);
    }
  });
});
