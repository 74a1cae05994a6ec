/**
 * What the stages of a PostgreSQL session share: the caller→target stream
 * (caller-to-target.ts), the target→caller stream (target-to-caller.ts) and
 * the lifecycle that owns them (../session.ts). Each stage sees the session
 * through this interface only.
 */
import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import type { Detector } from '@portcullis/schemas';
import type { SessionRecord } from '@portcullis/kit';
import type { Logger } from 'pino';
import type { TargetCatalog } from '../catalog.ts';
import type { CancelRegistry } from '../cancel-registry.ts';
import type { PostgresResource, ProxyConfig } from '../config.ts';
import type { AuthenticatedCaller } from '../handshake.ts';
import type { CommandGate, IdentityVerifier, SessionEventSink } from '../ports.ts';
import type { MaskingLibrary } from '../result-masking.ts';
import type { SettingsBarrier, TargetSettings } from '../target-settings.ts';
import type { ProtocolBook } from './protocol-book.ts';

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

/** Pauses a socket while any reason holds. */
export class Valve {
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

export interface SessionContext {
  readonly deps: EngineDeps;
  readonly logger: Logger;
  readonly caller: AuthenticatedCaller;
  readonly resource: PostgresResource;
  readonly record: SessionRecord;
  /** Extended-protocol bookkeeping: what the target owes, prepared statements, portals. */
  readonly book: ProtocolBook;
  /** The target session's settings as it reports them: the client encoding's codec, the pinned settings' watch. */
  readonly settings: TargetSettings;
  /** Holds the next Query / FunctionCall until settings a statement may have changed are reported. */
  readonly unseenSettings: SettingsBarrier;
  /**
   * Detectors the target's error and notice texts (and recorded parameters) pass through: always
   * secrets and cards, and from the first mask verdict on, that verdict's detectors too (for the rest
   * of the session, so an error that surfaces later, at Bind or Sync, cannot slip through unmasked).
   */
  readonly scrubDetectors: Set<Detector>;
  readonly clientValve: Valve;
  readonly targetValve: Valve;
  masking: MaskingLibrary | undefined;
  /** Aborts the wait for a verdict (CancelRequest, session end). */
  waiting: AbortController | undefined;
  readonly closed: boolean;
  writeClient(data: Buffer): void;
  writeTarget(data: Buffer): void;
  catalog(): TargetCatalog;
}
