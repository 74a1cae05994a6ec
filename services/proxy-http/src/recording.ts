import { newId, nowIso, SessionChain, type CommandRequested, type HttpCommand, type Identity, type ResourceRef, type SessionTopicEvent, type VerdictIssued } from '@portcullis/schemas';
import { maskText, ALL_DETECTORS, type Logger } from '@portcullis/kit';
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
  private readonly chain = new SessionChain();
  private readonly startedAt = Date.now();
  private tail: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly deps: { sink: SessionEventSink; gate: CommandGate; logger: Logger },
    readonly identity: Identity,
    readonly resource: ResourceRef,
  ) {}

  private base(type: string) {
    return { type, eventId: newId(), occurredAt: nowIso(), sessionId: this.sessionId };
  }

  async open(clientAddress: string, userAgent?: string): Promise<void> {
    const event = this.chain.next({
      ...this.base('SessionOpened'),
      identity: this.identity,
      resource: this.resource,
      protocol: 'http' as const,
      clientAddress,
      ...(userAgent ? { applicationName: userAgent.slice(0, 200) } : {}),
    });
    await this.deps.sink.publish(event as SessionTopicEvent);
  }

  async judge(command: HttpCommand, timeoutMs: number, reason?: string): Promise<VerdictIssued> {
    const requested = this.chain.next({
      ...this.base('CommandRequested'),
      commandId: this.commandId,
      identity: this.identity,
      resource: this.resource,
      protocol: 'http' as const,
      command,
      ...(reason ? { reason: reason.slice(0, 2000) } : {}),
    }) as CommandRequested;
    return this.deps.gate.judge(requested, { timeoutMs });
  }

  /** Queues the closing events (in chain order); failures are logged, the response is already gone. */
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
    const durationMs = Date.now() - this.startedAt;
    const events: Record<string, unknown>[] = [
      {
        ...this.base('CommandCompleted'),
        commandId: outcome.commandId ?? this.commandId,
        status: outcome.status,
        ...(outcome.tag ? { tag: outcome.tag } : {}),
        ...(outcome.error ? { error: outcome.error.slice(0, 2000) } : {}),
        durationMs,
      },
    ];
    if (outcome.excerpt) {
      events.push({
        ...this.base('OutputRecorded'),
        commandId: outcome.commandId ?? this.commandId,
        format: 'http',
        // Second line of defence: whatever the verdict, the record gets the content detectors.
        text: scrub(maskText(outcome.excerpt.text, ALL_DETECTORS), outcome.scrub ?? []),
        truncated: outcome.excerpt.truncated,
      });
    }
    events.push({ ...this.base('SessionClosed'), ...(outcome.closeReason ? { reason: outcome.closeReason } : {}), durationMs });
    this.tail = this.tail.then(async () => {
      for (const e of events) {
        try {
          await this.deps.sink.publish(this.chain.next(e) as SessionTopicEvent);
        } catch (err) {
          this.deps.logger.error({ sessionId: this.sessionId, type: e.type, err: (err as Error).message }, 'session event could not be written');
          return;
        }
      }
    });
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
