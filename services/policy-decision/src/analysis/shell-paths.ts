/**
 * What a shell word may name as a file, normalised so a policy's path globs
 * see one spelling: `//`, `/./` and `/../` resolved lexically, `~` and
 * `~user` expanded, relative words joined to each directory the command may
 * run in, and /proc links that lead elsewhere (`/proc/<pid>/root/…`,
 * `/proc/<pid>/cwd/…`, `/proc/<pid>/task/<tid>/…`) also read as where they lead.
 *
 * A relative path whose base is unknown stays relative ("could be anywhere"):
 * `./.ssh/id_rsa` reads `.ssh/id_rsa`, which `**\/.ssh/**` matches and an
 * absolute pattern does not; `../../etc/shadow` also reads `/etc/shadow`
 * (climbing may reach the root). `.` stands for the unknown directory itself.
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

/**
 * One way of reading a path, segment by segment. `absolute: false` is a path
 * below an unknown directory; `climbed` says a `..` went above that directory,
 * so the path may also have reached `/`.
 */
interface Reading {
  absolute: boolean;
  stack: string[];
  climbed: boolean;
}

const MAX_READINGS = 16;

/**
 * Symbolic links the kernel provides, which lexical `..` handling would get
 * wrong: `/dev/fd` is `/proc/self/fd`, `/proc/net` is `/proc/self/net`,
 * `/proc/<pid>/task/<tid>` is `/proc/<tid>`, `/proc/<pid>/root` is `/`,
 * `/proc/<pid>/cwd` and `/proc/<pid>/fd/<n>` are somewhere we cannot know (a cwd may be `/`).
 */
function linkTargets(r: Reading): Reading[] {
  if (!r.absolute) return [];
  const s = r.stack;
  if (s.length === 2 && s[0] === 'dev' && s[1] === 'fd') return [{ ...r, stack: ['proc', 'self', 'fd'] }];
  if (s.length === 2 && s[0] === 'proc' && s[1] === 'net') return [{ ...r, stack: ['proc', 'self', 'net'] }];
  if (s[0] !== 'proc' || s.length < 3) return [];
  if (s.length === 4 && s[2] === 'task') return [{ ...r, stack: ['proc', s[3]!] }];
  if (s.length === 3 && s[2] === 'root') return [{ absolute: true, stack: [], climbed: false }];
  // A process's working directory may be `/` itself (pid 1's is).
  if (s.length === 3 && s[2] === 'cwd') return [{ absolute: false, stack: [], climbed: false }, { absolute: true, stack: [], climbed: false }];
  if (s.length === 4 && (s[2] === 'fd' || s[2] === 'map_files')) return [{ absolute: false, stack: [], climbed: false }];
  return [];
}

/** Every normalised path `path` may name, starting from `base` (absolute, or ANYWHERE-relative). */
function resolveAll(base: string, path: string): string[] {
  const start: Reading = path.startsWith('/') || base.startsWith('/') ? { absolute: true, stack: [], climbed: false } : { absolute: false, stack: [], climbed: false };
  let readings: Reading[] = [start];
  const segments = path.startsWith('/') || base === ANYWHERE ? path.split('/') : [...base.split('/'), ...path.split('/')];
  for (const seg of segments) {
    if (seg === '' || seg === '.') continue;
    const next: Reading[] = [];
    for (const r of readings) {
      if (seg === '..') {
        if (r.stack.length > 0) next.push({ ...r, stack: r.stack.slice(0, -1) });
        else next.push(r.absolute ? r : { ...r, climbed: true });
        continue;
      }
      const moved = { ...r, stack: [...r.stack, seg] };
      next.push(moved);
      next.push(...linkTargets(moved));
    }
    readings = next.slice(0, MAX_READINGS);
  }
  const out = new Set<string>();
  for (const r of readings) {
    const joined = r.stack.join('/');
    if (r.absolute) out.add(`/${joined}`);
    else {
      out.add(joined === '' ? ANYWHERE : joined);
      // Climbing above an unknown directory may have reached the root.
      if (r.climbed) out.add(`/${joined}`);
    }
  }
  return [...out];
}

/** Lexical normalisation, the first reading (tests and callers that want one spelling). */
export function normalisePath(path: string): string {
  return resolveAll(ANYWHERE, path)[0]!;
}

/** `base` joined with `rel`, every reading. */
export function joinPath(base: string, rel: string): string[] {
  return resolveAll(base, rel);
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
  const add = (paths: string[]): void => {
    for (const p of paths) out.add(p);
  };
  if (word.startsWith('/')) add(resolveAll('/', word));
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
