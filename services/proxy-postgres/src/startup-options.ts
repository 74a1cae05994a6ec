/**
 * The `options` startup parameter is a command line for the backend
 * (docs "Start-up", StartupMessage: options; libpq `options`). PostgreSQL
 * splits it like pg_split_opts() does — on ASCII white space, a backslash
 * takes the next character literally — and reads it with getopt, where
 * `-c name=value`, `-cname=value` and `--name=value` set a run-time setting
 * (dashes in the name are underscores) and other switches do other things.
 *
 * Portcullis reads its own setting `-c portcullis.reason=…`; every other
 * argument must be a setting, and the caller's settings are judged by the
 * same list as SQL SET (kit/postgres/settings.ts) in the handshake.
 */
const REASON = 'portcullis.reason';
const MAX_REASON_CHARS = 2000;

/** isspace() in the C locale: what pg_split_opts() splits on (not Unicode spaces). */
const isAsciiSpace = (ch: string): boolean => ch === ' ' || ch === '\t' || ch === '\n' || ch === '\v' || ch === '\f' || ch === '\r';

export function splitBackendOptions(options: string): string[] {
  const args: string[] = [];
  let current = '';
  let inArg = false;
  for (let i = 0; i < options.length; i++) {
    const ch = options[i]!;
    if (ch === '\\' && i + 1 < options.length) {
      current += options[++i];
      inArg = true;
    } else if (isAsciiSpace(ch)) {
      if (inArg) args.push(current);
      current = '';
      inArg = false;
    } else {
      current += ch;
      inArg = true;
    }
  }
  if (inArg) args.push(current);
  return args;
}

export interface BackendOptions {
  reason: string | undefined;
  /** The settings the options ask for, in order, with names as PostgreSQL would read them. */
  settings: Array<{ name: string; value: string }>;
}

/** An argument of `options` Portcullis does not pass on: anything but a setting. */
export class BackendOptionRefused extends Error {
  constructor(readonly argument: string) {
    super(`the startup option "${argument.slice(0, 100)}" is not allowed: only -c name=value settings pass through Portcullis`);
    this.name = 'BackendOptionRefused';
  }
}

/** ParseLongOption(): name=value with dashes in the name read as underscores; no '=' is an error in PostgreSQL too. */
function setting(arg: string, original: string): { name: string; value: string } {
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new BackendOptionRefused(original);
  return { name: arg.slice(0, eq).replace(/-/g, '_'), value: arg.slice(eq + 1) };
}

/** Parses `options` as the backend would; throws BackendOptionRefused for anything but settings. */
export function parseBackendOptions(options: string | undefined): BackendOptions {
  const out: BackendOptions = { reason: undefined, settings: [] };
  if (options === undefined) return out;
  // pg_split_opts() splits on isspace() in the server's locale: in a single-byte locale 0xA0 or 0x85 can be
  // white space too. Only ASCII (and no control characters but ASCII white space) splits the same everywhere.
  if (/[^\x20-\x7e\t\n\v\f\r]/.test(options)) throw new BackendOptionRefused(options.replace(/[^\x20-\x7e]/g, '?'));
  const args = splitBackendOptions(options);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    let parsed: { name: string; value: string };
    if (arg === '-c') {
      if (i + 1 >= args.length) throw new BackendOptionRefused(arg);
      parsed = setting(args[++i]!, `-c ${args[i]!}`);
    } else if (arg.startsWith('-c')) parsed = setting(arg.slice(2), arg);
    else if (arg.startsWith('--') && arg.length > 2) parsed = setting(arg.slice(2), arg);
    else throw new BackendOptionRefused(arg);
    if (parsed.name.toLowerCase() === REASON) out.reason = parsed.value.slice(0, MAX_REASON_CHARS) || undefined;
    else out.settings.push(parsed);
  }
  return out;
}
