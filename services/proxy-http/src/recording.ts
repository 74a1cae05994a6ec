import { newId, type HttpCommand, type Identity, type ResourceRef } from '@portcullis/schemas';
import { maskText, ALL_DETECTORS, CommandRefusal, judgeCommand, SessionRecord, type Arrival, type JudgeOptions, type JudgeOutcome, type Logger } from '@portcullis/kit';
import type { CommandGate, SessionEventSink } from './ports.ts';

/**
 * One Portcullis session per caller connection, resource and token (or per
 * upgraded stream): SessionOpened → for every request CommandRequested
 * (through the gate) → CommandCompleted → OutputRecorded → … →
 * SessionClosed when the connection closes, all on one hash chain.
 * SessionOpened is written with the first command (one Kafka round trip);
 * nothing is forwarded before both are durable. The closing events of a
 * request are written after its response, in order.
 */
export class HttpSession {
  readonly sessionId = `http-${newId()}`;
  private readonly record: SessionRecord;
  /** SessionOpened durable in Kafka; a session whose opening failed forwards nothing. */
  readonly opening: Promise<void>;
  private closed = false;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: { sink: SessionEventSink; gate: CommandGate; logger: Logger },
    readonly identity: Identity,
    readonly resource: ResourceRef,
    opened: { clientAddress: string; userAgent?: string | undefined; tokenExpiresAt?: string | undefined; arrival?: Arrival },
  ) {
    this.record = new SessionRecord(this.sessionId, identity, resource, 'http', deps.sink, deps.logger, opened.arrival ? { arrival: opened.arrival } : {});
    this.opening = this.record.opened({
      clientAddress: opened.clientAddress,
      ...(opened.userAgent ? { applicationName: opened.userAgent } : {}),
      ...(opened.tokenExpiresAt ? { tokenExpiresAt: opened.tokenExpiresAt } : {}),
    });
    // Observed by the first judge; a failure is also logged here in case no request waits for it.
    this.opening.catch((err: unknown) => deps.logger.error({ sessionId: this.sessionId, err: (err as Error).message }, 'SessionOpened could not be written'));
  }

  /**
   * The command through the gateway's one judge path (kit's judgeCommand), in
   * flight together with SessionOpened; the outcome is a refusal unless both
   * are durable.
   */
  async judge(command: HttpCommand, options: JudgeOptions, commandId: string = newId(), reason?: string): Promise<JudgeOutcome> {
    const requested = this.record.commandRequested(command, reason?.slice(0, 2000), commandId);
    const judged = judgeCommand(this.deps.gate, requested, options);
    try {
      await this.opening;
    } catch (err) {
      // Not run either way; a hold the caller would wait for is withdrawn by the judge path once the caller goes.
      void judged.catch(() => undefined);
      return { run: false, refusal: new CommandRefusal('PCL_ERR_BUS_UNAVAILABLE', `the session could not be recorded: ${(err as Error).message}`, { cause: err }) };
    }
    return judged;
  }

  /** Records how a command ended (CommandCompleted, then its masked OutputRecorded); failures are logged. */
  completeCommand(outcome: CommandOutcome): void {
    this.record.commandCompleted({
      commandId: outcome.commandId,
      status: outcome.status,
      durationMs: outcome.durationMs,
      ...(outcome.tag ? { tag: outcome.tag } : {}),
      ...(outcome.error ? { error: outcome.error.slice(0, 2000) } : {}),
    });
    if (outcome.excerpt) {
      this.record.outputRecorded({
        commandId: outcome.commandId,
        format: 'http',
        // Second line of defence: whatever the verdict, the record gets the content detectors.
        text: scrub(maskText(outcome.excerpt.text, ALL_DETECTORS), outcome.scrub ?? []),
        truncated: outcome.excerpt.truncated,
      });
    }
  }

  /** Records the end of the session once, after everything queued. */
  close(reason?: string): Promise<void> {
    if (this.closed) return this.tail;
    this.closed = true;
    this.tail = this.record.closed(reason);
    return this.tail;
  }
}

export interface CommandOutcome {
  commandId: string;
  status: 'executed' | 'failed' | 'refused' | 'cancelled';
  /** Since the request arrived. */
  durationMs: number;
  tag?: string;
  error?: string;
  excerpt?: { text: string; truncated: boolean };
  /** Values that must never reach the record (the injected credential, should an upstream echo it). */
  scrub?: string[];
}

/** Keeps the first `limit` bytes of a response for OutputRecorded. */
export class ExcerptCapture {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly limit: number) {}
  add(chunk: Buffer): void {
    if (this.size >= this.limit) {
      if (chunk.length > 0) this.truncated = true;
      return;
    }
    const part = chunk.subarray(0, this.limit - this.size);
    if (part.length < chunk.length) this.truncated = true;
    this.chunks.push(part);
    this.size += part.length;
  }
  result(contentType: string | undefined): { text: string; truncated: boolean } {
    const ct = (contentType ?? '').toLowerCase();
    const textual = ct === '' || ct.includes('json') || ct.startsWith('text/') || ct.includes('xml') || ct.includes('yaml');
    if (!textual) return { text: `[${this.size}${this.truncated ? '+' : ''} bytes of ${contentType}]`, truncated: this.truncated };
    return { text: Buffer.concat(this.chunks).toString('utf8'), truncated: this.truncated };
  }
}

function scrub(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('****');
  return out;
}
