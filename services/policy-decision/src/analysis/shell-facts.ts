/**
 * What each simple command touches, in the terms a policy matches: the
 * files its words and redirections may name (normalised, shell-paths.ts),
 * the directory trees it walks, its options and subcommand, the variables it
 * sets. Computed once per command line, after the walk, because a `cd`
 * anywhere in the line may change where any of its relative paths point.
 */
import type { FileAccess, ShellFacts, SimpleCommandAnalysis } from './types.ts';
import { ANYWHERE, homesOf, isPathLike, normalisePath, optionValues, readingsOf as readingsIn, type PathContext } from './shell-paths.ts';
import { scanArguments } from './shell-options.ts';
import { walkedDirectories } from './shell-recursive.ts';
import { variableName, variablesAssignedBy } from './shell-variables.ts';

export interface ShellLocation {
  /** The session's working directory, when the caller knows it (absolute). */
  cwd?: string;
  /** The login user on the target (its home directory is what `~` means). */
  user?: string;
}

/** More distinct working directories than this in one line fail closed (the work grows with each). */
export const MAX_DIRECTORIES = 16;

/** Raised when a line is beyond what the facts can follow; analyzeShell turns it into unparseable. */
export class TooManyDirectories extends Error {}

/**
 * Every directory a command of the line may run in: the session's (or
 * "anywhere"), plus every literal `cd`/`pushd`/`env -C`/`sudo -D` target, each
 * resolved against every other. Control flow is ignored on purpose: a `cd`
 * anywhere in the line may precede any command (loops, functions).
 */
function directoriesOf(commands: readonly SimpleCommandAnalysis[], location: ShellLocation): PathContext {
  const homes = homesOf(location.user);
  const start = location.cwd !== undefined && location.cwd.startsWith('/') ? normalisePath(location.cwd) : ANYWHERE;
  const targets: string[] = [];
  for (const c of commands) {
    if (c.program === 'cd' || c.program === 'pushd') {
      const operand = scanArguments(c.args).operands[0];
      if (operand === undefined) targets.push('~');
      else if (operand !== '-' && !/^[+-]\d+$/.test(operand)) targets.push(operand);
    }
    for (const w of c.wrapperCommands ?? []) {
      const flag = w.program === 'env' ? ['-C', '--chdir'] : w.program === 'sudo' ? ['-D', '--chdir'] : [];
      w.args.forEach((a, i) => {
        if (flag.includes(a) && w.args[i + 1] !== undefined) targets.push(w.args[i + 1]!);
        else if (a.startsWith('--chdir=')) targets.push(a.slice('--chdir='.length));
        else if (flag[0] !== undefined && a.startsWith(flag[0]) && a.length > 2) targets.push(a.slice(2));
      });
    }
  }
  const cwds = new Set([start]);
  // Relative targets chain (`cd /etc; cd ssh`): resolve against what is known so far, a few rounds.
  for (let round = 0; round < 3; round++) {
    for (const t of new Set(targets)) {
      for (const r of readingsIn(t, { cwds: [...cwds], homes })) cwds.add(r);
      if (cwds.size > MAX_DIRECTORIES) throw new TooManyDirectories(`more than ${MAX_DIRECTORIES} working directories in one line`);
    }
  }
  return { cwds: [...cwds], homes };
}

const DUP_TARGET = /^(\d+|-)$/;

function accessOf(op: string, target: string): FileAccess | undefined {
  switch (op) {
    case '<<':
    case '<<-':
    case '<<<':
      return undefined; // here-documents are text, not files
    case '>&':
    case '<&':
      // `2>&1`, `>&-`: duplicate or close a descriptor. `>&file` is `&>file`.
      if (DUP_TARGET.test(target)) return undefined;
      return op === '>&' ? 'write' : 'read';
    case '<':
      return 'read';
    default:
      return 'write'; // > >> >| &> &>> <>
  }
}

const isNetwork = (p: string): boolean => p.startsWith('/dev/tcp/') || p.startsWith('/dev/udp/');

/** readingsOf, remembered per line (the same words recur; each reading costs a walk over every directory). */
function memoised(where: PathContext): (word: string) => string[] {
  const seen = new Map<string, string[]>();
  return (word) => {
    let r = seen.get(word);
    if (r === undefined) {
      r = readingsIn(word, where);
      seen.set(word, r);
    }
    return r;
  };
}

function factsOf(c: SimpleCommandAnalysis, where: PathContext, readingsOf: (word: string) => string[]): ShellFacts {
  const scan = scanArguments(c.args);
  const args = c.args.map((word) => {
    if (word.startsWith('-') && word.length > 1) {
      const values = optionValues(word);
      // `--lines=5` carries a value that is only a path if the program says so; `--file=./x` is written like one.
      return { word, pathLike: values.some(isPathLike), paths: values.flatMap((v) => readingsOf(v)) };
    }
    // `if=/etc/shadow` (dd and other key=value programs): the value may be a path too.
    const eq = word.indexOf('=');
    const value = eq > 0 ? word.slice(eq + 1) : '';
    const extra = isPathLike(value) ? readingsOf(value) : [];
    return { word, pathLike: isPathLike(word), paths: extra.length > 0 ? [...readingsOf(word), ...extra] : readingsOf(word) };
  });
  const files = c.redirects.flatMap((r) => {
    const access = accessOf(r.op, r.target);
    if (access === undefined) return [];
    const paths = readingsOf(r.target);
    return [{ access: paths.some(isNetwork) ? ('network' as const) : access, target: r.target, paths }];
  });
  const walks = walkedDirectories(c.program, c.args, scan).flatMap((d) => readingsOf(d));
  const variables = [...new Set([...(c.env ?? []).map(variableName), ...variablesAssignedBy(c.program, c.args)])];
  const values = [
    ...(c.env ?? []).flatMap((a) => (a.indexOf('=') > 0 ? [unquoted(a.slice(a.indexOf('=') + 1))] : [])),
    // Here-strings and here-documents may be lists of file names (`du --files0-from=- <<< /etc/shadow`).
    ...c.redirects.filter((r) => r.op === '<<<').flatMap((r) => r.target.split('\n').map(unquoted)),
    ...c.redirects.flatMap((r) => (r.text !== undefined ? r.text.split(/[\n\0]/) : [])),
  ];
  const valuePaths = values.flatMap((v) => (isPathLike(v) ? readingsOf(v) : []));
  return {
    args,
    files,
    walks: [...new Set(walks)],
    options: scan.options,
    operands: scan.operands,
    subcommands: scan.subcommands,
    variables,
    valuePaths: [...new Set(valuePaths)],
  };
}

/** Assignments are kept as written; a value in plain single or double quotes is read without them. */
function unquoted(value: string): string {
  const q = value[0];
  return (q === "'" || q === '"') && value.length >= 2 && value.endsWith(q) ? value.slice(1, -1) : value;
}

/** Adds `facts` to every command of a line. */
export function withFacts(commands: readonly SimpleCommandAnalysis[], location: ShellLocation = {}): SimpleCommandAnalysis[] {
  const where = directoriesOf(commands, location);
  const readings = memoised(where);
  return commands.map((c) => ({ ...c, facts: factsOf(c, where, readings) }));
}

/** Facts for a command judged on its own (hand-built analyses). */
export function factsFor(c: SimpleCommandAnalysis): ShellFacts {
  if (c.facts) return c.facts;
  const where = directoriesOf([c], {});
  return factsOf(c, where, memoised(where));
}
