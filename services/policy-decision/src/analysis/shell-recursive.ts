/**
 * Programs that read whole directory trees, and which words name the trees.
 * A policy that protects `/root/**` must also stop `grep -r x /root`,
 * `du /`, `tar c /home` and `find /etc`: the directories walked are matched
 * against protected patterns as "could contain" (docs/policy.md).
 * Option letters follow each program's manual page (GNU grep, coreutils, findutils, tar, rsync, zip).
 */
import { abbreviates, type ArgumentScan } from './shell-options.ts';

interface RecursiveReader {
  /** Recursive whatever the options. */
  always?: boolean;
  /** Short option letters / long names that make it recursive. */
  short?: string;
  long?: readonly string[];
  /** The first operand is a pattern, unless one of these options gave it. */
  patternFirst?: readonly string[];
  /** Without a directory operand it walks the working directory. */
  defaultHere?: boolean;
}

const GREP: RecursiveReader = {
  short: 'rRd',
  long: ['--recursive', '--dereference-recursive', '--directories'],
  patternFirst: ['-e', '-f', '--regexp', '--file'],
  defaultHere: true,
};
const SEARCHER: RecursiveReader = { always: true, patternFirst: ['-e', '-f', '--regexp', '--file'], defaultHere: true };
const MINUS_R: RecursiveReader = { short: 'R', long: ['--recursive'] };

const READERS: Record<string, RecursiveReader> = {
  grep: GREP,
  egrep: GREP,
  fgrep: GREP,
  rgrep: { ...GREP, always: true },
  rg: SEARCHER,
  ag: SEARCHER,
  ack: SEARCHER,
  du: { always: true, defaultHere: true },
  tree: { always: true, defaultHere: true },
  ls: { short: 'R', long: ['--recursive'] , defaultHere: true },
  tar: { always: true },
  bsdtar: { always: true },
  '7z': { always: true },
  '7za': { always: true },
  rsync: { always: true },
  cp: { short: 'rRa', long: ['--recursive', '--archive'] },
  scp: { short: 'r' },
  zip: { short: 'r', long: ['--recurse-paths'] },
  diff: { short: 'r', long: ['--recursive'] },
  rm: { short: 'rR', long: ['--recursive'] },
  chmod: MINUS_R,
  chown: MINUS_R,
  chgrp: MINUS_R,
  getfacl: MINUS_R,
  setfacl: MINUS_R,
  chattr: MINUS_R,
  lsattr: MINUS_R,
};

/** Directory words a recursive reader walks ('.' for the working directory), or [] when it does not recurse. */
export function walkedDirectories(program: string, args: readonly string[], scan: ArgumentScan): string[] {
  if (program === 'find' || program === 'gfind') return findStartPoints(args);
  const reader = READERS[program];
  if (reader === undefined) return [];
  // getopt_long takes any unambiguous prefix of a long option (`--recur` is `--recursive`).
  const isOne = (o: string, names: readonly string[] | undefined): boolean => names?.some((n) => o === n || abbreviates(o, n)) === true;
  const recursive =
    reader.always === true || scan.options.some((o) => (o.length === 2 && reader.short?.includes(o[1]!) === true) || isOne(o, reader.long));
  if (!recursive) return [];
  let dirs = scan.operands;
  if (reader.patternFirst && !scan.options.some((o) => isOne(o, reader.patternFirst))) dirs = dirs.slice(1);
  if (dirs.length === 0 && reader.defaultHere === true) return ['.'];
  return dirs;
}

/** find [-H] [-L] [-P] [-D debugopts] [-Olevel] [starting-point…] [expression]: the starting points, '.' when none. */
function findStartPoints(args: readonly string[]): string[] {
  let i = 0;
  while (i < args.length && ['-H', '-L', '-P'].includes(args[i]!)) i++;
  while (i < args.length && (args[i] === '-D' || args[i]!.startsWith('-O'))) i += args[i] === '-D' ? 2 : 1;
  const starts: string[] = [];
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith('-') || a === '(' || a === '!' || a === ')' || a === ',') break;
    starts.push(a);
  }
  return starts.length > 0 ? starts : ['.'];
}
