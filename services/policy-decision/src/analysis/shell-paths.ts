/**
 * What a shell word may name as a file, normalised so a policy's path globs
 * see one spelling: `//`, `/./` and `/../` resolved lexically, `~` and
 * `~user` expanded, relative words joined to each directory the command may
 * run in, and /proc links that lead elsewhere (`/proc/<pid>/root/…`,
 * `/proc/<pid>/cwd/…`, `/proc/<pid>/task/<tid>/…`) also read as where they lead.
 *
 * A relative path whose base is unknown stays relative ("could be anywhere"):
 * `./.ssh/id_rsa` reads `.ssh/id_rsa`, which `**\/.ssh/**` matches and an
 * absolute pattern does not. `.` stands for the unknown directory itself.
 */
/** The unknown directory (the session's working directory when nobody told us). */
export const ANYWHERE = '.';

export interface PathContext {
  /** Directories the command may run in: absolute, or relative to an unknown directory (ANYWHERE). */
  cwds: readonly string[];
  /** The login user's home directory candidates, same form. */
  homes: readonly string[];
}

export const unknownLocation: PathContext = { cwds: [ANYWHERE], homes: [ANYWHERE] };

/** Lexical normalisation; relative paths lose leading `..` (their base is unknown, so they could be anywhere). */
export function normalisePath(path: string): string {
  const absolute = path.startsWith('/');
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  if (absolute) return `/${out.join('/')}`;
  return out.length === 0 ? ANYWHERE : out.join('/');
}

/** `base` joined with `rel`, normalised. */
export function joinPath(base: string, rel: string): string {
  if (rel.startsWith('/')) return normalisePath(rel);
  return normalisePath(base === ANYWHERE ? rel : `${base}/${rel}`);
}

const MAX_PROC_HOPS = 8;

/**
 * The paths a /proc path also reaches: a process's `root` is (usually) `/`,
 * its `cwd` is any directory, `task/<tid>/x` is `/proc/<tid>/x`.
 */
function procAliases(path: string): string[] {
  const found = new Set([path]);
  const queue = [path];
  for (let hop = 0; hop < MAX_PROC_HOPS && queue.length > 0; hop++) {
    const p = queue.shift()!;
    const segs = p.split('/');
    if (segs[1] !== 'proc' || segs.length < 3) continue;
    const rest = segs.slice(3);
    const next: string[] = [];
    if (rest[0] === 'task' && rest.length >= 2) next.push(normalisePath(`/proc/${[rest[1], ...rest.slice(2)].join('/')}`));
    if (rest[0] === 'root') next.push(normalisePath(`/${rest.slice(1).join('/')}`));
    if (rest[0] === 'cwd') next.push(normalisePath(`/${rest.slice(1).join('/')}`), normalisePath(rest.slice(1).join('/')));
    for (const n of next) {
      if (!found.has(n)) {
        found.add(n);
        queue.push(n);
      }
    }
  }
  return [...found];
}

const USER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*\$?$/;

/** Conventional home directory of a user: /root for root, /home/NAME otherwise, and anywhere (it may be elsewhere). */
export function homesOf(user: string | undefined): string[] {
  if (user === undefined || user === '') return [ANYWHERE];
  return user === 'root' ? ['/root'] : [`/home/${user}`, ANYWHERE];
}

/** Bases a `~…` word starts from, or undefined when the word is not a tilde prefix. */
function tildeBases(head: string, ctx: PathContext): readonly string[] | undefined {
  if (head === '~') return ctx.homes;
  if (head === '~+') return ctx.cwds;
  if (head === '~-') return [ANYWHERE];
  const user = head.slice(1);
  return USER_NAME.test(user) ? homesOf(user) : undefined;
}

/** Every normalised path `word` may name in `ctx`. */
export function readingsOf(word: string, ctx: PathContext): string[] {
  if (word === '') return [];
  const out = new Set<string>();
  const add = (p: string): void => {
    for (const a of p.startsWith('/') ? procAliases(p) : [p]) out.add(a);
  };
  if (word.startsWith('/')) add(normalisePath(word));
  else {
    if (word.startsWith('~')) {
      const slash = word.indexOf('/');
      const head = slash < 0 ? word : word.slice(0, slash);
      const tail = slash < 0 ? '' : word.slice(slash + 1);
      for (const base of tildeBases(head, ctx) ?? []) add(joinPath(base, tail));
    }
    // Also as written (a quoted `~` is a literal directory name).
    for (const cwd of ctx.cwds) add(joinPath(cwd, word));
  }
  return [...out];
}

/** A word written like a path: it has a slash, or starts with `.` or `~`. */
export function isPathLike(word: string): boolean {
  return word.includes('/') || word.startsWith('.') || word.startsWith('~');
}

/**
 * Paths an option word carries: `--opt=VALUE`, and for a short-option cluster
 * every attached remainder that starts like a path (`-f/etc/shadow`, `-xf./k`).
 */
export function optionValues(word: string): string[] {
  if (word.startsWith('--')) {
    const eq = word.indexOf('=');
    return eq > 2 ? [word.slice(eq + 1)] : [];
  }
  const values: string[] = [];
  for (let j = 2; j < word.length; j++) if ('/.~'.includes(word[j]!)) values.push(word.slice(j));
  return values;
}
