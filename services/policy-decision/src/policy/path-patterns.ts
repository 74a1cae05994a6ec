/**
 * Path globs that can also answer "could this pattern match something inside
 * that directory?", for recursive readers (`grep -r x /root` reads what
 * `/root/.ssh/**` protects). Matching is segment by segment with picomatch
 * (dot files included); `**` spans any number of segments.
 */
import picomatch from 'picomatch';
import { ANYWHERE } from '../analysis/shell-paths.ts';

export type Glob = (value: string) => boolean;

export interface PathGlobs {
  /** Any pattern matches the path. */
  (path: string): boolean;
  /**
   * Any pattern could match a path inside `dir` (or `dir` itself). A pattern
   * that starts with `**` counts only when `dir` lies within what follows it
   * (`grep -r x ~/.ssh` against `**\/.ssh/**`); otherwise every directory
   * would contain it. The unknown working directory could contain anything.
   */
  couldContain(dir: string): boolean;
}

const MAX_ALTERNATIVES = 256;

/** `{a,b}` alternatives expanded (nested too), so every alternative can be split into segments. */
export function expandBraces(pattern: string): string[] {
  let depth = 0;
  let open = -1;
  const commas: number[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\') {
      i++;
      continue;
    }
    if (ch === '{') {
      if (depth === 0) open = i;
      depth++;
    } else if (ch === '}' && depth > 0) {
      depth--;
      if (depth === 0) {
        if (commas.length === 0) {
          open = -1;
          continue;
        }
        const head = pattern.slice(0, open);
        const tail = pattern.slice(i + 1);
        const bounds = [open, ...commas, i];
        const out: string[] = [];
        for (let k = 0; k + 1 < bounds.length; k++) {
          for (const e of expandBraces(head + pattern.slice(bounds[k]! + 1, bounds[k + 1]) + tail)) {
            if (out.length < MAX_ALTERNATIVES) out.push(e);
          }
        }
        return out;
      }
    } else if (ch === ',' && depth === 1) commas.push(i);
  }
  return [pattern];
}

type Segment = '**' | Glob;

function segmentsOf(pattern: string): Segment[] {
  return pattern.split('/').map((s): Segment => {
    if (s === '**') return '**';
    if (s === '') return (v) => v === '';
    const m = picomatch(s, { dot: true });
    return (v) => v !== '' && m(v);
  });
}

/** p could match d followed by anything (d itself included). */
function inside(p: readonly Segment[], d: readonly string[]): boolean {
  const memo = new Map<number, boolean>();
  const f = (i: number, j: number): boolean => {
    if (j === d.length) return true;
    if (i === p.length) return false;
    const key = i * (d.length + 1) + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    const s = p[i]!;
    const r = s === '**' ? f(i + 1, j) || f(i, j + 1) : s(d[j]!) && f(i + 1, j + 1);
    memo.set(key, r);
    return r;
  };
  return f(0, 0);
}

export function pathGlobs(patterns: readonly string[]): PathGlobs {
  const whole = patterns.map((p) => picomatch(p, { dot: true }));
  const split = patterns.flatMap(expandBraces).map((p) => {
    const segs = segmentsOf(p);
    return { absolute: p.startsWith('/'), anywhere: segs[0] === '**', rest: segs.slice(1), segs };
  });
  const test = ((path: string) => whole.some((m) => m(path))) as PathGlobs;
  test.couldContain = (dir: string): boolean => {
    if (dir === ANYWHERE) return true;
    const d = dir === '/' ? [''] : dir.split('/');
    const absolute = dir.startsWith('/');
    return split.some((p) => {
      if (p.anywhere) {
        if (p.rest.length === 0) return true;
        for (let k = absolute ? 1 : 0; k < d.length; k++) if (inside(p.rest, d.slice(k))) return true;
        return false;
      }
      return p.absolute === absolute && inside(p.segs, d);
    });
  };
  return test;
}
