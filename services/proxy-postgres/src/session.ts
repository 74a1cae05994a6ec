import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import { newId, type CommandRequested, type Detector, type MaskSpec, type SqlCommand, type VerdictIssued } from '@portcullis/schemas';
import { serialize } from 'pg-protocol';
import type { CopyResponse, ParameterStatusMessage, RowDescriptionMessage } from 'pg-protocol/dist/messages.js';
import type { Logger } from 'pino';
import { TargetCatalog, toResultColumns, type ResultColumn } from './catalog.ts';
import { CancelRegistry } from './cancel-registry.ts';
import { readCredential, type PostgresResource, type ProxyConfig } from './config.ts';
import { analyseCopyToStdout } from './copy-statement.ts';
import { fatal, notice, PgClientError, SqlState } from './errors.ts';
import { describeVerdict, judgeCommand, SessionRecord, type CommandRefusal } from '@portcullis/kit';
import { acceptCaller, type AuthenticatedCaller } from './handshake.ts';
import type { CommandGate, IdentityVerifier, SessionEventSink } from './ports.ts';
import { OutputCapture, renderParameters, rowsFromTag } from './recording.ts';
import {
  ALWAYS_SCRUBBED,
  maskCopyLine,
  type MaskingLibrary,
  maskRowValues,
  planEverything,
  planResult,
  type ResultPlan,
  sameMessage,
  scrubTargetMessage,
} from './result-masking.ts';
import { connectTarget, sendTargetCancel, TargetConnectError, type TargetConnection } from './target-connector.ts';
import { InvalidClientText, lenientText } from './client-encoding.ts';
import { mayChangeSettingsUnseen, SettingsBarrier, TargetSettings } from './target-settings.ts';
import {
  decodeDataRow,
  decodeNoticeFields,
  encodeAuthenticationOk,
  encodeBackendKeyData,
  encodeCopyData,
  encodeDataRow,
  encodeErrorResponse,
  encodeNoticeResponse,
  encodeParameterStatus,
  encodeReadyForQuery,
  type TransactionStatus,
} from './wire/backend-messages.ts';
import { parseBackendMessage } from './wire/backend-parser.ts';
import { ProtocolViolation, type Frame, type MessageFramer } from './wire/framing.ts';
import { decodeFrontendMessage, type FrontendMessage } from './wire/frontend-messages.ts';

export interface EngineDeps {
  config: ProxyConfig;
  gate: CommandGate;
  sink: SessionEventSink;
  verifier: IdentityVerifier;
  logger: Logger;
  secureContext: SecureContext;
  cancels: CancelRegistry;
  catalogFor(resource: PostgresResource): TargetCatalog;
  loadMasking(): Promise<MaskingLibrary>;
}

/**
 * What the target is sent in place of a statement Portcullis refuses: a
 * syntax error, so the target answers ErrorResponse and reacts exactly as to
 * any failing statement (an open transaction block becomes aborted, the
 * extended protocol discards until Sync) while nothing of the caller's
 * statement runs. The proxy replaces the target's error with its own.
 */
const REFUSAL_STATEMENT = 'PORTCULLIS_REFUSED_THIS_STATEMENT';
const REFUSAL_STATEMENT_NAME = '__portcullis_refused';
const CLIENT_BUFFER_LIMIT = 1024 * 1024;

/** One execution of a statement whose results the proxy watches (masking, recording). */
interface Run {
  commandId: string;
  startedAt: number;
  mask: MaskSpec | undefined;
  parameters: (string | null)[] | undefined;
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

interface Statement {
  name: string;
  text: string;
  commandId: string;
  verdict: VerdictIssued;
  columns?: ResultColumn[];
}

interface Portal {
  statement: Statement;
  parameters: (string | null)[];
  columns?: ResultColumn[];
}

/** A response the target owes for a message the proxy forwarded, in order. */
type Expectation =
  | { kind: 'query' | 'function-call'; run?: Run; refusal?: PgClientError }
  | { kind: 'parse'; statement: Statement; run?: undefined; refusal?: undefined }
  | { kind: 'bind' | 'close' | 'sync'; run?: undefined; refusal?: undefined }
  | { kind: 'describe'; portal?: Portal; statement?: Statement; internalFor?: Run; run?: undefined; refusal?: undefined }
  | { kind: 'execute'; run: Run; refusal?: undefined }
  | { kind: 'refusal'; refusal: PgClientError; run?: undefined };

type Decision =
  | { run: true; event: CommandRequested; verdict: VerdictIssued }
  | { run: false; event: CommandRequested; error: PgClientError };

/** Pauses a socket while any reason holds. */
class Valve {
  private readonly reasons = new Set<string>();
  constructor(private readonly socket: Socket) {}
  close(reason: string): void {
    this.reasons.add(reason);
    this.socket.pause();
  }
  open(reason: string): void {
    if (!this.reasons.delete(reason)) return;
    if (this.reasons.size === 0) this.socket.resume();
  }
}

/**
 * One caller connection, in the stages of a PostgreSQL session: start-up
 * (handshake.ts), access check (resource + session record), connect
 * (target-connector.ts), then relay — every statement judged before the
 * target sees it, results masked and recorded on their way back.
 */
export class PostgresSession {
  readonly sessionId = newId();
  private logger: Logger;
  private caller!: AuthenticatedCaller;
  private resource!: PostgresResource;
  private record: SessionRecord | undefined;
  private client!: Socket;
  private clientFramer!: MessageFramer;
  private target: Socket | undefined;
  private targetFramer!: MessageFramer;
  private targetKey: TargetConnection['backendKey'];
  private releaseCancelKey: (() => void) | undefined;
  private clientValve!: Valve;
  private targetValve!: Valve;

  private readonly pending: Expectation[] = [];
  private readonly statements = new Map<string, Statement>();
  private readonly portals = new Map<string, Portal>();
  /** After an error in the extended protocol, messages are discarded until Sync (docs "Extended Query"). */
  private skipUntilSync = false;
  private transactionStatus: TransactionStatus = 'I';
  private waiting: AbortController | undefined;
  private pumpingClient = false;
  private pumpingTarget = false;
  private closed = false;
  private masking: MaskingLibrary | undefined;
  /** The target session's settings as it reports them: the client encoding's codec, the pinned settings' watch. */
  private settings = new TargetSettings([]);
  private readonly unseenSettings = new SettingsBarrier();
  /**
   * Detectors the target's error and notice texts pass through: always secrets and cards, and from
   * the first mask verdict on, that verdict's detectors too (for the rest of the session, so an
   * error that surfaces later, at Bind or Sync, cannot slip through unmasked).
   */
  private readonly scrubDetectors = new Set<Detector>(ALWAYS_SCRUBBED);

  constructor(
    private readonly socket: Socket,
    private readonly deps: EngineDeps,
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
      verifier: this.deps.verifier,
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
    const record = new SessionRecord(this.sessionId, this.caller.identity, { name: resource.name, kind: 'postgres', tags: resource.tags }, 'postgres', this.deps.sink, this.logger);
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
    this.transactionStatus = connection.transactionStatus;
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
    client.on('data', (chunk: Buffer) => {
      this.clientFramer.push(chunk);
      if (this.clientFramer.bufferedBytes > CLIENT_BUFFER_LIMIT) this.clientValve.close('buffered');
      void this.pumpClient();
    });
    client.on('close', () => void this.close('client disconnected'));
    client.on('end', () => void this.close('client disconnected'));
    target.on('data', (chunk: Buffer) => {
      this.targetFramer.push(chunk);
      this.pumpTarget();
    });
    target.on('close', () => void this.close('target closed the connection'));
    target.on('end', () => void this.close('target closed the connection'));
    client.resume();
    target.resume();
    void this.pumpClient();
    this.pumpTarget();
  }

  /**
   * Ends the session from outside (revocation, token expiry, an admin, the gateway shutting down):
   * a statement running on the target is cancelled, a held one withdrawn (close aborts the wait),
   * and the caller gets FATAL 57P01 with the reason before the connection closes.
   */
  terminate(reason: string): void {
    if (this.closed) return;
    if (this.pending.length > 0 && !this.waiting) this.cancel();
    this.endWith(fatal(SqlState.adminShutdown, `Portcullis ended this session: ${reason}`, 'PCL_ERR_PG_TERMINATED'));
  }

  /** A statement is being judged, held or run on the target (a draining proxy lets it finish). */
  get busy(): boolean {
    return !this.closed && (this.pending.length > 0 || this.waiting !== undefined);
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

  private writeClient(data: Buffer): void {
    if (this.closed || this.client.destroyed) return;
    if (!this.client.write(data)) {
      // Backpressure: stop reading the target until the caller has taken what we sent.
      this.targetValve.close('client-backpressure');
      this.client.once('drain', () => this.targetValve.open('client-backpressure'));
    }
  }

  private writeTarget(data: Buffer): void {
    if (this.closed || !this.target || this.target.destroyed) return;
    if (!this.target.write(data)) {
      this.clientValve.close('target-backpressure');
      this.target.once('drain', () => this.clientValve.open('target-backpressure'));
    }
  }

  // --- caller → target ----------------------------------------------------

  private async pumpClient(): Promise<void> {
    if (this.pumpingClient || this.closed) return;
    this.pumpingClient = true;
    try {
      for (;;) {
        const frame = this.clientFramer.next();
        if (!frame) break;
        let msg: FrontendMessage;
        try {
          msg = decodeFrontendMessage(frame.type, frame.payload, this.settings.codec.isUtf8 ? undefined : this.settings.codec.decode);
        } catch (err) {
          if (!(err instanceof InvalidClientText)) throw err;
          // PostgreSQL would refuse these bytes too (22021); the statement is refused, the session goes on.
          const refusal = new PgClientError('22021', err.message, { code: 'PCL_ERR_PG_CLIENT_ENCODING' });
          if (frame.type === 0x51 /* Q */) this.forwardRefusal('query', refusal);
          else if (!this.skipUntilSync) this.forwardRefusal('extended', refusal);
          continue;
        }
        if (msg.type === 'Query' || msg.type === 'FunctionCall') {
          const settled = this.unseenSettings.wait();
          if (settled) await settled;
          if (this.closed) return;
        }
        const handled = this.onClientMessage(msg, frame);
        if (handled) await handled;
        if (this.closed) return;
      }
      if (this.clientFramer.bufferedBytes <= CLIENT_BUFFER_LIMIT) this.clientValve.open('buffered');
    } catch (err) {
      this.failFromClient(err);
    } finally {
      this.pumpingClient = false;
    }
  }

  /** docs "Message Flow" (protocol-flow.html): each frontend message, in the order it arrives. */
  private onClientMessage(msg: FrontendMessage, frame: Frame): Promise<void> | void {
    switch (msg.type) {
      case 'Query':
        return this.onQuery(msg.text, frame);
      case 'Parse':
        if (this.skipUntilSync) return;
        return this.onParse(msg, frame);
      case 'Bind':
        if (this.skipUntilSync) return;
        return this.onBind(msg, frame);
      case 'Describe': {
        if (this.skipUntilSync) return;
        const portal = msg.target === 'P' ? this.portals.get(msg.name) : undefined;
        const statement = msg.target === 'S' ? this.statements.get(msg.name) : undefined;
        this.pending.push({ kind: 'describe', ...(portal ? { portal } : {}), ...(statement ? { statement } : {}) });
        this.writeTarget(frame.raw);
        return;
      }
      case 'Execute':
        if (this.skipUntilSync) return;
        return this.onExecute(msg, frame);
      case 'Close':
        if (this.skipUntilSync) return;
        if (msg.target === 'S') this.statements.delete(msg.name);
        else this.portals.delete(msg.name);
        this.pending.push({ kind: 'close' });
        this.writeTarget(frame.raw);
        return;
      case 'Sync':
        this.skipUntilSync = false;
        this.pending.push({ kind: 'sync' });
        this.writeTarget(frame.raw);
        return;
      case 'Flush':
        if (this.skipUntilSync) return;
        this.writeTarget(frame.raw);
        return;
      case 'CopyData':
      case 'CopyDone':
      case 'CopyFail':
        // COPY FROM STDIN data belongs to the COPY statement already judged.
        this.writeTarget(frame.raw);
        return;
      case 'FunctionCall':
        return this.onFunctionCall(msg, frame);
      case 'Terminate':
        this.writeTarget(frame.raw);
        void this.close('client terminated the session');
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
    const decision = await this.decide({ kind: 'sql', text, phase: 'simple' });
    if (this.closed) return;
    if (!decision.run) return this.forwardRefusal('query', decision.error);
    if (mayChangeSettingsUnseen(decision.verdict.classes ?? [])) this.unseenSettings.hold();
    const run = this.newRun(decision.event.commandId, decision.verdict);
    if (run.mask) {
      const copy = analyseCopyToStdout(text);
      if (copy && copy.format !== 'text') {
        const error = new PgClientError(SqlState.featureNotSupported, `Portcullis masks COPY TO STDOUT only in text format with the default delimiter; this statement asks for ${copy.format === 'custom-text' ? 'custom text options' : copy.format}`, { code: 'PCL_ERR_PG_COPY_FORMAT' });
        this.record?.commandCompleted({ commandId: run.commandId, status: 'refused', error: error.message, durationMs: 0 });
        return this.forwardRefusal('query', error);
      }
      if (copy?.select) {
        try {
          const columns = await this.catalog().describe(copy.select);
          run.copyPlan = await planResult(columns, run.mask, this.catalog(), this.logger, this.masking!);
        } catch {
          run.copyPlan = undefined; // masked whole at CopyOutResponse
        }
        if (this.closed) return;
      }
    }
    this.pending.push({ kind: 'query', run });
    this.writeTarget(frame.raw);
  }

  /** Parse (docs "Extended Query"): judged with phase 'parse' before the target sees the text. */
  private async onParse(msg: FrontendMessage & { type: 'Parse' }, frame: Frame): Promise<void> {
    const decision = await this.decide({ kind: 'sql', text: msg.text, phase: 'parse', statementName: msg.statement });
    if (this.closed) return;
    if (this.skipUntilSync) {
      // The target failed an earlier message of this batch while we waited: it discards this one.
      if (decision.run) this.record?.commandCompleted({ commandId: decision.event.commandId, status: 'failed', error: 'not executed: an earlier message in the same batch failed', durationMs: 0 });
      return;
    }
    if (!decision.run) return this.forwardRefusal('extended', decision.error);
    const statement: Statement = { name: msg.statement, text: msg.text, commandId: decision.event.commandId, verdict: decision.verdict };
    this.statements.set(msg.statement, statement);
    this.pending.push({ kind: 'parse', statement });
    this.writeTarget(frame.raw);
  }

  private onBind(msg: FrontendMessage & { type: 'Bind' }, frame: Frame): void {
    const statement = this.statements.get(msg.statement);
    if (!statement) {
      return this.forwardRefusal(
        'extended',
        new PgClientError('26000', `prepared statement "${msg.statement}" was not prepared through Portcullis in this session, so it cannot be judged`, { code: 'PCL_ERR_PG_UNKNOWN_STATEMENT' }),
      );
    }
    this.portals.set(msg.portal, { statement, parameters: renderParameters(msg.parameters, msg.parameterFormats, lenientText(this.settings.codec).decode) });
    this.pending.push({ kind: 'bind' });
    this.writeTarget(frame.raw);
  }

  /**
   * Execute: a statement allowed at Parse runs without a new verdict unless
   * the policy version changed since; under a mask verdict the proxy first
   * describes the portal itself, so rows are masked even when the caller
   * never sent Describe.
   */
  private async onExecute(msg: FrontendMessage & { type: 'Execute' }, frame: Frame): Promise<void> {
    const portal = this.portals.get(msg.portal);
    if (!portal) {
      return this.forwardRefusal(
        'extended',
        new PgClientError('34000', `portal "${msg.portal}" was not bound through Portcullis in this session, so it cannot be judged`, { code: 'PCL_ERR_PG_UNKNOWN_PORTAL' }),
      );
    }
    const statement = portal.statement;
    const current = this.deps.gate.currentPolicyVersion?.();
    if (current !== undefined && current !== statement.verdict.policyVersion) {
      const decision = await this.decide({ kind: 'sql', text: statement.text, phase: 'bind', statementName: statement.name, parameters: portal.parameters });
      if (this.closed) return;
      if (this.skipUntilSync) return;
      if (!decision.run) return this.forwardRefusal('extended', decision.error);
      statement.verdict = decision.verdict;
      statement.commandId = decision.event.commandId;
    }
    const run = this.newRun(statement.commandId, statement.verdict, portal.parameters);
    run.columns = portal.columns ?? statement.columns;
    if (run.mask) {
      this.pending.push({ kind: 'describe', internalFor: run });
      this.writeTarget(serialize.describe({ type: 'P', name: msg.portal }));
    }
    this.pending.push({ kind: 'execute', run });
    this.writeTarget(frame.raw);
  }

  /** FunctionCall (docs "Function Call"): judged with phase 'function-call'; policies block it unless a rule allows it. */
  private async onFunctionCall(msg: FrontendMessage & { type: 'FunctionCall' }, frame: Frame): Promise<void> {
    const parameters = renderParameters(msg.arguments, msg.argumentFormats, lenientText(this.settings.codec).decode);
    const decision = await this.decide({ kind: 'sql', text: `FunctionCall(${msg.functionOid})`, phase: 'function-call', functionOid: msg.functionOid, parameters });
    if (this.closed) return;
    if (!decision.run) return this.forwardRefusal('function-call', decision.error);
    this.unseenSettings.hold();
    this.pending.push({ kind: 'function-call', run: this.newRun(decision.event.commandId, decision.verdict, parameters) });
    this.writeTarget(frame.raw);
  }

  private forwardRefusal(kind: 'query' | 'function-call' | 'extended', error: PgClientError): void {
    if (kind === 'extended') {
      this.pending.push({ kind: 'refusal', refusal: error });
      this.writeTarget(serialize.parse({ name: REFUSAL_STATEMENT_NAME, text: REFUSAL_STATEMENT }));
      this.skipUntilSync = true;
    } else {
      this.pending.push({ kind, refusal: error });
      this.writeTarget(serialize.query(REFUSAL_STATEMENT));
    }
  }

  /**
   * CommandRequested → VerdictIssued, before anything is forwarded. Hold
   * waits for the final verdict; every failure to get a verdict refuses
   * the statement (fail closed).
   */
  private async decide(command: SqlCommand): Promise<Decision> {
    const record = this.record!;
    const event = record.commandRequested(command, this.caller.reason);
    const startedAt = performance.now();
    const abort = new AbortController();
    this.waiting = abort;
    const refuse = (error: PgClientError, status: 'refused' | 'cancelled'): Decision => {
      record.commandCompleted({ commandId: event.commandId, status, error: error.message, durationMs: performance.now() - startedAt });
      return { run: false, event, error };
    };
    try {
      // The gateway's one judge path (kit's judgeCommand): deadline backstop, abort, hold → final verdict,
      // and the approval withdrawn when no one waits for it any more.
      const outcome = await judgeCommand(this.deps.gate, event, {
        timeoutMs: this.deps.config.verdictTimeoutMs,
        holdTimeoutMs: this.deps.config.holdTimeoutMs,
        signal: abort.signal,
        onHold: (held) => {
          const approvalId = held.approvalId ?? event.commandId;
          this.writeClient(
            notice(
              `Portcullis is holding this statement for approval ${approvalId} (rule ${held.ruleIds.join(', ') || 'unnamed'}${held.reasons.length ? `: ${held.reasons.join('; ')}` : ''})`,
              `an approver can run: portcullis approvals grant ${approvalId}`,
            ),
          );
        },
      });
      if (!outcome.run) return refuse(...refusalOf(outcome.refusal));
      const verdict = outcome.verdict;
      if (verdict.effect === 'mask') {
        for (const detector of verdict.mask?.detectors ?? []) this.scrubDetectors.add(detector);
        try {
          this.masking ??= await this.deps.loadMasking();
        } catch (err) {
          this.logger.error({ err: (err as Error).message }, 'masking library unavailable');
          return refuse(new PgClientError(SqlState.internalError, 'Portcullis must mask the results of this statement but its masking is unavailable, so it was not run', { code: 'PCL_ERR_PG_MASKING_UNAVAILABLE' }), 'refused');
        }
      }
      return { run: true, event, verdict };
    } finally {
      if (this.waiting === abort) this.waiting = undefined;
    }
  }

  private newRun(commandId: string, verdict: VerdictIssued, parameters?: (string | null)[]): Run {
    return {
      commandId,
      startedAt: performance.now(),
      mask: verdict.effect === 'mask' ? (verdict.mask ?? { columns: [], referenced: [], derived: true, fields: [], detectors: [] }) : undefined,
      parameters,
      columns: undefined,
      plan: undefined,
      copyPlan: undefined,
      rows: 0,
      rowsSeen: 0,
      tag: undefined,
      error: undefined,
      output: new OutputCapture(this.deps.config.recording, lenientText(this.settings.codec).decode),
      done: false,
    };
  }

  private catalog(): TargetCatalog {
    return this.deps.catalogFor(this.resource);
  }

  // --- target → caller ----------------------------------------------------

  private pumpTarget(): void {
    if (this.pumpingTarget || this.closed) return;
    this.pumpingTarget = true;
    const out: Buffer[] = [];
    const flush = (): void => {
      if (out.length === 0) return;
      this.writeClient(out.length === 1 ? out[0]! : Buffer.concat(out));
      out.length = 0;
    };
    try {
      for (;;) {
        const frame = this.targetFramer.next();
        if (!frame) break;
        const waitFor = this.onTargetMessage(frame, out);
        if (waitFor) {
          // Masking needs the catalog: hold the target's stream until the plan is ready.
          flush();
          this.targetValve.close('planning');
          waitFor.then(
            () => {
              this.pumpingTarget = false;
              this.targetValve.open('planning');
              this.pumpTarget();
            },
            (err: unknown) => {
              this.pumpingTarget = false;
              this.failFromTarget(err);
            },
          );
          return;
        }
      }
      flush();
    } catch (err) {
      flush();
      this.failFromTarget(err);
    }
    this.pumpingTarget = false;
  }

  /** docs "Message Formats": each backend message, matched to what the proxy forwarded. */
  private onTargetMessage(frame: Frame, out: Buffer[]): Promise<void> | void {
    const head = this.pending[0];
    const run = head?.run ?? (head?.kind === 'describe' ? undefined : undefined);
    switch (frame.type) {
      case 0x44 /* D DataRow */: {
        if (!run) {
          out.push(frame.raw);
          return;
        }
        run.rowsSeen++;
        if (run.mask) {
          run.plan ??= planEverything(run.columns ?? [], run.mask, this.masking!);
          if (run.plan.active) {
            const masked = maskRowValues(decodeDataRow(frame.payload), run.plan, this.settings.codec);
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
          run.plan ??= planEverything([], run.mask, this.masking!);
          data = maskCopyLine(data, run.plan, this.settings.codec);
          out.push(data === frame.payload ? frame.raw : encodeCopyData(data));
        } else out.push(frame.raw);
        if (run?.output.wantsRows) run.output.addStrings(copyLineValues(data, lenientText(this.settings.codec).decode));
        return;
      }
      case 0x54 /* T RowDescription */: {
        const columns = toResultColumns(parseBackendMessage(frame) as RowDescriptionMessage);
        if (head?.kind === 'describe') {
          this.pending.shift();
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
          this.pending.shift();
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
          this.pending.shift();
          this.completeRun(run);
        }
        return;
      }
      case 0x49 /* I EmptyQueryResponse */:
      case 0x73 /* s PortalSuspended */:
        out.push(frame.raw);
        if (head?.kind === 'execute') {
          this.pending.shift();
          head.run.rows += frame.type === 0x73 ? head.run.rowsSeen : 0;
          this.recordOutput(head.run);
          this.completeRun(head.run);
        }
        return;
      case 0x31 /* 1 ParseComplete */:
      case 0x32 /* 2 BindComplete */:
      case 0x33 /* 3 CloseComplete */:
        if (head && (head.kind === 'parse' || head.kind === 'bind' || head.kind === 'close')) this.pending.shift();
        out.push(frame.raw);
        return;
      case 0x48 /* H CopyOutResponse */: {
        if (run?.mask) {
          const copy = parseBackendMessage(frame) as CopyResponse;
          if (copy.binary) throw new PgClientError(SqlState.featureNotSupported, 'Portcullis cannot mask binary COPY output; the session is closed', { severity: 'FATAL', code: 'PCL_ERR_PG_COPY_FORMAT' });
          run.plan = run.copyPlan && run.copyPlan.columns.length === copy.columnTypes.length ? run.copyPlan : planEverything([], run.mask, this.masking!);
        }
        out.push(frame.raw);
        return;
      }
      case 0x45 /* E ErrorResponse */:
        return this.onTargetError(frame, out);
      case 0x4e /* N NoticeResponse */: {
        const text = lenientText(this.settings.codec);
        const fields = decodeNoticeFields(frame.payload, text.decode);
        const scrubbed = scrubTargetMessage(fields, this.scrubDetectors, this.masking);
        out.push(sameMessage(fields, scrubbed) ? frame.raw : encodeNoticeResponse(scrubbed, text.encode));
        return;
      }
      case 0x5a /* Z ReadyForQuery */: {
        this.transactionStatus = String.fromCharCode(frame.payload[0] ?? 0x49) as TransactionStatus;
        // Completes the Query / FunctionCall / Sync at the head (and anything the target skipped before it).
        while (this.pending.length > 0) {
          const e = this.pending.shift()!;
          if (e.run && !e.run.done) this.completeRun(e.run);
          if (e.kind === 'sync' || e.kind === 'query' || e.kind === 'function-call') break;
        }
        // Any ParameterStatus of what was forwarded has arrived by now (it precedes ReadyForQuery).
        if (this.pending.length === 0) this.unseenSettings.release();
        out.push(frame.raw);
        return;
      }
      case 0x53 /* S ParameterStatus */: {
        // Follows the client encoding; a pinned setting reported away from its value ends the session (throws FATAL).
        const status = parseBackendMessage(frame) as ParameterStatusMessage;
        this.settings.follow(status.parameterName, status.parameterValue);
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
    run.columns = columns;
    run.output.setColumns(columns);
    if (!run.mask) return;
    return planResult(columns, run.mask, this.catalog(), this.logger, this.masking!).then((plan) => {
      run.plan = plan;
    });
  }

  /**
   * ErrorResponse: a refusal's placeholder error becomes the refusal; the
   * target's own errors keep their SQLSTATE and have their texts scrubbed
   * (and are recorded scrubbed). In the extended protocol the target now
   * discards everything up to Sync, and so do we.
   */
  private onTargetError(frame: Frame, out: Buffer[]): void {
    const head = this.pending[0];
    const text = lenientText(this.settings.codec);
    const original = decodeNoticeFields(frame.payload, text.decode);
    const fields = scrubTargetMessage(original, this.scrubDetectors, this.masking);
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
    while (this.pending.length > 0 && this.pending[0]!.kind !== 'sync') {
      const e = this.pending.shift()!;
      const run = e.run ?? (e.kind === 'describe' ? e.internalFor : undefined);
      if (run && !run.done) {
        run.error ??= first ? fields.M : 'not executed: an earlier message in the same batch failed';
        this.completeRun(run);
      } else if (e.kind === 'parse' && first) {
        this.record?.commandCompleted({ commandId: e.statement.commandId, status: 'failed', error: fields.M, durationMs: 0 });
      }
      first = false;
    }
    if (this.pending.length === 0) this.skipUntilSync = true;
  }

  private recordOutput(run: Run): void {
    if (!run.output.enabled || !this.record) return;
    const taken = run.output.take();
    if (taken.rows.length === 0 && !run.parameters?.length) return;
    this.record.outputRecorded({
      commandId: run.commandId,
      format: 'rows',
      columns: taken.columns,
      rows: taken.rows,
      truncated: taken.truncated,
      ...(run.parameters?.length ? { text: JSON.stringify({ parameters: run.parameters }) } : {}),
    });
  }

  private completeRun(run: Run): void {
    if (run.done) return;
    run.done = true;
    this.record?.commandCompleted({
      commandId: run.commandId,
      status: run.error !== undefined ? 'failed' : 'executed',
      rows: run.rows,
      ...(run.tag !== undefined ? { tag: run.tag } : {}),
      ...(run.error !== undefined ? { error: run.error } : {}),
      durationMs: performance.now() - run.startedAt,
    });
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
    for (const e of this.pending) {
      if (e.run && !e.run.done) {
        e.run.done = true;
        this.record?.commandCompleted({ commandId: e.run.commandId, status: 'cancelled', error: `session ended: ${reason}`, rows: e.run.rows, durationMs: performance.now() - e.run.startedAt });
      }
    }
    this.pending.length = 0;
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

/** The gateway's refusal as this proxy's ErrorResponse, and how the command is recorded. */
function refusalOf(refusal: CommandRefusal): [PgClientError, 'refused' | 'cancelled'] {
  switch (refusal.code) {
    case 'PCL_ERR_BLOCKED': {
      const syntaxError = refusal.verdict?.syntaxError;
      if (syntaxError) {
        // PostgreSQL's parser rejects it too: answer as the target would, so SQLSTATE-driven code keeps working.
        return [
          new PgClientError(SqlState.syntaxError, syntaxError.message, {
            code: 'PCL_ERR_PG_SYNTAX',
            detail: "Portcullis refused this statement unparsed: PostgreSQL's parser cannot read it, so it was not sent to the database.",
            ...(syntaxError.position !== undefined ? { position: syntaxError.position } : {}),
          }),
          'refused',
        ];
      }
      return [new PgClientError(SqlState.insufficientPrivilege, `Portcullis blocked this statement: ${describeVerdict(refusal.verdict!)}`, { code: 'PCL_ERR_PG_BLOCKED' }), 'refused'];
    }
    case 'PCL_ERR_APPROVAL_DENIED':
      return [new PgClientError(SqlState.insufficientPrivilege, `Portcullis approval ${refusal.approvalId} was denied: ${describeVerdict(refusal.verdict!)}`, { code: 'PCL_ERR_PG_DENIED' }), 'refused'];
    case 'PCL_ERR_HOLD_UNRESOLVED':
      return [new PgClientError(SqlState.insufficientPrivilege, `Portcullis held this statement for approval ${refusal.approvalId} and it was not approved: ${refusal.detail}`, { code: 'PCL_ERR_PG_HOLD_UNRESOLVED' }), 'refused'];
    case 'PCL_ERR_CANCELLED':
      return [new PgClientError(SqlState.queryCanceled, 'canceling statement due to user request', { code: 'PCL_ERR_PG_CANCELLED' }), 'cancelled'];
    default:
      return [new PgClientError('58000', `Portcullis could not get a verdict for this statement, so it was not run: ${refusal.detail}`, { code: 'PCL_ERR_PG_NO_VERDICT' }), 'refused'];
  }
}

/** A COPY text-format line as recorded values (tab-separated, \N = NULL). */
function copyLineValues(line: Buffer, decode: (bytes: Buffer) => string): (string | null)[] {
  const text = decode(line).replace(/\r?\n$/, '');
  return text.split('\t').map((v) => (v === '\\N' ? null : v));
}
