/**
 * The gateway owns a PostgreSQL session's run-time settings. This is the one
 * list that judges a change of a setting, wherever it comes from: a startup
 * parameter, a `-c name=value` in the `options` startup parameter (the
 * PostgreSQL proxy), or a statement — SET, SET LOCAL, RESET, set_config(),
 * ALTER ROLE/DATABASE/SYSTEM … SET (the SQL analysis of the policy decision
 * service). Both sides import it, so a setting a caller cannot pass at
 * startup is also one it cannot SET without a rule that names it.
 *
 * - harmless: output formats, the messages the caller sees, names shown in
 *   pg_stat_activity, limits that only make the caller's own session stricter.
 *   They cannot change which objects a statement reaches, what a statement
 *   may do, or how the SQL text is split. SQL class `session-setting`.
 * - meaningful: everything else — search_path (which table a name means),
 *   role and session_authorization (who runs the statement), read-only
 *   defaults, resource limits switched off, planner and superuser settings,
 *   extension settings we do not know. SQL class `session-change`; a policy
 *   admits them only by naming the setting.
 * - pinned: the settings that decide how PostgreSQL reads the bytes of a
 *   statement. The gateway's parser reads SQL the way the target does only
 *   under these values, so the gateway sets them on every target connection
 *   and refuses any change away from them, whatever the policy says.
 */
import { judgeClientEncoding } from './encodings.ts';

export type SettingEffect = 'harmless' | 'meaningful' | 'pinned';

/** A change of one setting: to a value, to a value computed at run time, or back to the session's start value. */
export type SettingChange = { kind: 'set'; value: string } | { kind: 'set-unknown' } | { kind: 'reset' };

export interface SettingJudgement {
  /** Canonical (lower-case) setting name; '*' when the name is not known before run time. */
  name: string;
  effect: SettingEffect;
  /** Why, in words a caller can act on. */
  reason: string;
}

/**
 * What the gateway sets on every target connection, after the caller's
 * parameters so they win: the values libpg_query's scanner assumes
 * (standard_conforming_strings on: `\` is an ordinary character in '…';
 * backslash_quote safe_encoding: `\'` in E'…' is a quote unless the client
 * encoding is client-only, which is refused anyway).
 */
export const PINNED_TARGET_SETTINGS: Readonly<Record<string, string>> = Object.freeze({
  standard_conforming_strings: 'on',
  backslash_quote: 'safe_encoding',
});

/** Settings whose reported value (ParameterStatus) the gateway watches; a different value ends the session. */
export const PINNED_REPORTED_SETTINGS: ReadonlySet<string> = new Set(['standard_conforming_strings']);

/**
 * The longest timeout counted as a harmless limit (one hour). The gateway
 * cannot know the role's own default, so a caller may raise a lower default
 * up to this; a policy that must keep a lower one blocks the setting by name
 * (`sql.settings: [statement_timeout]` in a block rule).
 */
const MAX_HARMLESS_TIMEOUT_MS = 60 * 60 * 1000;

type ValueCheck = (value: string) => string | undefined;

const anyValue: ValueCheck = () => undefined;

/** PostgreSQL's parse_bool(): on/off, true/false, yes/no, 1/0 and unique prefixes. */
export function parsePostgresBool(value: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (v.length === 0) return undefined;
  if ('true'.startsWith(v) || 'yes'.startsWith(v) || v === 'on' || v === '1') return true;
  if ('false'.startsWith(v) || 'no'.startsWith(v) || v === 'off' || v === 'of' || v === '0') return false;
  return undefined;
}

const TIME_UNITS_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** A time setting's value in milliseconds (docs "Parameter Names and Values": number with an optional unit; ms by default). */
export function parseTimeSettingMs(value: string): number | undefined {
  const m = /^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  if (!m) return undefined;
  const unit = m[2] === '' ? 'ms' : m[2]!;
  const factor = TIME_UNITS_MS[unit];
  if (factor === undefined) return undefined;
  const n = Number(m[1]) * factor;
  return Number.isFinite(n) ? n : undefined;
}

/** A timeout that limits the caller's own session: a positive time up to an hour. 0 switches the limit off. */
const aLimit: ValueCheck = (value) => {
  const ms = parseTimeSettingMs(value);
  if (ms === undefined) return `"${value}" is not a time`;
  if (ms <= 0) return 'a value of 0 or less switches the limit off';
  if (ms > MAX_HARMLESS_TIMEOUT_MS) return 'a limit above one hour is not counted as harmless';
  return undefined;
};

const onlyOn: ValueCheck = (value) => (parsePostgresBool(value) === true ? undefined : 'only turning it on is harmless');

const aSupportedEncoding: ValueCheck = (value) => {
  const judged = judgeClientEncoding(value);
  return judged.ok ? undefined : judged.reason;
};

/**
 * The harmless settings and the values that keep them harmless. Each entry
 * says why it cannot change what a statement reaches or may do.
 */
const HARMLESS: Record<string, ValueCheck> = {
  // Shown in pg_stat_activity and logs; drivers set it at startup (pgjdbc, psql, psycopg).
  application_name: anyValue,
  // Output and input formats of dates, times and numbers (pgjdbc sends DateStyle, TimeZone, extra_float_digits).
  datestyle: anyValue,
  intervalstyle: anyValue,
  timezone: anyValue,
  extra_float_digits: anyValue,
  bytea_output: anyValue,
  lc_monetary: anyValue,
  lc_numeric: anyValue,
  lc_time: anyValue,
  // Which notices the caller receives; escape_string_warning only adds warnings.
  client_min_messages: anyValue,
  escape_string_warning: anyValue,
  // The caller's own limits: harmless while they limit (a positive time up to an hour).
  statement_timeout: aLimit,
  lock_timeout: aLimit,
  idle_in_transaction_session_timeout: aLimit,
  idle_session_timeout: aLimit,
  // Isolation and deferrability of the caller's own transactions; read-only only towards stricter.
  transaction_isolation: anyValue,
  default_transaction_isolation: anyValue,
  transaction_deferrable: anyValue,
  default_transaction_deferrable: anyValue,
  transaction_read_only: onlyOn,
  default_transaction_read_only: onlyOn,
  // The gateway decodes every ASCII-safe encoding it knows; the others are pinned out below.
  client_encoding: aSupportedEncoding,
};

/** How a value of a pinned setting compares with the pinned one. */
const PINNED_SAME: Record<string, (value: string) => boolean> = {
  standard_conforming_strings: (v) => parsePostgresBool(v) === true,
  backslash_quote: (v) => v.trim().toLowerCase() === 'safe_encoding',
};

/** GUC names are case-insensitive; `-c` and `--name=value` spell underscores as dashes too. */
export const canonicalSettingName = (name: string): string => name.trim().toLowerCase();

export function judgeSettingChange(rawName: string | undefined, change: SettingChange): SettingJudgement {
  if (rawName === undefined) {
    return { name: '*', effect: 'pinned', reason: 'a setting whose name is computed at run time could be one the gateway pins (standard_conforming_strings, client_encoding)' };
  }
  const name = canonicalSettingName(rawName);
  const pinnedSame = PINNED_SAME[name];
  if (pinnedSame) {
    // RESET and DEFAULT go back to the session's start value, which the gateway pinned.
    if (change.kind === 'reset' || (change.kind === 'set' && pinnedSame(change.value))) return { name, effect: 'harmless', reason: `${name} stays ${PINNED_TARGET_SETTINGS[name]}` };
    return {
      name,
      effect: 'pinned',
      reason: `Portcullis pins ${name}=${PINNED_TARGET_SETTINGS[name]}: it decides how PostgreSQL reads the text of every later statement`,
    };
  }
  const check = HARMLESS[name];
  if (name === 'client_encoding' && change.kind !== 'reset') {
    if (change.kind === 'set-unknown') return { name, effect: 'pinned', reason: 'client_encoding computed at run time could be an encoding Portcullis cannot read safely' };
    const problem = check!(change.value);
    return problem ? { name, effect: 'pinned', reason: problem } : { name, effect: 'harmless', reason: `client encoding ${change.value} is ASCII-safe` };
  }
  if (check) {
    if (change.kind === 'reset') return { name, effect: 'harmless', reason: `${name} goes back to its value at session start` };
    if (change.kind === 'set-unknown') {
      return check === anyValue ? { name, effect: 'harmless', reason: `any value of ${name} is harmless` } : { name, effect: 'meaningful', reason: `${name} with a value computed at run time` };
    }
    const problem = check(change.value);
    return problem ? { name, effect: 'meaningful', reason: `${name}: ${problem}` } : { name, effect: 'harmless', reason: `${name} is harmless` };
  }
  return { name, effect: 'meaningful', reason: `${name} can change what later statements mean or may do` };
}

// ---------------------------------------------------------------- startup

/** Startup parameters that are not settings: the gateway reads or refuses them itself. */
const STARTUP_NON_SETTINGS = new Set(['user', 'database', 'options', 'replication']);

export type StartupParameterJudgement =
  | { ok: true; name: string; value: string }
  | { ok: false; name: string; reason: string };

/**
 * A startup parameter (or a `-c` in `options`) passes only when changing it
 * mid-session would be harmless — the same list as for SET. A pinned setting
 * given its pinned value passes too (the gateway sets it anyway).
 */
export function judgeStartupSetting(rawName: string, value: string): StartupParameterJudgement {
  const name = canonicalSettingName(rawName);
  if (STARTUP_NON_SETTINGS.has(name) || name.startsWith('_pq_.')) return { ok: false, name, reason: `${name} is not a setting` };
  const judged = judgeSettingChange(name, { kind: 'set', value });
  if (judged.effect === 'harmless') return { ok: true, name, value };
  return { ok: false, name, reason: judged.reason };
}
