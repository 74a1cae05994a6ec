import type { Writable } from 'node:stream';
import type { ClientChannel, Client as SshClient, Connection, PseudoTtyInfo, ServerChannel, Session, TcpipRequestInfo } from 'ssh2';
import type { Logger } from 'pino';
import { newId, type CommandRequested, type Detector, type FileTransfer, type ShellCommand, type VerdictIssued } from '@portcullis/schemas';
import type { SshProxyConfig } from './config.ts';
import { describeError, judgeCommand, SessionRecord, timedVerifier, type AccessGuard, type Arrival } from '@portcullis/kit';
import { attachHandshake, type Authenticated } from './handshake.ts';
import type { KeyStore } from './key-store.ts';
import { LineEditor } from './line-editor.ts';
import type { CommandGate, IdentityVerifier, SessionEventSink } from './ports.ts';
import { StreamRecorder } from './recorder.ts';
import { ScpTransferRecorder, scpInvocationOf, type ScpInvocation } from './scp-transfer.ts';
import { ExecClock, type ExecTiming } from './exec-timing.ts';
import { SftpTransferRecorder } from './sftp-transfer.ts';
import { connectTarget } from './target-connector.ts';

export interface EngineDeps {
  config: SshProxyConfig;
  gate: CommandGate;
  sink: SessionEventSink;
  verifier: IdentityVerifier;
  keys: KeyStore;
  logger: Logger;
  guard?: AccessGuard;
  /** Told where each exec's time went on the proxy's side (bench:ssh). */
  onExecTimed?: (timing: ExecTiming) => void;
}

type Decision = { run: true; verdict: VerdictIssued } | { run: false; message: string; status: 'refused' | 'failed' };

const EMPTY = Buffer.alloc(0);

/**
 * One caller connection = one Portcullis session. Stages, in order:
 *   authenticate (handshake.ts) → open the record (SessionOpened) →
 *   for every command: access check (judge, hold) → connect (one target
 *   connection per session, opened at first use) → relay (exec, shell,
 *   subsystem, forwards) → close the record (SessionClosed).
 */
export class SshSession {
  private auth: Authenticated | undefined;
  private record: SessionRecord | undefined;
  private opening: Promise<boolean> | undefined;
  private target: Promise<SshClient> | undefined;
  private readonly abort = new AbortController();
  private readonly recorders = new Set<StreamRecorder>();
  private readonly logger: Logger;
  private closeReason: string | undefined;
  /** Exec, shell and subsystem channels the caller has open: told why when the session is ended from outside. */
  private readonly channels = new Set<ServerChannel>();
  /** Exec and subsystem channels still running (a draining proxy lets them finish). */
  private running = 0;
  readonly done: Promise<void>;
  private finish!: () => void;
  /** When the connection was accepted and a token verified (the session's trace starts there). */
  private readonly arrival: Arrival = { acceptedAt: Date.now() };

  constructor(
    private readonly conn: Connection,
    private readonly clientAddress: string,
    /** The caller's SSH software version (e.g. OpenSSH_9.2p1), from its identification string. */
    private readonly clientSoftware: string | undefined,
    private readonly deps: EngineDeps,
  ) {
    this.logger = deps.logger;
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  start(): void {
    const authenticated = attachHandshake(this.conn, { ...this.deps, verifier: timedVerifier(this.deps.verifier, this.arrival) });
    // Garbage, resets and protocol errors end this connection only.
    this.conn.on('error', (err: Error) => {
      this.closeReason ??= `connection error: ${err.message}`;
      this.logger.debug({ client: this.clientAddress, err: err.message }, 'caller connection error');
    });
    this.conn.on('close', () => void this.onClose());
    this.conn.once('ready', () => {
      this.auth = authenticated();
      if (!this.auth) return this.conn.end();
      this.opening = this.openRecord(this.auth);
      this.conn.on('session', (accept) => this.onSession(accept()));
      this.conn.on('tcpip', (accept, reject, info) => void this.onDirectTcpip(accept, reject, info));
      this.conn.on('request', (accept, reject, name, info) => void this.onGlobalRequest(accept, reject, name, info as { bindAddr: string; bindPort: number }));
    });
  }

  // ---------------------------------------------------------------- stage: record

  private async openRecord(auth: Authenticated): Promise<boolean> {
    const resource = { name: auth.resource.name, kind: 'ssh' as const, tags: auth.resource.tags };
    this.record = new SessionRecord(newId(), auth.identity, resource, 'ssh', this.deps.sink, this.logger, { arrival: this.arrival });
    const software = this.clientSoftware;
    try {
      await this.record.opened({
        clientAddress: this.clientAddress,
        ...(software ? { applicationName: software } : {}),
        ...(auth.tokenExpiresAt ? { tokenExpiresAt: auth.tokenExpiresAt } : {}),
      });
      this.logger.info({ sessionId: this.record.sessionId, subject: auth.identity.subject, resource: resource.name, targetUser: auth.targetUser, method: auth.method }, 'session opened');
      return true;
    } catch (err) {
      this.logger.error({ err: describeError(err) }, 'session could not be recorded; closing');
      this.conn.end();
      return false;
    }
  }

  private async onClose(): Promise<void> {
    this.abort.abort();
    for (const r of this.recorders) r.close();
    if (this.target) void this.target.then((t) => t.end(), () => undefined);
    if (this.opening && (await this.opening)) {
      await this.record!.closed(this.closeReason);
      this.logger.info({ sessionId: this.record!.sessionId }, 'session closed');
    }
    this.finish();
  }

  /** Ends the caller's connection (the proxy is shutting down). */
  shutdown(reason: string): void {
    this.closeReason = reason;
    this.conn.end();
  }

  get sessionId(): string | undefined {
    return this.record?.sessionId;
  }

  get busy(): boolean {
    return this.running > 0;
  }

  /**
   * Ends the session from outside (revocation, token expiry, an admin, shutdown): every open
   * channel gets the reason on stderr and exit status 255, then the connection closes (forwards
   * with it; a held command's approval is withdrawn as the wait is aborted).
   */
  terminate(reason: string): void {
    this.closeReason = reason;
    const message = `\r\nportcullis: session ended: ${reason}\r\n`;
    void Promise.all(
      [...this.channels].map(async (channel) => {
        writeSafe(channel.stderr, message);
        await flushed(channel.stderr);
        channel.exit(255);
        channel.end();
      }),
    ).finally(() => setTimeout(() => this.conn.end(), 50));
  }

  // ---------------------------------------------------------------- stage: access check

  private command(fields: Omit<ShellCommand, 'kind' | 'targetUser'>): CommandRequested {
    return this.record!.commandRequested({ kind: 'shell', ...fields, targetUser: this.auth!.targetUser });
  }

  /**
   * Judges a command through the gateway's one judge path (kit's judgeCommand): a hold tells the
   * caller and waits for the final verdict; a caller who disconnects while held withdraws the
   * approval. Fails closed on any error. `tell` reaches the caller.
   */
  private async decide(command: CommandRequested, tell: (text: string) => void): Promise<Decision> {
    const { verdictTimeoutMs, holdTimeoutMs } = this.deps.config;
    const outcome = await judgeCommand(this.deps.gate, command, {
      timeoutMs: verdictTimeoutMs,
      holdTimeoutMs,
      signal: this.abort.signal,
      onHold: (verdict) => tell(`portcullis: held for approval ${verdict.approvalId ?? '(no id)'} (${verdict.reasons.join('; ')}); waiting up to ${Math.round(holdTimeoutMs / 60_000)} min…\n`),
    });
    if (outcome.run) {
      if (outcome.approvalId) tell(`portcullis: approved (${outcome.approvalId}); running\n`);
      return { run: true, verdict: outcome.verdict };
    }
    const { refusal } = outcome;
    if (refusal.code === 'PCL_ERR_BLOCKED' || refusal.code === 'PCL_ERR_APPROVAL_DENIED') {
      const verdict = refusal.verdict!;
      const rules = verdict.ruleIds.length > 0 ? `rule ${verdict.ruleIds.join(', ')}` : 'the policy default';
      return { run: false, status: 'refused', message: `portcullis: blocked by ${rules}: ${verdict.reasons.join('; ') || 'no rule allows it'}` };
    }
    return { run: false, status: 'failed', message: `portcullis: not run: ${refusal.detail}` };
  }

  // ---------------------------------------------------------------- stage: connect

  private connect(): Promise<SshClient> {
    this.target ??= connectTarget(this.auth!.resource, this.auth!.targetUser, { timeoutMs: this.deps.config.connectTimeoutMs }).then((client) => {
      client.on('close', () => {
        this.closeReason ??= 'target closed the connection';
        this.conn.end();
      });
      client.on('error', (err: Error) => this.logger.warn({ err: err.message }, 'target connection error'));
      return client;
    });
    return this.target;
  }

  // ---------------------------------------------------------------- stage: relay

  private onSession(session: Session): void {
    let pty: PseudoTtyInfo | undefined;
    let window: { rows: number; cols: number; height: number; width: number } | undefined;
    let active: { stream?: ClientChannel; recorder?: StreamRecorder } = {};
    session.on('pty', (accept, _reject, info) => {
      pty = info;
      window = { rows: info.rows, cols: info.cols, height: info.height, width: info.width };
      accept?.();
    });
    session.on('window-change', (accept, _reject, info) => {
      window = { rows: info.rows, cols: info.cols, height: info.height, width: info.width };
      active.stream?.setWindow(info.rows, info.cols, info.height, info.width);
      active.recorder?.resize(info.cols, info.rows);
      accept?.();
    });
    session.on('signal', (accept, _reject, info) => {
      active.stream?.signal(info.name);
      accept?.();
    });
    // Environment variables are not passed on: the policy cannot see them (LD_PRELOAD, BASH_ENV …).
    session.on('env', (_accept, reject) => reject?.());
    session.on('x11', (_accept, reject) => reject?.());
    session.on('auth-agent', (_accept, reject) => {
      reject?.();
      void this.judgeOnly({ commandLine: 'auth-agent', channel: 'agent-forward' });
    });
    session.on('exec', (accept, _reject, info) => {
      const channel = accept();
      void this.whenOpen(channel, () => this.runExec(channel, info.command, pty, window, (a) => (active = a)), true);
    });
    session.on('shell', (accept) => {
      const channel = accept();
      void this.whenOpen(channel, () => this.runShell(channel, pty, window, (a) => (active = a)), false);
    });
    session.on('subsystem', (accept, _reject, info) => {
      const channel = accept();
      void this.whenOpen(channel, () => this.runSubsystem(channel, info.name), true);
    });
  }

  private async whenOpen(channel: ServerChannel, run: () => Promise<void>, runsToAnEnd: boolean): Promise<void> {
    this.channels.add(channel);
    channel.once('close', () => this.channels.delete(channel));
    if (runsToAnEnd) this.running++;
    try {
      if (!(await this.opening)) return;
      await run().catch((err: Error) => this.logger.error({ err: err.stack }, 'channel failed'));
    } finally {
      if (runsToAnEnd) this.running--;
    }
  }

  private async runExec(
    channel: ServerChannel,
    commandLine: string,
    pty: PseudoTtyInfo | undefined,
    window: { rows: number; cols: number; height: number; width: number } | undefined,
    setActive: (a: { stream?: ClientChannel; recorder?: StreamRecorder }) => void,
  ): Promise<void> {
    const clock = new ExecClock();
    const started = Date.now();
    const command = this.command({ commandLine, channel: 'exec' });
    const decision = await this.decide(command, (t) => writeSafe(channel.stderr, t));
    clock.mark('decided');
    if (!decision.run) return this.refuseChannel(channel, command.commandId, decision, started);
    let parsing: Promise<ScpInvocation | undefined> | undefined;
    const stream = await this.openTarget(channel, command.commandId, started, (t, cb) => {
      t.exec(commandLine, pty ? { pty: { ...pty, ...window, term: pty.term } } : {}, cb);
      // scp's remote end: its stdin/stdout carry files, recorded as transfers rather than a terminal stream.
      // Parsed while the target starts the command: on the next turn, once the open request has left
      // (relay-socket.ts flushes on setImmediate too, queued first), so the parse does not delay it.
      // Should the parser fail here (it judged this line moments ago), the channel is recorded as a stream.
      if (!pty) parsing = new Promise<void>((resolve) => setImmediate(resolve)).then(() => scpInvocationOf(commandLine)).catch(() => undefined);
    });
    if (!stream) return;
    clock.mark('opened');
    const scp = await parsing;
    stream.once('close', () => clock.mark('ran'));
    const recorder = this.recorder(command.commandId, detectorsOf(decision.verdict));
    setActive({ stream, recorder });
    let stdout: ((d: Buffer) => void) | undefined;
    if (scp) {
      const transfers = new ScpTransferRecorder(scp, (t) => this.transferRecorded(command.commandId, t));
      const [fromCaller, fromTarget] = scp.operation === 'upload' ? [transfers.data, transfers.ack] : [transfers.ack, transfers.data];
      channel.on('data', fromCaller.bind(transfers));
      stdout = fromTarget.bind(transfers);
      stream.once('close', () => transfers.close());
    } else {
      channel.on('data', (d: Buffer) => recorder.input(d));
    }
    channel.pipe(stream);
    const exit = await this.relayOutput(channel, stream, recorder, stdout);
    clock.mark('relayed');
    this.record!.commandCompleted({ commandId: command.commandId, status: exit.code === 0 ? 'executed' : 'failed', tag: exit.tag, durationMs: Date.now() - started });
    this.deps.onExecTimed?.(clock.timing());
  }

  private async runSubsystem(channel: ServerChannel, name: string): Promise<void> {
    const started = Date.now();
    const command = this.command({ commandLine: name, channel: 'subsystem', subsystem: name });
    const decision = await this.decide(command, (t) => writeSafe(channel.stderr, t));
    if (!decision.run) return this.refuseChannel(channel, command.commandId, decision, started);
    const stream = await this.openTarget(channel, command.commandId, started, (t, cb) => t.subsys(name, cb));
    if (!stream) return;
    // SFTP is a binary protocol: the record says what it did to which files (paths, sizes, digests), not the bytes.
    if (name === 'sftp') {
      const transfers = new SftpTransferRecorder((t) => this.transferRecorded(command.commandId, t));
      channel.on('data', (d: Buffer) => transfers.fromCaller(d));
      stream.on('data', (d: Buffer) => transfers.fromTarget(d));
      stream.once('close', () => transfers.close());
    }
    channel.pipe(stream);
    const exit = await this.relayOutput(channel, stream, undefined);
    this.record!.commandCompleted({ commandId: command.commandId, status: exit.code === 0 || exit.code === undefined ? 'executed' : 'failed', tag: exit.tag, durationMs: Date.now() - started });
  }

  private async runShell(
    channel: ServerChannel,
    pty: PseudoTtyInfo | undefined,
    window: { rows: number; cols: number; height: number; width: number } | undefined,
    setActive: (a: { stream?: ClientChannel; recorder?: StreamRecorder }) => void,
  ): Promise<void> {
    const started = Date.now();
    if (!this.deps.config.interactive) return endChannel(channel, "portcullis: interactive shells are disabled on this gateway; run commands as ssh <host> '<command>'", 1);
    const stream = await this.openTarget(channel, undefined, started, (t, cb) =>
      t.shell(pty ? { ...pty, ...window, term: pty.term } : false, {}, cb),
    );
    if (!stream) return;
    const recorder = this.recorder(undefined, []);
    if (window) recorder.resize(window.cols, window.rows);
    setActive({ stream, recorder });
    const editor = new LineEditor();
    const nl = pty ? '\r\n' : '\n';
    let previous: { commandId: string; at: number } | undefined;
    const completePrevious = (tag?: string): void => {
      if (previous) this.record!.commandCompleted({ commandId: previous.commandId, status: 'executed', durationMs: Date.now() - previous.at, ...(tag ? { tag } : {}) });
      previous = undefined;
    };
    const toTarget = async (data: Buffer): Promise<void> => {
      if (!stream.write(data)) await new Promise((r) => stream.once('drain', r));
    };

    channel.on('data', (chunk: Buffer) => {
      channel.pause();
      recorder.input(chunk);
      void (async () => {
        for (const step of editor.feed(chunk)) {
          if (step.kind === 'forward') {
            await toTarget(step.data);
            continue;
          }
          if (step.line.trim() === '') {
            await toTarget(step.enter);
            continue;
          }
          completePrevious();
          const at = Date.now();
          const commandLine = step.exact ? step.line : `${step.line}\n# portcullis: line edited with keys the gateway cannot follow; text reconstructed best effort`;
          const command = this.command({ commandLine, channel: 'shell' });
          const decision = await this.decide(command, (t) => {
            channel.write(`${nl}${t.replace(/\n$/, '')}${nl}`);
            recorder.notice(`${nl}${t}`);
          });
          if (decision.run) {
            previous = { commandId: command.commandId, at };
            await toTarget(step.enter);
          } else {
            // Ctrl-E Ctrl-U: to the end of the line, kill it (readline/zle/libedit); then a fresh prompt.
            await toTarget(Buffer.from('\x05\x15'));
            const notice = `${nl}${decision.message}${nl}`;
            channel.write(notice);
            recorder.notice(notice);
            await toTarget(step.enter);
            this.record!.commandCompleted({ commandId: command.commandId, status: decision.status, error: decision.message.slice(0, 500), durationMs: Date.now() - at });
          }
        }
      })()
        .catch((err: Error) => this.logger.error({ err: err.message }, 'interactive input failed'))
        .finally(() => channel.resume());
    });
    channel.on('end', () => stream.end());
    channel.on('close', () => stream.close());
    const exit = await this.relayOutput(channel, stream, recorder);
    completePrevious(exit.tag);
  }

  private async openTarget(
    channel: ServerChannel,
    commandId: string | undefined,
    started: number,
    open: (target: SshClient, cb: (err: Error | undefined, stream: ClientChannel) => void) => void,
  ): Promise<ClientChannel | undefined> {
    try {
      const target = await this.connect();
      return await new Promise<ClientChannel>((resolve, reject) => open(target, (err, stream) => (err ? reject(err) : resolve(noteExit(stream)))));
    } catch (err) {
      const message = `portcullis: ${describeError(err)}`;
      this.logger.warn({ resource: this.auth!.resource.name, err: describeError(err) }, 'target unavailable');
      if (commandId) this.record!.commandCompleted({ commandId, status: 'failed', error: message.slice(0, 500), durationMs: Date.now() - started });
      await endChannel(channel, message, 255);
      return undefined;
    }
  }

  private refuseChannel(channel: ServerChannel, commandId: string, decision: Extract<Decision, { run: false }>, started: number): Promise<void> {
    this.record!.commandCompleted({ commandId, status: decision.status, error: decision.message.slice(0, 500), durationMs: Date.now() - started });
    return endChannel(channel, decision.message, 1);
  }

  /**
   * Target → caller: stdout and stderr piped (pipe() pauses the target when
   * the caller's window is full, so memory stays bounded), copied to the
   * recorder; then exit-status / exit-signal (RFC 4254 §6.10) and close.
   * Ends are not piped: the exit status must go out before the channel's EOF+close.
   */
  private relayOutput(channel: ServerChannel, stream: ClientChannel, recorder: StreamRecorder | undefined, stdout?: (d: Buffer) => void): Promise<{ code?: number; tag?: string }> {
    if (stdout) stream.on('data', stdout);
    else if (recorder) stream.on('data', (d: Buffer) => recorder.output(d));
    if (recorder) stream.stderr.on('data', (d: Buffer) => recorder.output(d));
    stream.pipe(channel, { end: false });
    stream.stderr.pipe(channel.stderr, { end: false });
    channel.on('close', () => stream.close());
    return new Promise((resolve) => {
      stream.once('close', () => {
        void (async () => {
          const exit = exits.get(stream) ?? {};
          await Promise.all([flushed(channel), flushed(channel.stderr)]);
          if (exit.code !== undefined) channel.exit(exit.code);
          else if (exit.signal) channel.exit(exit.signal.replace(/^SIG/, ''), exit.dump ?? false, exit.desc ?? '');
          channel.end();
          if (recorder) {
            recorder.close();
            this.recorders.delete(recorder);
          }
          resolve({ ...(exit.code !== undefined ? { code: exit.code, tag: `exit ${exit.code}` } : exit.signal ? { tag: `signal ${exit.signal}` } : {}) });
        })();
      });
    });
  }

  private transferRecorded(commandId: string, transfer: FileTransfer): void {
    this.record!.outputRecorded({ commandId, format: 'transfer', transfer, truncated: false });
  }

  private recorder(commandId: string | undefined, detectors: readonly Detector[]): StreamRecorder {
    const settings = this.deps.config.recording;
    const recorder = new StreamRecorder({
      clock: () => this.record!.elapsed(),
      emit: (batch) => this.record!.outputRecorded({ ...(commandId ? { commandId } : {}), format: 'stream', ...batch }),
      detectors,
      recordInput: settings.input,
      flushMs: settings.flushMs,
      batchBytes: settings.batchBytes,
      maxBytes: settings.maxBytesPerChannel,
    });
    this.recorders.add(recorder);
    return recorder;
  }

  // ---------------------------------------------------------------- forwarding (RFC 4254 §7)

  private async judgeOnly(fields: Omit<ShellCommand, 'kind' | 'targetUser'>): Promise<Decision> {
    if (!(await this.opening)) return { run: false, status: 'refused', message: 'session not open' };
    const started = Date.now();
    const command = this.command(fields);
    const decision = await this.decide(command, () => undefined);
    if (!decision.run) this.record!.commandCompleted({ commandId: command.commandId, status: decision.status, error: decision.message.slice(0, 500), durationMs: Date.now() - started });
    else if (fields.channel === 'agent-forward') {
      // ssh2's server side cannot open the auth-agent channel back to the caller: allowed or not, it is not relayed.
      this.record!.commandCompleted({ commandId: command.commandId, status: 'refused', error: 'agent forwarding is not supported by the SSH proxy', durationMs: Date.now() - started });
    }
    return Object.assign(decision, { commandId: command.commandId });
  }

  private async onDirectTcpip(accept: () => ServerChannel, reject: () => void, info: TcpipRequestInfo): Promise<void> {
    const started = Date.now();
    const decision = (await this.judgeOnly({ commandLine: `${info.destIP}:${info.destPort}`, channel: 'direct-tcpip', forward: { host: info.destIP, port: info.destPort } })) as Decision & { commandId: string };
    if (!decision.run) return reject();
    try {
      const target = await this.connect();
      const stream = await new Promise<ClientChannel>((resolve, rej) => target.forwardOut(info.srcIP, info.srcPort, info.destIP, info.destPort, (err, s) => (err ? rej(err) : resolve(s))));
      const channel = accept();
      channel.pipe(stream).pipe(channel);
      stream.once('close', () => this.record!.commandCompleted({ commandId: decision.commandId, status: 'executed', durationMs: Date.now() - started }));
    } catch (err) {
      this.record!.commandCompleted({ commandId: decision.commandId, status: 'failed', error: describeError(err).slice(0, 500), durationMs: Date.now() - started });
      reject();
    }
  }

  private async onGlobalRequest(accept: ((port?: number) => void) | undefined, reject: (() => void) | undefined, name: string, info: { bindAddr: string; bindPort: number }): Promise<void> {
    if (name === 'cancel-tcpip-forward') {
      const target = await this.target?.catch(() => undefined);
      if (target) target.unforwardIn(info.bindAddr, info.bindPort, () => undefined);
      return accept?.();
    }
    if (name !== 'tcpip-forward') return reject?.();
    const decision = await this.judgeOnly({ commandLine: `${info.bindAddr}:${info.bindPort}`, channel: 'tcpip-forward', forward: { host: info.bindAddr, port: info.bindPort } });
    if (!decision.run) return reject?.();
    try {
      const target = await this.connect();
      if (target.listenerCount('tcp connection') === 0) {
        target.on('tcp connection', (details, acceptRemote, rejectRemote) => {
          this.conn.forwardOut(details.destIP, details.destPort, details.srcIP, details.srcPort, (err, channel) => {
            if (err) return rejectRemote();
            const remote = acceptRemote();
            remote.pipe(channel).pipe(remote);
          });
        });
      }
      const port = await new Promise<number>((resolve, rej) => target.forwardIn(info.bindAddr, info.bindPort, (err, p) => (err ? rej(err) : resolve(p))));
      accept?.(port);
    } catch {
      reject?.();
    }
  }
}

interface TargetExit {
  code?: number;
  signal?: string;
  dump?: boolean;
  desc?: string;
}
const exits = new WeakMap<ClientChannel, TargetExit>();

/**
 * Notes the target's exit-status / exit-signal from the moment its channel is open: ssh2 emits it
 * once, as it is parsed, and it may come in the same read as the exec's success (a busy proxy reads
 * a short command's whole reply at once), before the relay is set up.
 */
function noteExit(stream: ClientChannel): ClientChannel {
  const exit: TargetExit = {};
  exits.set(stream, exit);
  stream.once('exit', (code: number | null, signal?: string, dump?: boolean, desc?: string) => {
    Object.assign(exit, code !== null && code !== undefined ? { code } : { signal: signal ?? 'KILL', dump: !!dump, desc: desc ?? '' });
  });
  return stream;
}

function detectorsOf(verdict: VerdictIssued): Detector[] {
  return verdict.effect === 'mask' ? (verdict.mask?.detectors ?? []) : [];
}

/** Resolves once everything written before has been handed to the SSH layer (at once when nothing waits for window). */
function flushed(w: Writable): Promise<void> {
  return new Promise((resolve) => {
    if (!w.writable || w.destroyed || w.writableLength === 0) return resolve();
    w.write(EMPTY, () => resolve());
  });
}

function writeSafe(w: Writable, text: string): void {
  if (w.writable) w.write(text);
}

/** Ends a channel the gateway answers itself: the message on stderr, an exit status, EOF, close. */
async function endChannel(channel: ServerChannel, message: string, status: number): Promise<void> {
  writeSafe(channel.stderr, `${message}\n`);
  await flushed(channel.stderr);
  channel.exit(status);
  channel.end();
}
