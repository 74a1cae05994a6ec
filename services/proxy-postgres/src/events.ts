import {
  newId,
  nowIso,
  SessionChain,
  type CommandCompleted,
  type CommandRequested,
  type Identity,
  type OutputRecorded,
  type ResourceRef,
  type SessionClosed,
  type SessionOpened,
  type SessionTopicEvent,
  type SqlCommand,
} from '@portcullis/schemas';
import type { Logger } from 'pino';
import type { SessionEventSink } from './ports.ts';

/**
 * Every event this engine writes about a session is built here, so one
 * SessionChain stamps seq + digest across portcullis.commands and
 * portcullis.session-events in the order the events happen.
 */
export class SessionRecord {
  private readonly chain = new SessionChain();
  /** Session events are published one after another, in seq order. */
  private publishing: Promise<void> = Promise.resolve();
  private readonly openedAt = Date.now();

  constructor(
    readonly sessionId: string,
    readonly identity: Identity,
    readonly resource: ResourceRef,
    private readonly sink: SessionEventSink,
    private readonly logger: Logger,
  ) {}

  commandRequested(command: SqlCommand, reason: string | undefined): CommandRequested {
    const event = {
      type: 'CommandRequested' as const,
      eventId: newId(),
      occurredAt: nowIso(),
      sessionId: this.sessionId,
      commandId: newId(),
      identity: this.identity,
      resource: this.resource,
      protocol: 'postgres' as const,
      command,
      ...(reason ? { reason } : {}),
    };
    return this.chain.next(event) as CommandRequested;
  }

  /** Awaited: a session whose opening cannot be recorded does not start. */
  opened(details: { clientAddress: string; applicationName?: string; reason?: string }): Promise<void> {
    const event: Omit<SessionOpened, 'seq' | 'digest'> = {
      type: 'SessionOpened',
      eventId: newId(),
      occurredAt: nowIso(),
      sessionId: this.sessionId,
      identity: this.identity,
      resource: this.resource,
      protocol: 'postgres',
      clientAddress: details.clientAddress,
      ...(details.applicationName ? { applicationName: details.applicationName } : {}),
      ...(details.reason ? { reason: details.reason } : {}),
    };
    return this.emit(event);
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
  }

  outputRecorded(details: { commandId: string; columns: string[]; rows: (string | null)[][]; truncated: boolean; text?: string }): void {
    const event: Omit<OutputRecorded, 'seq' | 'digest'> = {
      type: 'OutputRecorded',
      eventId: newId(),
      occurredAt: nowIso(),
      sessionId: this.sessionId,
      commandId: details.commandId,
      format: 'rows',
      columns: details.columns,
      rows: details.rows,
      truncated: details.truncated,
      ...(details.text !== undefined ? { text: details.text } : {}),
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
    await this.emit(event).catch(() => undefined);
  }

  private emit(body: Record<string, unknown>): Promise<void> {
    const event = this.chain.next(body) as unknown as SessionTopicEvent;
    const published = this.publishing.then(() => this.sink.publish(event));
    this.publishing = published.catch((err: Error) => {
      this.logger.error({ sessionId: this.sessionId, eventType: event.type, seq: event.seq, err: err.message }, 'session event not recorded');
    });
    return published;
  }
}
