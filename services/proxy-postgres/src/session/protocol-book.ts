/**
 * Extended-protocol bookkeeping (docs "Extended Query"): the responses the
 * target owes for what the proxy forwarded, in order; the prepared
 * statements and portals of the session with the verdicts they were judged
 * under; and each execution whose results the proxy watches (a Run).
 */
import type { MaskSpec, VerdictIssued } from '@portcullis/schemas';
import type { SessionRecord } from '@portcullis/kit';
import type { ResultColumn } from '../catalog.ts';
import type { PgClientError } from '../errors.ts';
import type { OutputCapture } from '../recording.ts';
import type { ResultPlan } from '../result-masking.ts';
import type { TransactionStatus } from '../wire/backend-messages.ts';

/** One execution of a statement whose results the proxy watches (masking, recording). */
export interface Run {
  commandId: string;
  startedAt: number;
  mask: MaskSpec | undefined;
  columns: ResultColumn[] | undefined;
  plan: ResultPlan | undefined;
  copyPlan: ResultPlan | undefined;
  rows: number;
  rowsSeen: number;
  tag: string | undefined;
  error: string | undefined;
  output: OutputCapture;
  done: boolean;
}

/** A statement prepared through Portcullis (Parse), with the verdict it was parsed under. */
export interface Statement {
  name: string;
  text: string;
  commandId: string;
  verdict: VerdictIssued;
  columns?: ResultColumn[];
}

export interface Portal {
  statement: Statement;
  /** Bound values as recorded: text form, already scrubbed. */
  parameters: (string | null)[];
  columns?: ResultColumn[];
}

/** A response the target owes for a message the proxy forwarded, in order. */
export type Expectation =
  | { kind: 'query' | 'function-call'; run?: Run; refusal?: PgClientError }
  | { kind: 'parse'; statement: Statement; run?: undefined; refusal?: undefined }
  | { kind: 'bind' | 'close' | 'sync'; run?: undefined; refusal?: undefined }
  | { kind: 'describe'; portal?: Portal; statement?: Statement; internalFor?: Run; run?: undefined; refusal?: undefined }
  | { kind: 'execute'; run: Run; refusal?: undefined }
  | { kind: 'refusal'; refusal: PgClientError; run?: undefined };

export class ProtocolBook {
  readonly pending: Expectation[] = [];
  readonly statements = new Map<string, Statement>();
  readonly portals = new Map<string, Portal>();
  /** After an error in the extended protocol, messages are discarded until Sync (docs "Extended Query"). */
  skipUntilSync = false;
  transactionStatus: TransactionStatus = 'I';

  constructor(private readonly record: SessionRecord) {}

  /** CommandCompleted for a run, once. */
  completeRun(run: Run): void {
    if (run.done) return;
    run.done = true;
    this.record.commandCompleted({
      commandId: run.commandId,
      status: run.error !== undefined ? 'failed' : 'executed',
      rows: run.rows,
      ...(run.tag !== undefined ? { tag: run.tag } : {}),
      ...(run.error !== undefined ? { error: run.error } : {}),
      durationMs: performance.now() - run.startedAt,
    });
  }

  /** The session ends: every run still owed is recorded cancelled. */
  cancelAll(reason: string): void {
    for (const e of this.pending) {
      if (e.run && !e.run.done) {
        e.run.done = true;
        this.record.commandCompleted({ commandId: e.run.commandId, status: 'cancelled', error: `session ended: ${reason}`, rows: e.run.rows, durationMs: performance.now() - e.run.startedAt });
      }
    }
    this.pending.length = 0;
  }
}
