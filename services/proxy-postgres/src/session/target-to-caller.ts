/**
 * Target → caller: each backend message matched, in order, to what the
 * proxy forwarded (docs "Message Formats"). Result rows and COPY lines are
 * masked under a mask verdict and captured for the record; the target's
 * error and notice texts are scrubbed; a refusal's placeholder error becomes
 * the refusal; ParameterStatus is followed (a pinned setting moving away
 * ends the session).
 */
import type { CopyResponse, ParameterStatusMessage, RowDescriptionMessage } from 'pg-protocol/dist/messages.js';
import { toResultColumns, type ResultColumn } from '../catalog.ts';
import { PgClientError, SqlState } from '../errors.ts';
import { lenientText } from '../client-encoding.ts';
import { rowsFromTag } from '../recording.ts';
import { maskCopyLine, maskRowValues, planEverything, planResult, sameMessage, scrubTargetMessage } from '../result-masking.ts';
import { decodeDataRow, decodeNoticeFields, encodeCopyData, encodeDataRow, encodeErrorResponse, encodeNoticeResponse, type TransactionStatus } from '../wire/backend-messages.ts';
import { parseBackendMessage } from '../wire/backend-parser.ts';
import type { Frame, MessageFramer } from '../wire/framing.ts';
import type { SessionContext } from './context.ts';
import type { Run } from './protocol-book.ts';

export class TargetToCaller {
  private pumping = false;

  constructor(
    private readonly ctx: SessionContext,
    private readonly framer: MessageFramer,
    private readonly fail: (err: unknown) => void,
  ) {}

  pump(): void {
    const { ctx } = this;
    if (this.pumping || ctx.closed) return;
    this.pumping = true;
    const out: Buffer[] = [];
    const flush = (): void => {
      if (out.length === 0) return;
      ctx.writeClient(out.length === 1 ? out[0]! : Buffer.concat(out));
      out.length = 0;
    };
    try {
      for (;;) {
        const frame = this.framer.next();
        if (!frame) break;
        const waitFor = this.onMessage(frame, out);
        if (waitFor) {
          // Masking needs the catalog: hold the target's stream until the plan is ready.
          flush();
          ctx.targetValve.close('planning');
          waitFor.then(
            () => {
              this.pumping = false;
              ctx.targetValve.open('planning');
              this.pump();
            },
            (err: unknown) => {
              this.pumping = false;
              this.fail(err);
            },
          );
          return;
        }
      }
      flush();
    } catch (err) {
      flush();
      this.fail(err);
    }
    this.pumping = false;
  }

  private onMessage(frame: Frame, out: Buffer[]): Promise<void> | void {
    const { ctx } = this;
    const book = ctx.book;
    const head = book.pending[0];
    const run = head?.run;
    switch (frame.type) {
      case 0x44 /* D DataRow */: {
        if (!run) {
          out.push(frame.raw);
          return;
        }
        run.rowsSeen++;
        if (run.mask) {
          run.plan ??= planEverything(run.columns ?? [], run.mask, ctx.masking!);
          if (run.plan.active) {
            const masked = maskRowValues(decodeDataRow(frame.payload), run.plan, ctx.settings.codec);
            out.push(encodeDataRow(masked));
            if (run.output.wantsRows) run.output.add(masked, run.plan.columns);
            return;
          }
        }
        if (run.output.wantsRows) run.output.add(decodeDataRow(frame.payload), run.columns);
        out.push(frame.raw);
        return;
      }
      case 0x64 /* d CopyData (COPY TO STDOUT) */: {
        let data = frame.payload;
        if (run?.mask) {
          run.plan ??= planEverything([], run.mask, ctx.masking!);
          data = maskCopyLine(data, run.plan, ctx.settings.codec);
          out.push(data === frame.payload ? frame.raw : encodeCopyData(data));
        } else out.push(frame.raw);
        if (run?.output.wantsRows) run.output.addStrings(copyLineValues(data, lenientText(ctx.settings.codec).decode));
        return;
      }
      case 0x54 /* T RowDescription */: {
        const columns = toResultColumns(parseBackendMessage(frame) as RowDescriptionMessage);
        if (head?.kind === 'describe') {
          book.pending.shift();
          if (head.internalFor) return this.setColumns(head.internalFor, columns);
          if (head.portal) head.portal.columns = columns;
          if (head.statement) head.statement.columns = columns;
          out.push(frame.raw);
          return;
        }
        out.push(frame.raw);
        if (run) return this.setColumns(run, columns);
        return;
      }
      case 0x6e /* n NoData */:
        if (head?.kind === 'describe') {
          book.pending.shift();
          if (head.internalFor) return;
        }
        out.push(frame.raw);
        return;
      case 0x74 /* t ParameterDescription */:
        out.push(frame.raw);
        return;
      case 0x43 /* C CommandComplete */: {
        out.push(frame.raw);
        if (!run) return;
        const tag = frame.payload.toString('utf8', 0, Math.max(0, frame.payload.length - 1));
        run.tag = tag;
        run.rows += rowsFromTag(tag) ?? 0;
        this.recordOutput(run);
        if (head?.kind === 'execute') {
          book.pending.shift();
          book.completeRun(run);
        }
        return;
      }
      case 0x49 /* I EmptyQueryResponse */:
      case 0x73 /* s PortalSuspended */:
        out.push(frame.raw);
        if (head?.kind === 'execute') {
          book.pending.shift();
          head.run.rows += frame.type === 0x73 ? head.run.rowsSeen : 0;
          this.recordOutput(head.run);
          book.completeRun(head.run);
        }
        return;
      case 0x31 /* 1 ParseComplete */:
        if (head?.kind === 'parse') {
          book.pending.shift();
          // The statement is prepared; its executions are commands of their own.
          ctx.record.commandCompleted({ commandId: head.statement.commandId, status: 'executed', tag: 'PARSE', durationMs: 0 });
        }
        out.push(frame.raw);
        return;
      case 0x32 /* 2 BindComplete */:
      case 0x33 /* 3 CloseComplete */:
        if (head && (head.kind === 'bind' || head.kind === 'close')) book.pending.shift();
        out.push(frame.raw);
        return;
      case 0x48 /* H CopyOutResponse */: {
        if (run?.mask) {
          const copy = parseBackendMessage(frame) as CopyResponse;
          if (copy.binary) throw new PgClientError(SqlState.featureNotSupported, 'Portcullis cannot mask binary COPY output; the session is closed', { severity: 'FATAL', code: 'PCL_ERR_PG_COPY_FORMAT' });
          run.plan = run.copyPlan && run.copyPlan.columns.length === copy.columnTypes.length ? run.copyPlan : planEverything([], run.mask, ctx.masking!);
        }
        out.push(frame.raw);
        return;
      }
      case 0x45 /* E ErrorResponse */:
        return this.onError(frame, out);
      case 0x4e /* N NoticeResponse */: {
        const text = lenientText(ctx.settings.codec);
        const fields = decodeNoticeFields(frame.payload, text.decode);
        const scrubbed = scrubTargetMessage(fields, ctx.scrubDetectors, ctx.masking);
        out.push(sameMessage(fields, scrubbed) ? frame.raw : encodeNoticeResponse(scrubbed, text.encode));
        return;
      }
      case 0x5a /* Z ReadyForQuery */: {
        book.transactionStatus = String.fromCharCode(frame.payload[0] ?? 0x49) as TransactionStatus;
        // Completes the Query / FunctionCall / Sync at the head (and anything the target skipped before it).
        while (book.pending.length > 0) {
          const e = book.pending.shift()!;
          if (e.run && !e.run.done) book.completeRun(e.run);
          if (e.kind === 'sync' || e.kind === 'query' || e.kind === 'function-call') break;
        }
        // Any ParameterStatus of what was forwarded has arrived by now (it precedes ReadyForQuery).
        if (book.pending.length === 0) ctx.unseenSettings.release();
        out.push(frame.raw);
        return;
      }
      case 0x53 /* S ParameterStatus */: {
        // Follows the client encoding; a pinned setting reported away from its value ends the session (throws FATAL).
        const status = parseBackendMessage(frame) as ParameterStatusMessage;
        ctx.settings.follow(status.parameterName, status.parameterValue);
        out.push(frame.raw);
        return;
      }
      default:
        // NotificationResponse, CopyInResponse, CopyDone, FunctionCallResponse …
        out.push(frame.raw);
        return;
    }
  }

  private setColumns(run: Run, columns: ResultColumn[]): Promise<void> | void {
    const { ctx } = this;
    run.columns = columns;
    run.output.setColumns(columns);
    if (!run.mask) return;
    return planResult(columns, run.mask, ctx.catalog(), ctx.logger, ctx.masking!).then((plan) => {
      run.plan = plan;
    });
  }

  /**
   * ErrorResponse: a refusal's placeholder error becomes the refusal; the
   * target's own errors keep their SQLSTATE and have their texts scrubbed
   * (and are recorded scrubbed). In the extended protocol the target now
   * discards everything up to Sync, and so do we.
   */
  private onError(frame: Frame, out: Buffer[]): void {
    const { ctx } = this;
    const book = ctx.book;
    const head = book.pending[0];
    const text = lenientText(ctx.settings.codec);
    const original = decodeNoticeFields(frame.payload, text.decode);
    const fields = scrubTargetMessage(original, ctx.scrubDetectors, ctx.masking);
    if (head?.refusal) {
      out.push(head.refusal.encode(text.encode));
    } else {
      out.push(sameMessage(original, fields) ? frame.raw : encodeErrorResponse(fields, text.encode));
    }
    if (!head) return;
    if (head.run) head.run.error = fields.M;
    if (head.kind === 'query' || head.kind === 'function-call') return;
    // Extended protocol: everything up to the next Sync is skipped by the target.
    let first = true;
    while (book.pending.length > 0 && book.pending[0]!.kind !== 'sync') {
      const e = book.pending.shift()!;
      const run = e.run ?? (e.kind === 'describe' ? e.internalFor : undefined);
      if (run && !run.done) {
        run.error ??= first ? fields.M : 'not executed: an earlier message in the same batch failed';
        book.completeRun(run);
      } else if (e.kind === 'parse') {
        ctx.record.commandCompleted({ commandId: e.statement.commandId, status: 'failed', error: first ? fields.M : 'not prepared: an earlier message in the same batch failed', durationMs: 0 });
      }
      first = false;
    }
    if (book.pending.length === 0) book.skipUntilSync = true;
  }

  private recordOutput(run: Run): void {
    if (!run.output.enabled) return;
    const taken = run.output.take();
    if (taken.rows.length === 0) return;
    this.ctx.record.outputRecorded({ commandId: run.commandId, format: 'rows', columns: taken.columns, rows: taken.rows, truncated: taken.truncated });
  }
}

/** A COPY text-format line as recorded values (tab-separated, \N = NULL). */
function copyLineValues(line: Buffer, decode: (bytes: Buffer) => string): (string | null)[] {
  const text = decode(line).replace(/\r?\n$/, '');
  return text.split('\t').map((v) => (v === '\\N' ? null : v));
}
