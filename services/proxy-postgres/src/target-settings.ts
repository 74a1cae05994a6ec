/**
 * What the proxy knows of the target session's settings, from the target's
 * own ParameterStatus messages (docs "Asynchronous Operations": the server
 * reports client_encoding, standard_conforming_strings, … whenever they
 * change, however they changed — SET, set_config() inside a function, a
 * procedure). The policy decision refuses statements that would change a
 * pinned setting; this is the second line: should the target ever report a
 * pinned setting away from its value, or a client encoding the gateway
 * cannot read, the session ends before another statement is judged.
 */
import { PINNED_REPORTED_SETTINGS, PINNED_TARGET_SETTINGS, parsePostgresBool } from '@portcullis/kit';
import { codecFor, UTF8_CODEC, type TextCodec } from './client-encoding.ts';
import { PgClientError, SqlState } from './errors.ts';

export class TargetSettings {
  codec: TextCodec = UTF8_CODEC;
  private serverEncoding: string | undefined;
  private clientEncoding = 'UTF8';

  constructor(reported: ReadonlyArray<readonly [string, string]>) {
    for (const [name, value] of reported) if (name === 'server_encoding') this.serverEncoding = value;
    for (const [name, value] of reported) this.follow(name, value);
  }

  /** One ParameterStatus from the target; throws a FATAL PgClientError when the session can no longer be judged. */
  follow(name: string, value: string): void {
    const key = name.toLowerCase();
    if (key === 'server_encoding') {
      this.serverEncoding = value;
      this.codec = this.codecOf(this.clientEncoding);
    } else if (key === 'client_encoding') {
      this.clientEncoding = value;
      this.codec = this.codecOf(value);
    } else if (PINNED_REPORTED_SETTINGS.has(key) && !samePinned(key, value)) {
      throw lost(`the target reports ${key}=${value}, but Portcullis reads every statement with ${key}=${PINNED_TARGET_SETTINGS[key]}`);
    }
  }

  private codecOf(clientEncoding: string): TextCodec {
    try {
      return codecFor(clientEncoding, this.serverEncoding);
    } catch (err) {
      throw lost(`the target now speaks client_encoding ${clientEncoding}: ${(err as Error).message}`);
    }
  }
}

function samePinned(name: string, value: string): boolean {
  const pinned = PINNED_TARGET_SETTINGS[name];
  const asBool = parsePostgresBool(pinned ?? '');
  return asBool === undefined ? value.toLowerCase() === pinned : parsePostgresBool(value) === asBool;
}

const lost = (why: string): PgClientError =>
  new PgClientError(SqlState.featureNotSupported, `Portcullis ended this session: ${why}`, { severity: 'FATAL', code: 'PCL_ERR_PG_SETTING_LOST' });

/**
 * Statement classes whose effect on settings the analysis cannot see: a
 * routine or computed SQL may call set_config() itself. The target reports
 * such a change only with its ReadyForQuery (PostgreSQL 14+ sends
 * ParameterStatus just before it), so a simple Query behind one of these is
 * judged only after that answer — a pipelined statement cannot slip in while
 * the setting is already changed but not yet reported.
 */
const SETTINGS_UNSEEN = new Set(['routine-call', 'dynamic-sql', 'non-literal-dynamic-sql']);

export const mayChangeSettingsUnseen = (classes: readonly string[]): boolean => classes.some((c) => SETTINGS_UNSEEN.has(c));

/** Holds the judging of the next simple Query until the target has answered everything forwarded. */
export class SettingsBarrier {
  private held: { promise: Promise<void>; release: () => void } | undefined;

  hold(): void {
    if (this.held) return;
    let release!: () => void;
    const promise = new Promise<void>((resolve) => (release = resolve));
    this.held = { promise, release };
  }

  /** Called at ReadyForQuery once nothing forwarded is unanswered, and at session end. */
  release(): void {
    this.held?.release();
    this.held = undefined;
  }

  wait(): Promise<void> | undefined {
    return this.held?.promise;
  }
}
