/**
 * Programs that run another command: how to find that command in their
 * arguments. Option tables follow each program's manual page (sudo(8) 1.9,
 * doas(1), GNU coreutils env/nice/nohup/timeout/stdbuf/chroot, GNU findutils
 * xargs/find, util-linux su/runuser/setsid/taskset/ionice, bash(1) "Invoking
 * Bash" and the bash builtins exec/command/builtin/eval/trap/source).
 *
 * All the listed programs parse options POSIX-style up to the first operand
 * (their getopt strings start with '+'), which is what scanOptions does.
 */
import type { ResolvedWord } from './shell-words.ts';

export type Unwrapped =
  /** The wrapped command is args[at…]; `env` are NAME=value words the wrapper sets. */
  | { kind: 'command'; at: number; label: string; env: string[]; argsFromInput?: boolean }
  /** The wrapper runs a command line given as one string (`sh -c`, `su -c`, `eval`, `trap`). */
  | { kind: 'script'; script: ResolvedWord; label: string; appendArgs?: ResolvedWord[] }
  /** A shell reading its commands from standard input. */
  | { kind: 'stdin-script'; label: string }
  /** `find … -exec CMD … ;` — find runs, and so does each CMD. */
  | { kind: 'find'; execs: { at: number; end: number; label: string }[] }
  /** The program runs no other command (or runs one we cannot see, `dynamic`). */
  | { kind: 'self'; dynamic: boolean };

interface OptionSpec {
  /** Short options that take an argument (attached or the next word). */
  withArg?: string;
  /** Short options whose argument can only be attached (getopt `x::`). */
  optionalArg?: string;
  /** Long options (without --) that take the next word when written without '='. */
  longWithArg?: string[];
  /** `-NUM` is an option (nice). */
  numeric?: boolean;
  /** `+o opt` style options (shells). */
  plus?: boolean;
}

interface Scanned {
  /** Index of the first operand (args.length when none). */
  at: number;
  /** Option names seen: the short letter, or the long name without dashes. */
  seen: Map<string, ResolvedWord | undefined>;
}

/** getopt-style scan to the first operand; undefined when a run-time word sits where an option could be. */
export function scanOptions(args: ResolvedWord[], spec: OptionSpec): Scanned | undefined {
  const seen = new Map<string, ResolvedWord | undefined>();
  let i = 0;
  while (i < args.length) {
    const w = args[i]!;
    if (!w.literal) return undefined;
    const t = w.text;
    if (t === '--') return { at: i + 1, seen };
    const isPlus = spec.plus === true && t.startsWith('+') && t.length > 1;
    if (!(t.startsWith('-') && t.length > 1) && !isPlus) return { at: i, seen };
    if (t.startsWith('--')) {
      const eq = t.indexOf('=');
      const name = eq < 0 ? t.slice(2) : t.slice(2, eq);
      if (eq >= 0) seen.set(name, { literal: true, text: t.slice(eq + 1) });
      else if (spec.longWithArg?.includes(name)) {
        seen.set(name, args[i + 1]);
        i++;
      } else seen.set(name, undefined);
      i++;
      continue;
    }
    if (spec.numeric === true && isDigits(t.slice(1))) {
      seen.set('NUM', w);
      i++;
      continue;
    }
    // A cluster of short options: -abc, -uUSER, -u USER.
    let consumedNext = false;
    for (let j = 1; j < t.length; j++) {
      const c = t[j]!;
      if (spec.withArg?.includes(c) === true) {
        const rest = t.slice(j + 1);
        if (rest.length > 0) seen.set(c, { literal: true, text: rest });
        else {
          seen.set(c, args[i + 1]);
          consumedNext = true;
        }
        break;
      }
      if (spec.optionalArg?.includes(c) === true) {
        seen.set(c, { literal: true, text: t.slice(j + 1) });
        break;
      }
      seen.set(c, undefined);
    }
    i += consumedNext ? 2 : 1;
  }
  return { at: Math.min(i, args.length), seen };
}

function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (const ch of s) if (ch < '0' || ch > '9') return false;
  return true;
}

/** `NAME=value` as env(1) and sudo(8) accept before the command. */
export function isEnvAssignment(w: ResolvedWord): boolean {
  if (!w.literal) return false;
  const eq = w.text.indexOf('=');
  if (eq <= 0) return false;
  for (let k = 0; k < eq; k++) {
    const c = w.text.charCodeAt(k);
    const alpha = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
    if (!alpha && !(k > 0 && c >= 48 && c <= 57)) return false;
  }
  return true;
}

function takeEnv(args: ResolvedWord[], from: number): { at: number; env: string[] } {
  const env: string[] = [];
  let at = from;
  while (at < args.length && isEnvAssignment(args[at]!)) env.push(args[at++]!.text);
  return { at, env };
}

function command(args: ResolvedWord[], at: number, label: string, env: string[] = []): Unwrapped {
  return at < args.length ? { kind: 'command', at, label, env } : { kind: 'self', dynamic: false };
}

const UNKNOWN: Unwrapped = { kind: 'self', dynamic: true };

export const SHELLS = new Set(['sh', 'bash', 'rbash', 'dash', 'ash', 'zsh', 'ksh', 'mksh', 'yash', 'fish']);

/**
 * What `program args…` runs besides itself. Undefined for ordinary programs.
 * `args` excludes the program word.
 */
export function unwrap(program: string, args: ResolvedWord[]): Unwrapped | undefined {
  if (SHELLS.has(program)) return shell(program, args);
  switch (program) {
    case 'sudo': {
      const s = scanOptions(args, {
        withArg: 'CDgpRrTtUu',
        optionalArg: 'h',
        longWithArg: ['close-from', 'chdir', 'group', 'prompt', 'chroot', 'role', 'command-timeout', 'type', 'other-user', 'user', 'host'],
      });
      if (s === undefined) return UNKNOWN;
      // -e (sudoedit), -l (list), -v (validate), -V, -h: no command is run.
      for (const mode of ['e', 'edit', 'l', 'list', 'V', 'version', 'h', 'help']) if (s.seen.has(mode)) return { kind: 'self', dynamic: false };
      const { at, env } = takeEnv(args, s.at);
      return command(args, at, 'sudo', env);
    }
    case 'doas': {
      const s = scanOptions(args, { withArg: 'aCu' });
      if (s === undefined) return UNKNOWN;
      if (s.seen.has('C')) return { kind: 'self', dynamic: false }; // config check only
      return command(args, s.at, 'doas');
    }
    case 'env': {
      const s = scanOptions(args, {
        withArg: 'uCSP',
        longWithArg: ['unset', 'chdir', 'split-string'],
      });
      if (s === undefined) return UNKNOWN;
      const { at, env } = takeEnv(args, s.at);
      const split = s.seen.get('S') ?? s.seen.get('split-string');
      if (split !== undefined) {
        // env -S splits its string into words placed before the remaining operands.
        return { kind: 'script', script: split, label: 'env -S', appendArgs: args.slice(at) };
      }
      return command(args, at, 'env', env);
    }
    case 'nice': {
      const s = scanOptions(args, { withArg: 'n', longWithArg: ['adjustment'], numeric: true });
      return s === undefined ? UNKNOWN : command(args, s.at, 'nice');
    }
    case 'nohup': {
      const s = scanOptions(args, {});
      return s === undefined ? UNKNOWN : command(args, s.at, 'nohup');
    }
    case 'timeout': {
      const s = scanOptions(args, { withArg: 'sk', longWithArg: ['signal', 'kill-after'] });
      if (s === undefined) return UNKNOWN;
      return command(args, s.at + 1, 'timeout'); // the operand after the options is the duration
    }
    case 'stdbuf': {
      const s = scanOptions(args, { withArg: 'ioe', longWithArg: ['input', 'output', 'error'] });
      return s === undefined ? UNKNOWN : command(args, s.at, 'stdbuf');
    }
    case 'ionice': {
      const s = scanOptions(args, { withArg: 'cnpPu', longWithArg: ['class', 'classdata', 'pid', 'pgid', 'uid'] });
      if (s === undefined) return UNKNOWN;
      for (const target of ['p', 'P', 'u', 'pid', 'pgid', 'uid']) if (s.seen.has(target)) return { kind: 'self', dynamic: false };
      return command(args, s.at, 'ionice');
    }
    case 'chroot': {
      const s = scanOptions(args, { longWithArg: ['userspec', 'groups'] });
      if (s === undefined) return UNKNOWN;
      // NEWROOT then the command; without one chroot runs "$SHELL -i".
      return command(args, s.at + 1, 'chroot');
    }
    case 'setsid': {
      const s = scanOptions(args, {});
      return s === undefined ? UNKNOWN : command(args, s.at, 'setsid');
    }
    case 'taskset': {
      const s = scanOptions(args, {});
      if (s === undefined) return UNKNOWN;
      if (s.seen.has('p') || s.seen.has('pid')) return { kind: 'self', dynamic: false };
      return command(args, s.at + 1, 'taskset'); // MASK (or CPU list with -c) then the command
    }
    case 'time': {
      // GNU time(1) as a program (the bash keyword `time` is a TimeClause in the tree).
      const s = scanOptions(args, { withArg: 'fo', longWithArg: ['format', 'output'] });
      return s === undefined ? UNKNOWN : command(args, s.at, 'time');
    }
    case 'xargs': {
      const s = scanOptions(args, {
        withArg: 'adEILnPs',
        optionalArg: 'eil',
        longWithArg: ['arg-file', 'delimiter', 'max-lines', 'max-args', 'max-procs', 'max-chars', 'process-slot-var'],
      });
      if (s === undefined) return UNKNOWN;
      // Without a command xargs runs echo; its arguments come from standard input.
      if (s.at >= args.length) return { kind: 'self', dynamic: true };
      return { kind: 'command', at: s.at, label: 'xargs', env: [], argsFromInput: true };
    }
    case 'busybox': {
      // Multi-call binary: `busybox APPLET args` runs the applet.
      const s = scanOptions(args, {});
      if (s === undefined) return UNKNOWN;
      if (s.at !== 0) return { kind: 'self', dynamic: false }; // --list, --install …
      return command(args, 0, 'busybox');
    }
    case 'exec': {
      const s = scanOptions(args, { withArg: 'a' });
      return s === undefined ? UNKNOWN : command(args, s.at, 'exec');
    }
    case 'command': {
      const s = scanOptions(args, {});
      if (s === undefined) return UNKNOWN;
      if (s.seen.has('v') || s.seen.has('V')) return { kind: 'self', dynamic: false }; // only describes
      return command(args, s.at, 'command');
    }
    case 'builtin':
      return command(args, 0, 'builtin');
    case 'eval': {
      // eval joins its arguments with spaces and runs the result (bash builtin).
      if (args.length === 0) return { kind: 'self', dynamic: false };
      if (!args.every((a) => a.literal)) return UNKNOWN;
      return { kind: 'script', script: { literal: true, text: args.map((a) => a.text).join(' ') }, label: 'eval' };
    }
    case 'trap': {
      // trap [-lp] [action] [sigspec…]: action runs later, in this shell.
      const s = scanOptions(args, {});
      if (s === undefined) return UNKNOWN;
      const operands = args.slice(s.at);
      if (operands.length < 2) return { kind: 'self', dynamic: false };
      const action = operands[0]!;
      if (action.literal && (action.text === '' || action.text === '-')) return { kind: 'self', dynamic: false };
      return { kind: 'script', script: action, label: 'trap' };
    }
    case 'source':
    case '.':
      // Runs a script file we cannot see.
      return { kind: 'self', dynamic: true };
    case 'su':
    case 'runuser':
      return su(program, args);
    case 'find':
    case 'gfind':
      return find(args);
    default:
      return undefined;
  }
}

/** bash(1) INVOCATION: `-c STRING`, `-s`, or a script file operand; dash/zsh/ksh alike. */
function shell(program: string, args: ResolvedWord[]): Unwrapped {
  const s = scanOptions(args, { withArg: 'oO', longWithArg: ['rcfile', 'init-file'], plus: true });
  if (s === undefined) return UNKNOWN;
  // A lone '-' ends options like '--' (scanOptions treats it as an operand).
  const at = args[s.at]?.literal === true && args[s.at]!.text === '-' ? s.at + 1 : s.at;
  if (s.seen.has('c')) {
    const script = args[at];
    if (script === undefined) return { kind: 'self', dynamic: false }; // "-c: option requires an argument"
    return { kind: 'script', script, label: `${program} -c` };
  }
  if (at < args.length && !s.seen.has('s')) return { kind: 'self', dynamic: true }; // runs a script file
  return { kind: 'stdin-script', label: program };
}

/** util-linux su(1)/runuser(1): -c/--command/--session-command STRING runs via the user's shell. */
function su(program: string, args: ResolvedWord[]): Unwrapped {
  // util-linux permutes options and operands, so scan every word.
  let i = 0;
  let userMode = false;
  while (i < args.length) {
    const w = args[i]!;
    if (!w.literal) return UNKNOWN;
    const t = w.text;
    if (t === '--') {
      if (userMode) return command(args, i + 1, `${program} -u`);
      i++;
      continue;
    }
    if (t.startsWith('--')) {
      const eq = t.indexOf('=');
      const name = eq < 0 ? t.slice(2) : t.slice(2, eq);
      const value = eq < 0 ? args[i + 1] : { literal: true, text: t.slice(eq + 1) };
      if (name === 'command' || name === 'session-command') {
        return value === undefined ? { kind: 'self', dynamic: false } : { kind: 'script', script: value, label: `${program} -c` };
      }
      if (eq < 0 && ['shell', 'group', 'supp-group', 'whitelist-environment', 'user'].includes(name)) {
        if (name === 'user') userMode = true;
        i++;
      }
      i++;
      continue;
    }
    if (t.startsWith('-') && t.length > 1) {
      let consumed = false;
      for (let j = 1; j < t.length; j++) {
        const c = t[j]!;
        if (c === 'c') {
          const rest = t.slice(j + 1);
          const value = rest.length > 0 ? { literal: true, text: rest } : args[i + 1];
          return value === undefined ? { kind: 'self', dynamic: false } : { kind: 'script', script: value, label: `${program} -c` };
        }
        if ('sgGwu'.includes(c)) {
          if (c === 'u' && program === 'runuser') userMode = true;
          if (j === t.length - 1) consumed = true;
          break;
        }
      }
      i += consumed ? 2 : 1;
      continue;
    }
    // runuser -u USER COMMAND…: the first operand after the options is the command.
    if (userMode) return command(args, i, `${program} -u`);
    i++;
  }
  return { kind: 'self', dynamic: false };
}

/** find(1): -exec/-execdir/-ok/-okdir COMMAND … terminated by ';' or '+'. */
function find(args: ResolvedWord[]): Unwrapped {
  const execs: { at: number; end: number; label: string }[] = [];
  for (let i = 0; i < args.length; i++) {
    const w = args[i]!;
    if (!w.literal || !['-exec', '-execdir', '-ok', '-okdir'].includes(w.text)) continue;
    let end = i + 1;
    while (end < args.length && !(args[end]!.literal && (args[end]!.text === ';' || args[end]!.text === '+'))) end++;
    execs.push({ at: i + 1, end, label: `find ${w.text}` });
    i = end;
  }
  return { kind: 'find', execs };
}
