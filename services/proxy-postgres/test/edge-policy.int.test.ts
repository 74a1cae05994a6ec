/**
 * Deciding at the edge (the default): the proxy follows the policies topic
 * itself. A policy published while a psql session is open is in force on
 * that session within a second; every statement the target ran has its
 * CommandRequested and an edge verdict in the log.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { EventOf } from '@portcullis/schemas';
import { createTestBus, eventually, silentLogger, type Bus, type Subscription } from '@portcullis/kit';
import { issueServiceToken } from '@portcullis/infra';
import { publishPolicy } from '@portcullis/policy-decision';
import { parseProxyConfig } from '../src/config.ts';
import { startPostgresGateway, type PostgresGateway } from '../src/gateway.ts';
import { createTestTarget, type TestTarget } from './support/target-database.ts';

const issuer = 'http://127.0.0.1:9400';
const readsAllowed = `
apiVersion: portcullis/v1
defaultEffect: block
rules:
  - id: reads
    effect: allow
    reason: reads are fine
    match: { sql: { classes: [read] } }
`;
const readsFrozen = `${readsAllowed}
  - id: reads-frozen
    effect: block
    reason: reads are frozen for the migration
    match: { sql: { classes: [read] } }
`;

describe('edge decisions: policy freshness on an open psql session', () => {
  let target: TestTarget;
  let bus: Bus;
  let gateway: PostgresGateway;
  let reader: Subscription | undefined;
  const log = { commands: [] as EventOf<'commands'>[], verdicts: [] as EventOf<'verdicts'>[] };

  before(async () => {
    target = await createTestTarget('edgefresh');
    bus = createTestBus('pg-edge', { partitions: 3 });
    await bus.connect();
    assert.ok((await publishPolicy({ bus, yamlText: readsAllowed, fileName: 'reads.yaml' })).ok);
    const config = parseProxyConfig({ resources: [target.resource], listen: { host: '127.0.0.1', port: 0 }, verdictTimeoutMs: 15_000 });
    assert.equal(config.decision, 'edge', 'edge is the default');
    gateway = await startPostgresGateway({ config, bus, logger: silentLogger(), issuer, port: 0 });
    reader = await bus.subscribe({
      groupId: 'reader', topics: ['commands', 'verdicts'], fromBeginning: true,
      handler: async ({ topicKey, event }) => void (topicKey === 'commands' ? log.commands.push(event as EventOf<'commands'>) : log.verdicts.push(event as EventOf<'verdicts'>)),
    });
    await reader.ready;
  });
  after(async () => {
    await reader?.stop();
    await gateway?.close();
    await bus?.disconnect();
    await target?.drop();
  });

  /** An interactive psql session; `run` sends one line and resolves with what it printed (stdout or the error). */
  function openPsql(token: string): { child: ChildProcessWithoutNullStreams; run(sql: string, marker: string): Promise<{ ok: boolean; text: string }> } {
    const child = spawn('psql', ['-X', '-At', '-v', 'ON_ERROR_STOP=0', '-h', '127.0.0.1', '-p', String(gateway.port), '-U', 'ci-deploy', '-d', target.resource.name], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PGPASSWORD: token, PGSSLMODE: 'require', PGCONNECT_TIMEOUT: '10' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    return {
      child,
      async run(sql, marker) {
        const errorsBefore = (stderr.match(/ERROR:/g) ?? []).length;
        child.stdin.write(`${sql}\n`);
        return eventually(`psql's answer to ${sql}`, () => {
          if (stdout.includes(marker)) return { ok: true, text: marker };
          const errors = stderr.match(/ERROR:.*/g) ?? [];
          return errors.length > errorsBefore ? { ok: false, text: errors.at(-1)! } : undefined;
        }, 10_000);
      },
    };
  }

  it('a newly published policy is in force on the open session within a second', async (t) => {
    const psql = openPsql(await issueServiceToken(issuer, 'ci-deploy'));
    try {
      const first = await psql.run("SELECT 'before-' || 'change';", 'before-change');
      assert.ok(first.ok, first.text);
      const published = await publishPolicy({ bus, yamlText: readsFrozen, fileName: 'reads.yaml' });
      assert.ok(published.ok);
      const t0 = performance.now();
      let refusedAfter: number | undefined;
      for (let i = 0; refusedAfter === undefined && performance.now() - t0 < 5000; i++) {
        const r = await psql.run(`SELECT 'probe-' || ${i};`, `probe-${i}`);
        if (!r.ok) {
          refusedAfter = performance.now() - t0;
          assert.match(r.text, /ERROR: {2}Portcullis blocked this statement: rule reads-frozen: reads are frozen for the migration/);
        }
      }
      assert.ok(refusedAfter !== undefined, 'the new policy was never applied');
      t.diagnostic(`the new policy refused a statement ${refusedAfter.toFixed(0)} ms after it was published`);
      assert.ok(refusedAfter < 1000, `in force after ${refusedAfter.toFixed(0)} ms`);
    } finally {
      psql.child.stdin.end();
      psql.child.kill();
    }
    // Every statement is in the log with the edge verdict that let it run or refused it.
    await eventually('commands and verdicts in the log', () => (log.commands.length > 1 && log.verdicts.length >= log.commands.length ? true : undefined));
    for (const command of log.commands) {
      assert.equal(command.decision, 'edge');
      const verdict = log.verdicts.find((v) => v.type === 'VerdictIssued' && v.commandId === command.commandId);
      assert.ok(verdict && verdict.type === 'VerdictIssued', `a verdict for ${command.commandId}`);
      assert.equal(verdict.decidedBy, gateway.decidedBy);
    }
    assert.deepEqual([...new Set(log.verdicts.map((v) => (v.type === 'VerdictIssued' ? v.policyVersion : -1)))].sort(), [1, 2]);
  });
});
