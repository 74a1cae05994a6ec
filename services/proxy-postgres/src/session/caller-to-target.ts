/**
 * Caller → target: each frontend message in the order it arrives (docs
 * "Message Flow"). Every statement that can run — a Query, a Parse, each
 * Execute of a portal with its bound parameters, each FunctionCall — is a
 * command: recorded on Kafka with its verdict before the target sees it.
 * What is refused never reaches the target; a placeholder that fails keeps
 * the target's protocol state in step (refusals.ts).
 */
import { serialize } from 'pg-protocol';
import { judgeCommand, maskText, type CommandRefusal } from '@portcullis/kit';
import type { CommandRequested, Detector, SqlCommand, VerdictIssued } from '@portcullis/schemas';
import { analyseCopyToStdout } from '../copy-statement.ts';
import { notice, PgClientError, SqlState } from '../errors.ts';
import { InvalidClientText, lenientText } from '../client-encoding.ts';
import { OutputCapture, renderParameters } from '../recording.ts';
import { planResult } from '../result-masking.ts';
import { mayChangeSettingsUnseen } from '../target-settings.ts';
import { ProtocolViolation, type Frame, type MessageFramer } from '../wire/framing.ts';
import { decodeFrontendMessage, type FrontendMessage } from '../wire/frontend-messages.ts';
import type { SessionContext } from './context.ts';
import type { Run, Statement } from './protocol-book.ts';
import { forwardRefusal, refusalOf } from './refusals.ts';

export const CLIENT_BUFFER_LIMIT = 1024 * 1024;

type Decision =
  | { run: true; event: CommandRequested; verdict: VerdictIssued }
  | { run: false; event: CommandRequested; error: PgClientError };

export class CallerToTarget {
  private pumping = false;

  constructor(
    private readonly ctx: SessionContext,
    private readonly framer: MessageFramer,
    private readonly fail: (err: unknown) => void,
    private readonly end: (reason: string) => void,
  ) {}

  get bufferedBytes(): number {
    return this.framer.bufferedBytes;
  }

  async pump(): Promise<void> {
    const { ctx } = this;
    if (this.pumping || ctx.closed) return;
    this.pumping = true;
    try {
      for (;;) {
        const frame = this.framer.next();
        if (!frame) break;
        let msg: FrontendMessage;
        try {
          msg = decodeFrontendMessage(frame.type, frame.payload, ctx.settings.codec.isUtf8 ? undefined : ctx.settings.codec.decode);
        } catch (err) {
          if (!(err instanceof InvalidClientText)) throw err;
          // PostgreSQL would refuse these bytes too (22021); the statement is refused, the session goes on.
          const refusal = new PgClientError('22021', err.message, { code: 'PCL_ERR_PG_CLIENT_ENCODING' });
          if (frame.type === 0x51 /* Q */) forwardRefusal(ctx, 'query', refusal);
          else if (!ctx.book.skipUntilSync) forwardRefusal(ctx, 'extended', refusal);
          continue;
        }
        if (msg.type === 'Query' || msg.type === 'FunctionCall') {
          const settled = ctx.unseenSettings.wait();
          if (settled) await settled;
          if (ctx.closed) return;
        }
        const handled = this.onMessage(msg, frame);
        if (handled) await handled;
        if (ctx.closed) return;
      }
      if (this.framer.bufferedBytes <= CLIENT_BUFFER_LIMIT) ctx.clientValve.open('buffered');
    } catch (err) {
      this.fail(err);
    } finally {
      this.pumping = false;
    }
  }

  private onMessage(msg: FrontendMessage, frame: Frame): Promise<void> | void {
    const { ctx } = this;
    const book = ctx.book;
    switch (msg.type) {
      case 'Query':
        return this.onQuery(msg.text, frame);
      case 'Parse':
        if (book.skipUntilSync) return;
        return this.onParse(msg, frame);
      case 'Bind':
        if (book.skipUntilSync) return;
        return this.onBind(msg, frame);
      case 'Describe': {
        if (book.skipUntilSync) return;
        const portal = msg.target === 'P' ? book.portals.get(msg.name) : undefined;
        const statement = msg.target === 'S' ? book.statements.get(msg.name) : undefined;
        book.pending.push({ kind: 'describe', ...(portal ? { portal } : {}), ...(statement ? { statement } : {}) });
        ctx.writeTarget(frame.raw);
        return;
      }
      case 'Execute':
        if (book.skipUntilSync) return;
        return this.onExecute(msg, frame);
      case 'Close':
        if (book.skipUntilSync) return;
        if (msg.target === 'S') book.statements.delete(msg.name);
        else book.portals.delete(msg.name);
        book.pending.push({ kind: 'close' });
        ctx.writeTarget(frame.raw);
        return;
      case 'Sync':
        book.skipUntilSync = false;
        book.pending.push({ kind: 'sync' });
        ctx.writeTarget(frame.raw);
        return;
      case 'Flush':
        if (book.skipUntilSync) return;
        ctx.writeTarget(frame.raw);
        return;
      case 'CopyData':
      case 'CopyDone':
      case 'CopyFail':
        // COPY FROM STDIN data belongs to the COPY statement already judged.
        ctx.writeTarget(frame.raw);
        return;
      case 'FunctionCall':
        return this.onFunctionCall(msg, frame);
      case 'Terminate':
        ctx.writeTarget(frame.raw);
        this.end('client terminated the session');
        return;
      case 'Password':
        throw new ProtocolViolation('unexpected password message after authentication');
      default: {
        const never: never = msg;
        throw new ProtocolViolation(`unexpected message ${(never as FrontendMessage).type}`);
      }
    }
  }

  /** Simple Query (docs "Simple Query"): the whole string is one command; refused, none of it runs. */
  private async onQuery(text: string, frame: Frame): Promise<void> {
    const { ctx } = this;
    const decision = await this.decide({ kind: 'sql', text, phase: 'simple' });
    if (ctx.closed) return;
    if (!decision.run) return forwardRefusal(ctx, 'query', decision.error);
    if (mayChangeSettingsUnseen(decision.verdict.classes ?? [])) ctx.unseenSettings.hold();
    const run = this.newRun(decision.event.commandId, decision.verdict);
    if (run.mask) {
      const copy = analyseCopyToStdout(text);
      if (copy && copy.format !== 'text') {
        const error = new PgClientError(SqlState.featureNotSupported, `Portcullis masks COPY TO STDOUT only in text format with the default delimiter; this statement asks for ${copy.format === 'custom-text' ? 'custom text options' : copy.format}`, { code: 'PCL_ERR_PG_COPY_FORMAT' });
        ctx.record.commandCompleted({ commandId: run.commandId, status: 'refused', error: error.message, durationMs: 0 });
        return forwardRefusal(ctx, 'query', error);
      }
      if (copy?.select) {
        try {
          const columns = await ctx.catalog().describe(copy.select);
          run.copyPlan = await planResult(columns, run.mask, ctx.catalog(), ctx.logger, ctx.masking!);
        } catch {
          run.copyPlan = undefined; // masked whole at CopyOutResponse
        }
        if (ctx.closed) return;
      }
    }
    ctx.book.pending.push({ kind: 'query', run });
    ctx.writeTarget(frame.raw);
  }

  /**
   * Parse (docs "Extended Query"): the text is judged with phase 'parse' before the target sees it,
   * so a statement the policy blocks is refused before it is even prepared. Nothing runs at Parse:
   * each Execute is its own command (onExecute).
   */
  private async onParse(msg: FrontendMessage & { type: 'Parse' }, frame: Frame): Promise<void> {
    const { ctx } = this;
    const decision = await this.decide({ kind: 'sql', text: msg.text, phase: 'parse', statementName: msg.statement });
    if (ctx.closed) return;
    if (ctx.book.skipUntilSync) {
      // The target failed an earlier message of this batch while we waited: it discards this one.
      if (decision.run) ctx.record.commandCompleted({ commandId: decision.event.commandId, status: 'failed', error: 'not executed: an earlier message in the same batch failed', durationMs: 0 });
      return;
    }
    if (!decision.run) return forwardRefusal(ctx, 'extended', decision.error);
    const statement: Statement = { name: msg.statement, text: msg.text, commandId: decision.event.commandId, verdict: decision.verdict };
    ctx.book.statements.set(msg.statement, statement);
    ctx.book.pending.push({ kind: 'parse', statement });
    ctx.writeTarget(frame.raw);
  }

  private onBind(msg: FrontendMessage & { type: 'Bind' }, frame: Frame): void {
    const { ctx } = this;
    const statement = ctx.book.statements.get(msg.statement);
    if (!statement) {
      return forwardRefusal(
        ctx,
        'extended',
        new PgClientError('26000', `prepared statement "${msg.statement}" was not prepared through Portcullis in this session, so it cannot be judged`, { code: 'PCL_ERR_PG_UNKNOWN_STATEMENT' }),
      );
    }
    const parameters = renderParameters(msg.parameters, msg.parameterFormats, lenientText(ctx.settings.codec).decode);
    ctx.book.portals.set(msg.portal, { statement, parameters: this.scrubbed(parameters, statement.verdict) });
    ctx.book.pending.push({ kind: 'bind' });
    ctx.writeTarget(frame.raw);
  }

  /**
   * Execute: every execution is its own command — the statement's text with the portal's bound
   * parameters (phase 'bind'), judged under the policy in force now and recorded with its verdict
   * before the target runs it. The text's analysis is cached; the record is not. Under a mask
   * verdict the proxy first describes the portal itself, so rows are masked even when the caller
   * never sent Describe.
   */
  private async onExecute(msg: FrontendMessage & { type: 'Execute' }, frame: Frame): Promise<void> {
    const { ctx } = this;
    const portal = ctx.book.portals.get(msg.portal);
    if (!portal) {
      return forwardRefusal(
        ctx,
        'extended',
        new PgClientError('34000', `portal "${msg.portal}" was not bound through Portcullis in this session, so it cannot be judged`, { code: 'PCL_ERR_PG_UNKNOWN_PORTAL' }),
      );
    }
    const statement = portal.statement;
    const decision = await this.decide({ kind: 'sql', text: statement.text, phase: 'bind', statementName: statement.name, parameters: portal.parameters });
    if (ctx.closed) return;
    if (ctx.book.skipUntilSync) {
      if (decision.run) ctx.record.commandCompleted({ commandId: decision.event.commandId, status: 'failed', error: 'not executed: an earlier message in the same batch failed', durationMs: 0 });
      return;
    }
    if (!decision.run) return forwardRefusal(ctx, 'extended', decision.error);
    const run = this.newRun(decision.event.commandId, decision.verdict);
    run.columns = portal.columns ?? statement.columns;
    if (run.mask) {
      ctx.book.pending.push({ kind: 'describe', internalFor: run });
      ctx.writeTarget(serialize.describe({ type: 'P', name: msg.portal }));
    }
    ctx.book.pending.push({ kind: 'execute', run });
    ctx.writeTarget(frame.raw);
  }

  /** FunctionCall (docs "Function Call"): judged with phase 'function-call'; policies block it unless a rule allows it. */
  private async onFunctionCall(msg: FrontendMessage & { type: 'FunctionCall' }, frame: Frame): Promise<void> {
    const { ctx } = this;
    const parameters = this.scrubbed(renderParameters(msg.arguments, msg.argumentFormats, lenientText(ctx.settings.codec).decode));
    const decision = await this.decide({ kind: 'sql', text: `FunctionCall(${msg.functionOid})`, phase: 'function-call', functionOid: msg.functionOid, parameters });
    if (ctx.closed) return;
    if (!decision.run) return forwardRefusal(ctx, 'function-call', decision.error);
    ctx.unseenSettings.hold();
    ctx.book.pending.push({ kind: 'function-call', run: this.newRun(decision.event.commandId, decision.verdict) });
    ctx.writeTarget(frame.raw);
  }

  /**
   * Parameter values as the record keeps them: secrets and card numbers always masked, and the
   * detectors of the statement's mask verdict and of every earlier mask verdict of the session.
   */
  private scrubbed(parameters: (string | null)[], verdict?: VerdictIssued): (string | null)[] {
    const detectors = new Set<Detector>(this.ctx.scrubDetectors);
    for (const d of verdict?.mask?.detectors ?? []) detectors.add(d);
    const list = [...detectors];
    return parameters.map((p) => (p === null ? null : maskText(p, list)));
  }

  /**
   * CommandRequested → VerdictIssued, before anything is forwarded. Hold
   * waits for the final verdict; every failure to get a verdict refuses
   * the statement (fail closed).
   */
  private async decide(command: SqlCommand): Promise<Decision> {
    const { ctx } = this;
    const record = ctx.record;
    const event = record.commandRequested(command, ctx.caller.reason);
    const startedAt = performance.now();
    const abort = new AbortController();
    ctx.waiting = abort;
    const refuse = ([error, status]: [PgClientError, 'refused' | 'cancelled']): Decision => {
      record.commandCompleted({ commandId: event.commandId, status, error: error.message, durationMs: performance.now() - startedAt });
      return { run: false, event, error };
    };
    try {
      // The gateway's one judge path (kit's judgeCommand): deadline backstop, abort, hold → final verdict,
      // and the approval withdrawn when no one waits for it any more.
      const outcome = await judgeCommand(ctx.deps.gate, event, {
        timeoutMs: ctx.deps.config.verdictTimeoutMs,
        holdTimeoutMs: ctx.deps.config.holdTimeoutMs,
        signal: abort.signal,
        onHold: (held) => {
          const approvalId = held.approvalId ?? event.commandId;
          ctx.writeClient(
            notice(
              `Portcullis is holding this statement for approval ${approvalId} (rule ${held.ruleIds.join(', ') || 'unnamed'}${held.reasons.length ? `: ${held.reasons.join('; ')}` : ''})`,
              `an approver can run: portcullis approvals grant ${approvalId}`,
            ),
          );
        },
      });
      if (!outcome.run) return refuse(refusalOf(outcome.refusal as CommandRefusal));
      const verdict = outcome.verdict;
      if (verdict.effect === 'mask') {
        for (const detector of verdict.mask?.detectors ?? []) ctx.scrubDetectors.add(detector);
        try {
          ctx.masking ??= await ctx.deps.loadMasking();
        } catch (err) {
          ctx.logger.error({ err: (err as Error).message }, 'masking library unavailable');
          return refuse([new PgClientError(SqlState.internalError, 'Portcullis must mask the results of this statement but its masking is unavailable, so it was not run', { code: 'PCL_ERR_PG_MASKING_UNAVAILABLE' }), 'refused']);
        }
      }
      return { run: true, event, verdict };
    } finally {
      if (ctx.waiting === abort) ctx.waiting = undefined;
    }
  }

  private newRun(commandId: string, verdict: VerdictIssued): Run {
    const { ctx } = this;
    return {
      commandId,
      startedAt: performance.now(),
      mask: verdict.effect === 'mask' ? (verdict.mask ?? { columns: [], referenced: [], derived: true, fields: [], detectors: [] }) : undefined,
      columns: undefined,
      plan: undefined,
      copyPlan: undefined,
      rows: 0,
      rowsSeen: 0,
      tag: undefined,
      error: undefined,
      output: new OutputCapture(ctx.deps.config.recording, lenientText(ctx.settings.codec).decode),
      done: false,
    };
  }
}
