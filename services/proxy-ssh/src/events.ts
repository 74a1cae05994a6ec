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
  type ShellCommand,
} from '@portcullis/schemas';
import type { Logger } from 'pino';
import type { SessionEventSink } from './ports.ts';

export type AsciicastEvent = [number, 'o' | 'i' | 'r', string];

/**
 * Every event the SSH engine writes about a session is built here, so one
 * SessionChain stamps seq + digest across portcullis.commands and
 * portcullis.session-events in the order things happen. One SSH connection
 * is one session; its channels (exec, shell, sftp, forwards) share it.
 */
export class SessionRecord {
  private readonly chain = new SessionChain();
  private publishing: Promise<void> = Promise.resolve();
  readonly openedAt = Date.now();

  constructor(
    readonly sessionId: string,
    readonly identity: Identity,
    readonly resource: ResourceRef,
    private readonly sink: SessionEventSink,
    private readonly logger: Logger,
  ) {}

  /** Seconds since the session opened: the asciicast clock of every channel. */
  elapsed(): number {
    return Math.round((Date.now() - this.openedAt)) / 1000;
  }

  commandRequested(command: ShellCommand): CommandRequested {
    return this.chain.next({
      type: 'CommandRequested' as const,
      eventId: newId(),
      occurredAt: nowIso(),
      sessionId: this.sessionId,
      commandId: newId(),
      identity: this.identity,
      resource: this.resource,
      protocol: 'ssh' as const,
      command,
    }) as CommandRequested;
  }

  /** Awaited: a session whose opening cannot be recorded does not start. */
  opened(details: { clientAddress: string; applicationName?: string }): Promise<void> {
    const event: Omit<SessionOpened, 'seq' | 'digest'> = {
      type: 'SessionOpened',
      eventId: newId(),
      occurredAt: nowIso(),
      sessionId: this.sessionId,
      identity: this.identity,
      resource: this.resource,
      protocol: 'ssh',
      clientAddress: details.clientAddress,
      ...(details.applicationName ? { applicationName: details.applicationName.slice(0, 200) } : {}),
    };
    return this.emit(event);
  }

  commandCompleted(details: Pick<CommandCompleted, 'commandId' | 'status' | 'durationMs'> & Partial<Pick<CommandCompleted, 'tag' | 'error'>>): void {
    const event: Omit<CommandCompleted, 'seq' | 'digest'> = {
      type: 'CommandCompleted',
      eventId: newId(),
      occurredAt: nowIso(),
      sessionId: this.sessionId,
      commandId: details.commandId,
      status: details.status,
      durationMs: Math.max(0, Math.round(details.durationMs)),
      ...(details.tag !== undefined ? { tag: details.tag } : {}),
      ...(details.error !== undefined ? { error: details.error } : {}),
    };
    void this.emit(event).catch(() => undefined);
  }

  /** One batch of a channel's terminal stream (format "stream", asciicast v2 event tuples). */
  outputRecorded(details: { commandId?: string; stream: AsciicastEvent[]; truncated: boolean }): void {
    const event: Omit<OutputRecorded, 'seq' | 'digest'> = {
      type: 'OutputRecorded',
      eventId: newId(),
      occurredAt: nowIso(),
      sessionId: this.sessionId,
      ...(details.commandId ? { commandId: details.commandId } : {}),
      format: 'stream',
      stream: details.stream,
      truncated: details.truncated,
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

  /** Resolves when every event queued so far is published (or failed). */
  settled(): Promise<void> {
    return this.publishing;
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
