/**
 * The `options` startup parameter is a command line for the backend
 * (docs "Start-up", StartupMessage: options; libpq `options`): arguments are
 * separated by spaces, a backslash escapes the next character. Portcullis
 * reads its own setting `-c portcullis.reason=…` and strips it before the
 * target sees the rest.
 */
const REASON = 'portcullis.reason';

function splitArguments(options: string): string[] {
  const args: string[] = [];
  let current = '';
  let inArg = false;
  for (let i = 0; i < options.length; i++) {
    const ch = options[i]!;
    if (ch === '\\' && i + 1 < options.length) {
      current += options[++i];
      inArg = true;
    } else if (/\s/.test(ch)) {
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

const escapeArgument = (arg: string): string => arg.replace(/[\\\s]/g, (m) => `\\${m}`);

export function extractReason(options: string | undefined): { reason: string | undefined; options: string | undefined } {
  if (options === undefined) return { reason: undefined, options: undefined };
  const args = splitArguments(options);
  const kept: string[] = [];
  let reason: string | undefined;
  const settingOf = (arg: string): string | undefined => {
    if (arg.startsWith(`${REASON}=`)) return arg.slice(REASON.length + 1);
    return undefined;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-c' && i + 1 < args.length && settingOf(args[i + 1]!) !== undefined) {
      reason = settingOf(args[++i]!);
    } else if (arg.startsWith('-c') && settingOf(arg.slice(2)) !== undefined) {
      reason = settingOf(arg.slice(2));
    } else if (arg.startsWith('--') && settingOf(arg.slice(2)) !== undefined) {
      reason = settingOf(arg.slice(2));
    } else {
      kept.push(arg);
    }
  }
  return {
    reason: reason?.slice(0, 2000) || undefined,
    options: kept.length > 0 ? kept.map(escapeArgument).join(' ') : undefined,
  };
}
