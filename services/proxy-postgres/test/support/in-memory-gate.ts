import { newId, nowIso, type CommandRequested, type MaskSpec, type VerdictIssued } from '@portcullis/schemas';
import type { CommandGate } from '../../src/ports.ts';

export interface VerdictDraft {
  effect: VerdictIssued['effect'];
  ruleIds?: string[];
  reasons?: string[];
  mask?: Partial<MaskSpec>;
  approvalId?: string;
  policyVersion?: number;
}

export type Judge = (command: CommandRequested) => VerdictDraft | Promise<VerdictDraft>;

export function verdictFor(command: CommandRequested, draft: VerdictDraft, final = draft.effect !== 'hold'): VerdictIssued {
  return {
    type: 'VerdictIssued',
    eventId: newId(),
    occurredAt: nowIso(),
    sessionId: command.sessionId,
    commandId: command.commandId,
    effect: draft.effect,
    ruleIds: draft.ruleIds ?? [],
    reasons: draft.reasons ?? [],
    ...(draft.mask ? { mask: { columns: [], referenced: [], derived: false, fields: [], detectors: [], ...draft.mask } } : {}),
    ...(draft.approvalId ? { approvalId: draft.approvalId } : {}),
    policyVersion: draft.policyVersion ?? 1,
    final,
    classes: [],
  };
}

/**
 * A CommandGate for the engine's tests: the verdict is a function of the
 * command; hold verdicts are resolved by the test with `decideHeld`.
 */
export class InMemoryGate implements CommandGate {
  readonly commands: CommandRequested[] = [];
  private readonly held = new Map<string, { command: CommandRequested; resolve: (v: VerdictIssued) => void; reject: (e: Error) => void; final?: VerdictDraft }>();
  private readonly heldWaiters: Array<(command: CommandRequested) => void> = [];
  policyVersion: number | undefined;

  constructor(public judgeWith: Judge) {}

  async judge(command: CommandRequested, options?: { timeoutMs?: number }): Promise<VerdictIssued> {
    this.commands.push(command);
    const draft = await this.judgeWith(command);
    const verdict = verdictFor(command, draft);
    if (verdict.effect === 'hold') {
      this.held.set(command.commandId, { command, resolve: () => undefined, reject: () => undefined });
      for (const w of this.heldWaiters.splice(0)) w(command);
    }
    void options;
    return verdict;
  }

  awaitFinal(commandId: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<VerdictIssued> {
    const entry = this.held.get(commandId);
    if (!entry) return Promise.reject(new Error(`no held command ${commandId}`));
    return new Promise<VerdictIssued>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('approval timed out')), options.timeoutMs);
      options.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(new Error('aborted'));
      });
      entry.resolve = (v) => {
        clearTimeout(timer);
        resolve(v);
      };
      entry.reject = (e) => {
        clearTimeout(timer);
        reject(e);
      };
      if (entry.final) entry.resolve(verdictFor(entry.command, entry.final, true));
    });
  }

  /** Resolves when a command is held. */
  nextHeld(): Promise<CommandRequested> {
    return new Promise((resolve) => this.heldWaiters.push(resolve));
  }

  decideHeld(commandId: string, draft: VerdictDraft): void {
    const entry = this.held.get(commandId);
    if (!entry) throw new Error(`no held command ${commandId}`);
    entry.final = draft;
    entry.resolve(verdictFor(entry.command, draft, true));
  }

  currentPolicyVersion(): number | undefined {
    return this.policyVersion;
  }

  texts(): string[] {
    return this.commands.map((c) => (c.command.kind === 'sql' ? c.command.text : ''));
  }
}
