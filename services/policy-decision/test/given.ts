/** Given/when/then helpers for decide tests: a policy document, a caller, a resource, a command. */
import type { CommandRequested, Identity, PolicySetPublished, ResourceRef } from '@portcullis/schemas';
import { evaluate, type Evaluation } from '../src/evaluate.ts';
import { evolvePolicyState, initialPolicyState, type PolicyState } from '../src/policy/state.ts';
import { emptySqlSession, type SqlSessionState } from '../src/analysis/sql.ts';

export const service: Identity = { subject: 'ci-deploy', issuer: 'https://idp.test', kind: 'service', groups: ['ci'] };
export const human: Identity = { subject: 'alice', issuer: 'https://idp.test', kind: 'human', groups: ['dba'] };
export const prodDb: ResourceRef = { name: 'orders-prod', kind: 'postgres', tags: ['production'] };
export const host: ResourceRef = { name: 'web-1', kind: 'ssh', tags: ['production'] };
export const api: ResourceRef = { name: 'k8s', kind: 'kubernetes', tags: ['production'] };
export const mcpServer: ResourceRef = { name: 'files', kind: 'mcp', tags: ['production'] };

export function published(document: string, version = 1): PolicySetPublished {
  return {
    type: 'PolicySetPublished',
    eventId: '01890000-0000-7000-8000-000000000001',
    occurredAt: '2025-01-01T00:00:00.000Z',
    sessionId: 'policies',
    policySetId: 'default',
    version,
    document,
    documentDigest: String(version).padStart(64, '0'),
  };
}

/** given: these policy documents were published, in order. */
export function givenPolicy(...documents: string[]): PolicyState {
  return documents.reduce((s, d, i) => evolvePolicyState(s, published(d, i + 1)), initialPolicyState);
}

export function command(cmd: CommandRequested['command'], over: Partial<CommandRequested> = {}): CommandRequested {
  const protocol = cmd.kind === 'sql' ? 'postgres' : cmd.kind === 'shell' ? 'ssh' : cmd.kind === 'mcp-tool' ? 'mcp' : 'http';
  return {
    type: 'CommandRequested',
    eventId: '01890000-0000-7000-8000-000000000002',
    occurredAt: '2025-01-01T12:00:00.000Z',
    sessionId: 's-1',
    seq: 1,
    digest: '0'.repeat(64),
    commandId: '01890000-0000-7000-8000-000000000003',
    identity: service,
    resource: cmd.kind === 'sql' ? prodDb : cmd.kind === 'shell' ? host : cmd.kind === 'mcp-tool' ? mcpServer : api,
    protocol,
    command: cmd,
    ...over,
  };
}

export const sql = (text: string, over: Partial<CommandRequested> = {}): CommandRequested => command({ kind: 'sql', text, phase: 'simple' }, over);

/** when: this SQL arrives (as the service identity unless told otherwise). */
export function whenSql(state: PolicyState, text: string, over: Partial<CommandRequested> = {}, session: SqlSessionState = emptySqlSession()): Promise<Evaluation> {
  return evaluate(sql(text, over), state, session);
}

/** when: this shell line arrives over an exec channel (as the service identity unless told otherwise). */
export function whenShell(state: PolicyState, commandLine: string, over: Partial<CommandRequested> = {}, targetUser?: string): Promise<Evaluation> {
  return evaluate(command({ kind: 'shell', commandLine, channel: 'exec', ...(targetUser ? { targetUser } : {}) }, over), state);
}
