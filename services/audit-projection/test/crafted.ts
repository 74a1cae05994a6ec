/** Crafted events, as the proxies and the PDP write them (no I/O: unit tests use these too). */
import { newId, SessionChain, type CommandRequested, type Identity, type VerdictDisputed, type VerdictIssued } from '@portcullis/schemas';

export const ISSUER = 'http://127.0.0.1:9400';
export const ciJob: Identity = { subject: 'ci-deploy', issuer: ISSUER, kind: 'service', groups: ['ci'] };
export const alice: Identity = { subject: 'alice', issuer: ISSUER, kind: 'human', groups: ['dba'], name: 'Alice Anders' };

let clock = Date.parse('2025-01-01T10:00:00.000Z');
/** Strictly increasing event times, so "later" is well defined in tests. */
export const tick = (): string => new Date((clock += 1000)).toISOString();

/** A session as a proxy records it: every chained event gets the next seq and digest. */
export class CraftedSession {
  readonly chain = new SessionChain();
  constructor(
    readonly sessionId = `s-${newId()}`,
    readonly identity: Identity = ciJob,
    readonly resource = { name: 'orders-db', kind: 'postgres' as const, tags: ['production'] },
  ) {}

  opened() {
    return this.chain.next({
      type: 'SessionOpened' as const, eventId: newId(), occurredAt: tick(), sessionId: this.sessionId, identity: this.identity,
      resource: this.resource, protocol: 'postgres' as const, clientAddress: '127.0.0.1:50000', applicationName: 'psql',
    });
  }

  command(text: string, extra: Partial<{ parameters: (string | null)[]; phase: 'simple' | 'bind' }> = {}): CommandRequested {
    return this.chain.next({
      type: 'CommandRequested' as const, eventId: newId(), occurredAt: tick(), sessionId: this.sessionId, commandId: newId(),
      identity: this.identity, resource: this.resource, protocol: 'postgres' as const,
      command: { kind: 'sql' as const, text, phase: extra.phase ?? ('simple' as const), ...(extra.parameters ? { parameters: extra.parameters } : {}) },
    });
  }

  verdict(command: CommandRequested, effect: VerdictIssued['effect'], ruleIds: string[], reasons: string[], classes: string[] = ['read'], final = true): VerdictIssued {
    return {
      type: 'VerdictIssued', eventId: newId(), occurredAt: tick(), sessionId: this.sessionId, commandId: command.commandId,
      effect, ruleIds, reasons, policyVersion: 1, final, classes,
    };
  }

  /** The verifier's dispute of `verdict`, as the policy-decision service publishes it. */
  disputed(verdict: VerdictIssued, expected: VerdictIssued['effect'] | undefined, reason: string): VerdictDisputed {
    return {
      type: 'VerdictDisputed', eventId: newId(), occurredAt: tick(), sessionId: this.sessionId, commandId: verdict.commandId,
      verdictEventId: verdict.eventId, decidedBy: verdict.decidedBy ?? 'edge:proxy-1', policyVersion: verdict.policyVersion,
      issued: { effect: verdict.effect, ruleIds: verdict.ruleIds }, ...(expected ? { expected: { effect: expected, ruleIds: ['r'], reasons: ['r'] } } : {}),
      reason, verifiedBy: 'pdp:verifier-1',
    };
  }

  completed(command: CommandRequested, status: 'executed' | 'failed' | 'refused', extra: { rows?: number; tag?: string; error?: string } = {}) {
    return this.chain.next({
      type: 'CommandCompleted' as const, eventId: newId(), occurredAt: tick(), sessionId: this.sessionId, commandId: command.commandId,
      status, durationMs: 3, ...extra,
    });
  }

  output(command: CommandRequested, columns: string[], rows: (string | null)[][]) {
    return this.chain.next({
      type: 'OutputRecorded' as const, eventId: newId(), occurredAt: tick(), sessionId: this.sessionId, commandId: command.commandId,
      format: 'rows' as const, columns, rows, truncated: false,
    });
  }

  httpResponse(command: CommandRequested, text: string, truncated = false) {
    return this.chain.next({
      type: 'OutputRecorded' as const, eventId: newId(), occurredAt: tick(), sessionId: this.sessionId, commandId: command.commandId,
      format: 'http' as const, text, truncated,
    });
  }

  closed() {
    return this.chain.next({ type: 'SessionClosed' as const, eventId: newId(), occurredAt: tick(), sessionId: this.sessionId, durationMs: 5000, reason: 'client disconnected' });
  }
}
