/**
 * One caller connection, in the stages of a PostgreSQL session: start-up
 * (handshake.ts), access check (resource + session record), connect
 * (target-connector.ts), then relay — caller → target
 * (session/caller-to-target.ts: every statement judged and recorded before
 * the target sees it) and target → caller (session/target-to-caller.ts:
 * results masked and recorded on their way back), with the extended
 * protocol's bookkeeping in session/protocol-book.ts.
 */
import type { Socket } from 'node:net';
import { newId, type Detector } from '@portcullis/schemas';
import { serialize } from 'pg-protocol';
import type { Logger } from 'pino';
import { SessionRecord, timedVerifier, type Arrival } from '@portcullis/kit';
import type { TargetCatalog } from './catalog.ts';
import { readCredential, type PostgresResource } from './config.ts';
import { fatal, PgClientError, SqlState } from './errors.ts';
import { acceptCaller, type AuthenticatedCaller } from './handshake.ts';
import { ALWAYS_SCRUBBED, type MaskingLibrary } from './result-masking.ts';
import { connectTarget, sendTargetCancel, TargetConnectError, type TargetConnection } from './target-connector.ts';
import { SettingsBarrier, TargetSettings } from './target-settings.ts';
import { encodeAuthenticationOk, encodeBackendKeyData, encodeParameterStatus, encodeReadyForQuery } from './wire/backend-messages.ts';
import { ProtocolViolation, type MessageFramer } from './wire/framing.ts';
import { Valve, type EngineDeps, type SessionContext } from './session/context.ts';
import { ProtocolBook } from './session/protocol-book.ts';
import { CallerToTarget, CLIENT_BUFFER_LIMIT } from './session/caller-to-target.ts';
import { TargetToCaller } from './session/target-to-caller.ts';

export type { EngineDeps } from './session/context.ts';

export class PostgresSession implements SessionContext {
  readonly sessionId = newId();
  logger: Logger;
  caller!: AuthenticatedCaller;
  resource!: PostgresResource;
  record!: SessionRecord;
  book!: ProtocolBook;
  settings = new TargetSettings([]);
  readonly unseenSettings = new SettingsBarrier();
  readonly scrubDetectors = new Set<Detector>(ALWAYS_SCRUBBED);
  clientValve!: Valve;
  targetValve!: Valve;
  masking: MaskingLibrary | undefined;
  waiting: AbortController | undefined;
  closed = false;
  private client!: Socket;
  private clientFramer!: MessageFramer;
  private target: Socket | undefined;
  private targetFramer!: MessageFramer;
  private targetKey: TargetConnection['backendKey'];
  private releaseCancelKey: (() => void) | undefined;
  /** When the connection was accepted and its token verified (the session's trace starts there). */
  private readonly arrival: Arrival = { acceptedAt: Date.now() };

  constructor(
    private readonly socket: Socket,
    readonly deps: EngineDeps,
  ) {
    this.logger = deps.logger.child({ sessionId: this.sessionId });
  }

  /** Runs the connection to its end; never throws. */
  async run(): Promise<void> {
    this.socket.on('error', () => undefined);
    try {
      const accepted = await this.startup();
      if (!accepted) return;
      if (!(await this.accessCheck())) return;
      if (!(await this.connect())) return;
      this.relay();
    } catch (err) {
      this.refuseConnection(err);
    }
  }

  // --- stage 1: start-up --------------------------------------------------

  private async startup(): Promise<boolean> {
    const outcome = await acceptCaller(this.socket, {
      secureContext: this.deps.secureContext,
      verifier: timedVerifier(this.deps.verifier, this.arrival),
      allowCleartextOnLoopback: this.deps.config.allowCleartextOnLoopback,
      onSocket: (secure) => {
        secure.on('error', () => undefined);
        this.client = secure;
      },
    });
    if (outcome.kind === 'cancel') {
      // docs "Canceling Requests in Progress": the server answers nothing and closes. Over TLS
      // (libpq 17's PQcancelStart, psycopg's cancel_safe) the close is TLS's own: end() sends
      // close_notify, so the caller does not report "SSL error: unexpected eof".
      this.deps.cancels.cancel(outcome.processId, outcome.secretKey);
      const socket = this.client ?? this.socket;
      socket.end();
      setTimeout(() => socket.destroy(), 1000).unref();
      return false;
    }
    this.caller = outcome;
    this.client = outcome.socket;
    this.client.on('error', () => undefined);
    this.clientFramer = outcome.framer;
    return true;
  }

  // --- stage 2: access check ---------------------------------------------

  private async accessCheck(): Promise<boolean> {
    const resource = this.deps.config.resources.find((r) => r.name === this.caller.resourceName);
    if (!resource) {
      throw fatal(SqlState.invalidCatalogName, `resource "${this.caller.resourceName}" does not exist`, 'PCL_ERR_PG_UNKNOWN_RESOURCE', 'connect with dbname set to a PostgreSQL resource name from portcullis.yaml');
    }
    this.resource = resource;
    this.logger = this.logger.child({ resource: resource.name, subject: this.caller.identity.subject });
    const record = new SessionRecord(this.sessionId, this.caller.identity, { name: resource.name, kind: 'postgres', tags: resource.tags }, 'postgres', this.deps.sink, this.logger, { arrival: this.arrival });
    try {
      await record.opened({
        clientAddress: `${this.socket.remoteAddress ?? 'unknown'}:${this.socket.remotePort ?? 0}`,
        ...(this.caller.applicationName ? { applicationName: this.caller.applicationName } : {}),
        ...(this.caller.reason ? { reason: this.caller.reason } : {}),
        ...(this.caller.tokenExpiresAt ? { tokenExpiresAt: this.caller.tokenExpiresAt } : {}),
      });
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'SessionOpened not recorded');
      throw fatal('58000', 'Portcullis could not record the opening of this session, so it was not opened', 'PCL_ERR_PG_RECORDING');
    }
    this.record = record;
    this.book = new ProtocolBook(record);
    return true;
  }

  // --- stage 3: connect -------------------------------------------------

  private async connect(): Promise<boolean> {
    let connection: TargetConnection;
    try {
      connection = await connectTarget(this.resource, readCredential(this.resource), this.caller.targetParameters);
    } catch (err) {
      const detail = err instanceof TargetConnectError && err.fields ? `${err.fields.C}: ${err.fields.M}` : (err as Error).message;
      this.logger.warn({ err: detail }, 'target connection failed');
      throw new PgClientError(SqlState.connectionFailure, `Portcullis could not connect to resource "${this.resource.name}"`, {
        severity: 'FATAL',
        code: 'PCL_ERR_PG_TARGET',
        detail,
      });
    }
    try {
      // Every target error and notice is scrubbed, so the library is needed before the first statement.
      this.masking ??= await this.deps.loadMasking();
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'masking library unavailable: target messages are withheld');
    }
    if (this.client.destroyed) {
      connection.socket.destroy();
      await this.close('client disconnected during connect');
      return false;
    }
    try {
      this.settings = new TargetSettings(connection.parameterStatus);
    } catch (err) {
      connection.socket.destroy();
      throw err;
    }
    this.target = connection.socket;
    this.target.on('error', () => undefined);
    this.targetFramer = connection.framer;
    this.targetKey = connection.backendKey;
    this.book.transactionStatus = connection.transactionStatus;
    const key = this.deps.cancels.register(this, connection.backendKey?.processId);
    this.releaseCancelKey = key.release;
    const hello: Buffer[] = [encodeAuthenticationOk()];
    for (const [name, value] of connection.parameterStatus) hello.push(encodeParameterStatus(name, value));
    hello.push(encodeBackendKeyData(key.processId, key.secretKey), encodeReadyForQuery(connection.transactionStatus));
    this.client.write(Buffer.concat(hello));
    this.logger.info({ application: this.caller.applicationName, encrypted: this.caller.encrypted }, 'session opened');
    return true;
  }

  // --- stage 4: relay ---------------------------------------------------

  private relay(): void {
    const client = this.client;
    const target = this.target!;
    this.clientValve = new Valve(client);
    this.targetValve = new Valve(target);
    const callerToTarget = new CallerToTarget(this, this.clientFramer, (err) => this.failFromClient(err), (reason) => void this.close(reason));
    const targetToCaller = new TargetToCaller(this, this.targetFramer, (err) => this.failFromTarget(err));
    client.on('data', (chunk: Buffer) => {
      this.clientFramer.push(chunk);
      if (this.clientFramer.bufferedBytes > CLIENT_BUFFER_LIMIT) this.clientValve.close('buffered');
      void callerToTarget.pump();
    });
    client.on('close', () => void this.close('client disconnected'));
    client.on('end', () => void this.close('client disconnected'));
    target.on('data', (chunk: Buffer) => {
      this.targetFramer.push(chunk);
      targetToCaller.pump();
    });
    target.on('close', () => void this.close('target closed the connection'));
    target.on('end', () => void this.close('target closed the connection'));
    client.resume();
    target.resume();
    void callerToTarget.pump();
    targetToCaller.pump();
  }

  /**
   * Ends the session from outside (revocation, token expiry, an admin, the gateway shutting down):
   * a statement running on the target is cancelled, a held one withdrawn (close aborts the wait),
   * and the caller gets FATAL 57P01 with the reason before the connection closes.
   */
  terminate(reason: string): void {
    if (this.closed) return;
    if ((this.book?.pending.length ?? 0) > 0 && !this.waiting) this.cancel();
    this.endWith(fatal(SqlState.adminShutdown, `Portcullis ended this session: ${reason}`, 'PCL_ERR_PG_TERMINATED'));
  }

  /** A statement is being judged, held or run on the target (a draining proxy lets it finish). */
  get busy(): boolean {
    return !this.closed && ((this.book?.pending.length ?? 0) > 0 || this.waiting !== undefined);
  }

  /** CancelRequest with this session's key: stop waiting for a verdict, or cancel on the target. */
  cancel(): void {
    if (this.waiting) {
      this.waiting.abort();
      return;
    }
    if (this.targetKey && !this.closed) {
      sendTargetCancel(this.resource, this.targetKey).catch((err: Error) => this.logger.warn({ err: err.message }, 'cancel not delivered to the target'));
    }
  }

  writeClient(data: Buffer): void {
    if (this.closed || this.client.destroyed) return;
    if (!this.client.write(data)) {
      // Backpressure: stop reading the target until the caller has taken what we sent.
      this.targetValve.close('client-backpressure');
      this.client.once('drain', () => this.targetValve.open('client-backpressure'));
    }
  }

  writeTarget(data: Buffer): void {
    if (this.closed || !this.target || this.target.destroyed) return;
    if (!this.target.write(data)) {
      this.clientValve.close('target-backpressure');
      this.target.once('drain', () => this.clientValve.open('target-backpressure'));
    }
  }

  catalog(): TargetCatalog {
    return this.deps.catalogFor(this.resource);
  }

  // --- failure and teardown -------------------------------------------------

  /** Before the relay: the caller gets a FATAL ErrorResponse it can show, then the connection closes. */
  private refuseConnection(err: unknown): void {
    const socket = this.client ?? this.socket;
    let error: PgClientError;
    if (err instanceof PgClientError) error = err;
    else if (err instanceof ProtocolViolation) error = fatal(SqlState.protocolViolation, err.message, 'PCL_ERR_PG_PROTOCOL');
    else {
      this.logger.debug({ err: (err as Error).message }, 'connection ended during start-up');
      socket.destroy();
      void this.close('start-up failed');
      return;
    }
    this.logger.info({ sqlState: error.sqlState, reason: error.message }, 'connection refused');
    if (!socket.destroyed && socket.writable) socket.end(error.encode());
    setTimeout(() => socket.destroy(), 1000).unref();
    void this.close(error.message);
  }

  private failFromClient(err: unknown): void {
    const error =
      err instanceof PgClientError
        ? err
        : err instanceof ProtocolViolation
          ? fatal(SqlState.protocolViolation, err.message, 'PCL_ERR_PG_PROTOCOL')
          : fatal(SqlState.internalError, 'internal error in the Portcullis proxy', 'PCL_ERR_PG_INTERNAL');
    if (!(err instanceof PgClientError) && !(err instanceof ProtocolViolation)) this.logger.error({ err: (err as Error).stack }, 'session failed');
    this.endWith(error);
  }

  private failFromTarget(err: unknown): void {
    const error =
      err instanceof PgClientError
        ? err
        : fatal(SqlState.connectionFailure, `Portcullis lost protocol sync with resource "${this.resource.name}"`, 'PCL_ERR_PG_TARGET_PROTOCOL');
    this.logger.error({ err: (err as Error).message }, 'target stream failed');
    this.endWith(error);
  }

  private endWith(error: PgClientError): void {
    if (this.closed) return;
    if (this.client && !this.client.destroyed) this.client.end(error.encode());
    void this.close(error.message);
  }

  async close(reason: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.waiting?.abort();
    this.unseenSettings.release();
    this.releaseCancelKey?.();
    this.book?.cancelAll(reason);
    if (this.target && !this.target.destroyed) {
      this.target.end(serialize.end());
      const target = this.target;
      setTimeout(() => target.destroy(), 1000).unref();
    }
    if (this.client && !this.client.destroyed) {
      this.client.end();
      const client = this.client;
      setTimeout(() => client.destroy(), 1000).unref();
    }
    if (this.record) {
      this.logger.info({ reason }, 'session closed');
      await this.record.closed(reason);
    }
  }
}
