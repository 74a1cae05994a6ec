import { newId, type HttpCommand, type Identity, type ResourceRef } from '@portcullis/schemas';
import { maskText, ALL_DETECTORS, judgeCommand, SessionRecord, type Arrival, type JudgeOptions, type JudgeOutcome, type Logger } from '@portcullis/kit';
import type { CommandGate, SessionEventSink } from './ports.ts';

/**
 * One session per HTTP request (or per upgraded connection):
 * SessionOpened → CommandRequested (through the gate) → CommandCompleted →
 * OutputRecorded → SessionClosed, all on one hash chain. SessionOpened and
 * CommandRequested are durable before anything is forwarded; the closing
 * events are written after the response, in order.
 */
export class RequestSession {
  readonly sessionId = `http-${newId()}`;
  readonly commandId = newId();
  private readonly record: SessionRecord;
  private tail: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly deps: { sink: SessionEventSink; gate: CommandGate; logger: Logger },
    readonly identity: Identity,
    readonly resource: ResourceRef,
    /** When the request arrived and its token was verified (the session's trace starts there). */
    arrival?: Arrival,
  ) {
    this.record = new SessionRecord(this.sessionId, identity, resource, 'http', deps.sink, deps.logger, arrival ? { arrival } : {});
  }

  open(clientAddress: string, userAgent?: string, tokenExpiresAt?: string): Promise<void> {
    return this.record.opened({ clientAddress, ...(userAgent ? { applicationName: userAgent } : {}), ...(tokenExpiresAt ? { tokenExpiresAt } : {}) });
  }

  /** The command through the gateway's one judge path (kit's judgeCommand). */
  judge(command: HttpCommand, options: JudgeOptions, reason?: string): Promise<JudgeOutcome> {
    const requested = this.record.commandRequested(command, reason?.slice(0, 2000), this.commandId);
    return judgeCommand(this.deps.gate, requested, options);
  }

  /** Records the closing events (in chain order); failures are logged, the response is already gone. */
  complete(outcome: {
    status: 'executed' | 'failed' | 'refused' | 'cancelled';
    tag?: string;
    error?: string;
    excerpt?: { text: string; truncated: boolean };
    commandId?: string;
    closeReason?: string;
    /** Values that must never reach the record (the injected credential, should an upstream echo it). */
    scrub?: string[];
  }): Promise<void> {
    if (this.closed) return this.tail;
    this.closed = true;
    const commandId = outcome.commandId ?? this.commandId;
    this.record.commandCompleted({
      commandId,
      status: outcome.status,
      durationMs: Date.now() - this.record.openedAt,
      ...(outcome.tag ? { tag: outcome.tag } : {}),
      ...(outcome.error ? { error: outcome.error.slice(0, 2000) } : {}),
    });
    if (outcome.excerpt) {
      this.record.outputRecorded({
        commandId,
        format: 'http',
        // Second line of defence: whatever the verdict, the record gets the content detectors.
        text: scrub(maskText(outcome.excerpt.text, ALL_DETECTORS), outcome.scrub ?? []),
        truncated: outcome.excerpt.truncated,
      });
    }
    this.tail = this.record.closed(outcome.closeReason);
    return this.tail;
  }
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
