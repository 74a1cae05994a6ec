import {
  newId,
  nowIso,
  SessionChain,
  type Command,
  type CommandCompleted,
  type CommandRequested,
  type Identity,
  type OutputRecorded,
  type Protocol,
  type ResourceRef,
  type SessionClosed,
  type SessionOpened,
  type SessionTopicEvent,
  type Via,
} from '@portcullis/schemas';
import type { Logger } from './logger.ts';
import { gatewayMetrics, secondsSince } from './operability/metrics.ts';
import { commandSpan, endCommandSpan, endSessionCommandSpans, endSpan, recordArrival, startCommandSpan, startSpan, type Arrival } from './operability/tracing.ts';
import type { Span } from '@opentelemetry/api';

/** Where a proxy's session record goes (portcullis.session-events in production). */
export interface SessionEventSink {
  publish(event: SessionTopicEvent): Promise<void>;
  /**
   * Where this proxy's commands are decided. `edge` marks every CommandRequested
   * `decision: 'edge'` (inside the hash chain), so the PDP verifies the proxy's
   * verdict instead of deciding again.
   */
  readonly decision?: 'edge' | 'remote';
}

type Envelope = 'type' | 'eventId' | 'occurredAt' | 'sessionId' | 'seq' | 'digest';
export type OutputBody = Omit<OutputRecorded, Envelope>;

/**
 * Every event a proxy writes about one session is built here, so one
 * SessionChain stamps seq + digest across portcullis.commands and
 * portcullis.session-events in the order things happen, and session events
 * are published one after another in seq order. Shared by every proxy.
 */
export class SessionRecord {
  private readonly chain = new SessionChain();
  private publishing: Promise<void> = Promise.resolve();
  readonly openedAt = Date.now();
  /** Counted in portcullis_sessions_active since its SessionOpened was recorded. */
  private active = false;
  /** The session's trace span (a no-op span when tracing is off). */
  private span: Span | undefined;

  constructor(
    readonly sessionId: string,
    readonly identity: Identity,
    readonly resource: ResourceRef,
    readonly protocol: Protocol,
    private readonly sink: SessionEventSink,
    private readonly logger: Logger,
    /**
     * How the caller came (via MCP) and the MCP session this session belongs to: on SessionOpened and every
     * command. `arrival`: when the proxy accepted the connection and verified its token, for the trace.
     */
    private readonly origin: { via?: Via; mcpSessionId?: string; arrival?: Arrival } = {},
  ) {
    this.span = startSpan('session', undefined, { 'portcullis.session_id': sessionId, 'portcullis.protocol': protocol, 'portcullis.resource': resource.name }, origin.arrival?.acceptedAt);
    if (origin.arrival) recordArrival(this.span, origin.arrival);
  }

  /** Seconds since the session opened (the asciicast clock). */
  elapsed(): number {
    return Math.round(Date.now() - this.openedAt) / 1000;
  }

  /** The CommandRequested for the next command, chained; the caller publishes it through the gate. */
  commandRequested(command: Command, reason?: string, commandId: string = newId()): CommandRequested {
    const traceId = startCommandSpan(this.span, { sessionId: this.sessionId, commandId, protocol: this.protocol, resource: this.resource.name });
    return this.chain.next({
      type: 'CommandRequested' as const,
      eventId: newId(),
      occurredAt: nowIso(),
      sessionId: this.sessionId,
      commandId,
      identity: this.identity,
      resource: this.resource,
      protocol: this.protocol,
      command,
      ...(reason ? { reason } : {}),
      ...(this.sink.decision === 'edge' ? { decision: 'edge' as const } : {}),
      ...(this.origin.via ? { via: this.origin.via } : {}),
      ...(traceId ? { traceId } : {}),
    }) as CommandRequested;
  }

  /** Awaited: a session whose opening cannot be recorded does not start. */
  opened(details: { clientAddress: string; applicationName?: string; reason?: string; tokenExpiresAt?: string }): Promise<void> {
    const event: Omit<SessionOpened, 'seq' | 'digest'> = {
      type: 'SessionOpened',
      eventId: newId(),
      occurredAt: nowIso(),
      sessionId: this.sessionId,
      identity: this.identity,
      resource: this.resource,
      protocol: this.protocol,
      clientAddress: details.clientAddress,
      ...(details.applicationName ? { applicationName: details.applicationName.slice(0, 200) } : {}),
      ...(details.reason ? { reason: details.reason } : {}),
      ...(details.tokenExpiresAt ? { tokenExpiresAt: details.tokenExpiresAt } : {}),
      ...(this.origin.via ? { via: this.origin.via } : {}),
      ...(this.origin.mcpSessionId ? { mcpSessionId: this.origin.mcpSessionId } : {}),
    };
    return this.emit(event).then(() => {
      const labels = { protocol: this.protocol, resource: this.resource.name };
      gatewayMetrics().sessionsOpened.inc(labels);
      gatewayMetrics().sessionsActive.inc(labels);
      this.active = true;
    });
  }

  commandCompleted(details: Pick<CommandCompleted, 'commandId' | 'status' | 'durationMs'> & Partial<Pick<CommandCompleted, 'rows' | 'tag' | 'error'>>): void {
    const event: Omit<CommandCompleted, 'seq' | 'digest'> = {
      type: 'CommandCompleted',
      eventId: newId(),
      occurredAt: nowIso(),
      sessionId: this.sessionId,
      commandId: details.commandId,
      status: details.status,
      durationMs: Math.max(0, Math.round(details.durationMs * 1000) / 1000),
      ...(details.rows !== undefined ? { rows: details.rows } : {}),
      ...(details.tag !== undefined ? { tag: details.tag } : {}),
      ...(details.error !== undefined ? { error: details.error } : {}),
    };
    void this.emit(event).catch(() => undefined);
    endCommandSpan(details.commandId, { ...(details.status === 'executed' ? {} : { failure: details.status }) });
  }

  /** Result rows (format rows), a terminal stream batch (format stream) or a response excerpt (format http), already masked. */
  outputRecorded(body: OutputBody): void {
    const event: Omit<OutputRecorded, 'seq' | 'digest'> = {
      type: 'OutputRecorded',
      eventId: newId(),
      occurredAt: nowIso(),
      sessionId: this.sessionId,
      ...body,
    };
    void this.emit(event).catch(() => undefined);
  }

  /** Waits for everything queued, then records the end of the session. */
  async closed(reason: string | undefined): Promise<void> {
    const event: Omit<SessionClosed, 'seq' | 'digest'> = {
      type: 'SessionClosed',
      eventId: newId(),
      occurredAt: nowIso(),
      sessionId: this.sessionId,
      durationMs: Date.now() - this.openedAt,
      ...(reason ? { reason } : {}),
    };
    if (this.active) {
      this.active = false;
      gatewayMetrics().sessionsActive.dec({ protocol: this.protocol, resource: this.resource.name });
    }
    await this.emit(event).catch(() => undefined);
    endSessionCommandSpans(this.sessionId);
    endSpan(this.span);
  }

  /** Resolves when every event queued so far is published (or failed). */
  settled(): Promise<void> {
    return this.publishing;
  }

  private emit(body: Record<string, unknown>): Promise<void> {
    const event = this.chain.next(body) as unknown as SessionTopicEvent;
    const commandId = 'commandId' in event ? event.commandId : undefined;
    const parent = (commandId ? commandSpan(commandId) : undefined) ?? this.span;
    const published = this.publishing.then(async () => {
      const startedAt = performance.now();
      const span = startSpan('record', parent, { 'portcullis.event': event.type, 'portcullis.seq': event.seq });
      try {
        await this.sink.publish(event);
        endSpan(span);
      } catch (err) {
        endSpan(span, (err as Error).message);
        throw err;
      }
      gatewayMetrics().recordSeconds.observe({ event: event.type }, secondsSince(startedAt));
    });
    this.publishing = published.catch((err: Error) => {
      // The chain now has a gap at this seq; the audit projection reports it as such.
      this.logger.error({ sessionId: this.sessionId, eventType: event.type, seq: event.seq, err: err.message }, 'session event not recorded');
    });
    return published;
  }
}
