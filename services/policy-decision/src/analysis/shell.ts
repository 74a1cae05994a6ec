/**
 * Shell command analysis: every simple command a command line would run,
 * found by walking mvdan/sh's syntax tree (never by matching text).
 *
 * Node and field names are mvdan.cc/sh/v3/syntax's (nodes.go). The walk is
 * generic — it descends into every field of every node — and acts on the few
 * node types that matter (Stmt, CallExpr, DeclClause, TimeClause, BinaryCmd
 * pipes, CmdSubst/ProcSubst), so a command nested anywhere (if/while/for/case
 * bodies, functions, `$(…)`, backticks, `<(…)`, `${x:-$(…)}`, `[[ … ]]`,
 * `(( … ))`, array subscripts, here-documents) is still found. Command strings
 * handed to another interpreter (`sh -c`, `su -c`, `eval`, `trap`, `env -S`,
 * a here-document fed to a shell) are parsed again, to a fixed depth.
 * Anything we cannot see through fails closed: unparseable, or `dynamic`.
 */
import { posix } from 'node:path';
import type { ShellAnalysis, SimpleCommandAnalysis, Unparseable } from './types.ts';
import { loadShellParser, sourceOf, type ShellParser, type ShellSyntaxTree, type SyntaxNode } from './shell-syntax-tree.ts';
import { partsOf, resolveWord, unescapeHeredoc, type ResolvedWord } from './shell-words.ts';
import { unwrap } from './shell-wrappers.ts';
import { TooManyDirectories, withFacts, type ShellLocation } from './shell-facts.ts';
import { LruCache } from '../lru-cache.ts';

export type { ShellLocation };

/** How many command strings may be nested (`sh -c "bash -c '…'"` is 2) before we give up. */
export const MAX_NESTING = 8;
/** How many wrappers one command may sit under (`sudo env nice timeout …`). */
const MAX_WRAPPERS = 32;
/** Bounds on the work one command line can cause (parsing costs ~10 ms per KiB). */
const MAX_COMMANDS = 10_000;
export const MAX_COMMAND_LINE_BYTES = 64 * 1024;

type Redirect = SimpleCommandAnalysis['redirects'][number];
type WrapperCommand = NonNullable<SimpleCommandAnalysis['wrapperCommands']>[number];

/** Raised inside the walk to fail the whole analysis closed. */
class Unanalysable extends Error {}

/** Where a statement sits: what encloses it at the shell level. */
interface Scope {
  tree: ShellSyntaxTree;
  depth: number;
  wrappers: string[];
  wrapperCommands: WrapperCommand[];
  /** Redirections of enclosing compound commands (`{ …; } > f`). */
  redirects: Redirect[];
  env: string[];
  /** Set for everything under a command string that is itself partly computed. */
  dynamic: boolean;
  /** The statement's standard input is a pipe. */
  stdinPiped: boolean;
}

/** One command being unwrapped: the words left, plus what the wrappers so far contributed. */
interface Invocation {
  argv: ResolvedWord[];
  wrappers: string[];
  wrapperCommands: WrapperCommand[];
  env: string[];
  redirects: Redirect[];
  dynamic: boolean;
  /** Here-documents / here-strings on the statement: what a shell would read as its script. */
  stdinScripts: { script: ResolvedWord }[];
  stdinRedirected: boolean;
}

class Walker {
  readonly commands: SimpleCommandAnalysis[] = [];

  constructor(private readonly parse: ShellParser) {}

  analyseSource(source: string, scope: Omit<Scope, 'tree'>): void {
    if (scope.depth > MAX_NESTING) throw new Unanalysable(`command strings nested deeper than ${MAX_NESTING}`);
    const parsed = this.parse(source);
    if (!parsed.ok) throw new Unanalysable(scope.depth === 0 ? parsed.error : `nested command string: ${parsed.error}`);
    this.visit(parsed.tree.file, { ...scope, tree: parsed.tree });
  }

  private emit(command: SimpleCommandAnalysis): void {
    if (this.commands.length >= MAX_COMMANDS) throw new Unanalysable('too many commands');
    this.commands.push(command);
  }

  // ------------------------------------------------------------ generic walk
  private visit(node: unknown, scope: Scope): void {
    if (Array.isArray(node)) {
      for (const child of node) this.visit(child, scope);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const n = node as SyntaxNode;
    if (isStmt(n)) return this.visitStmt(n, scope);
    switch (n.Type) {
      case 'CallExpr':
        return this.visitCall(n, scope, [], false);
      case 'CmdSubst':
      case 'ProcSubst':
        // Runs in a subshell of the current shell: same wrappers, its own stdio.
        return this.visit(n.Stmts, { ...scope, redirects: [], stdinPiped: false });
      case 'BinaryCmd':
        this.visit(n.X, scope);
        // `a | b`, `a |& b`: b reads a pipe.
        return this.visit(n.Y, n.Op === '|' || n.Op === '|&' ? { ...scope, stdinPiped: true } : scope);
      case 'TimeClause':
        return this.visit(n.Stmt, {
          ...scope,
          wrappers: [...scope.wrappers, 'time'],
          wrapperCommands: [...scope.wrapperCommands, { path: 'time', program: 'time', args: n.PosixFormat === true ? ['-p'] : [] }],
        });
      case 'DeclClause':
        return this.visitDecl(n, scope);
      case 'ForClause': {
        // `for PATH in /tmp/evil; do ls; done` assigns the loop variable like `PATH=…`.
        const loop = isNode(n.Loop) ? n.Loop : undefined;
        const name = loop !== undefined && loop.Type === 'WordIter' && isNode(loop.Name) ? loop.Name.Value : undefined;
        if (typeof name === 'string') this.emitCommand({ ...bare(scope, scope.redirects, false), env: [...scope.env, `${name}=${sourceOf(scope.tree, loop!)}`] });
        for (const [key, child] of Object.entries(n)) {
          if (key !== 'Type' && child !== null && typeof child === 'object') this.visit(child, scope);
        }
        return;
      }
      default:
        for (const [key, child] of Object.entries(n)) {
          if (key !== 'Type' && child !== null && typeof child === 'object') this.visit(child, scope);
        }
    }
  }

  private word(node: SyntaxNode, scope: Scope): ResolvedWord {
    return resolveWord(node, sourceOf(scope.tree, node));
  }

  // ------------------------------------------------------------ statements
  private visitStmt(stmt: SyntaxNode, scope: Scope): void {
    const own: Redirect[] = [];
    const stdinScripts: { script: ResolvedWord }[] = [];
    let stdinRedirected = false;
    let dynamicTarget = false;
    for (const r of asNodes(stmt.Redirs)) {
      const op = typeof r.Op === 'string' ? r.Op : '?';
      const target = isNode(r.Word) ? this.word(r.Word, scope) : { literal: true, text: '' };
      this.visit(r.Word, scope); // `> $(cmd)` runs cmd
      if (!target.literal) dynamicTarget = true;
      const fd = isNode(r.N) && typeof r.N.Value === 'string' ? r.N.Value : undefined;
      own.push(fd === undefined ? { op, target: target.text } : { op, target: target.text, fd });
      if (op === '<<' || op === '<<-') {
        stdinRedirected = true;
        if (isNode(r.Hdoc)) {
          this.visit(r.Hdoc, scope); // an unquoted here-document expands `$(…)`
          const body = heredocBody(r.Word, r.Hdoc, scope);
          stdinScripts.push({ script: body });
          own[own.length - 1]!.text = body.text;
        }
      } else if (op === '<<<') {
        stdinRedirected = true;
        stdinScripts.push({ script: target });
      } else if (op === '<' || op === '<>' || op === '<&') {
        if (fd === undefined || fd === '0') stdinRedirected = true;
      }
    }
    const redirects = [...scope.redirects, ...own];
    const cmd = stmt.Cmd;
    if (isNode(cmd) && cmd.Type === 'CallExpr') {
      this.visitCall(cmd, { ...scope, redirects, dynamic: scope.dynamic || dynamicTarget }, stdinScripts, stdinRedirected);
      return;
    }
    // A statement of redirections only (`> /dev/sda`), or a compound command's
    // own redirections (`(( 1 )) > /etc/x`, `{ …; } < f`), open and truncate files
    // whether or not a simple command inside runs.
    if (own.length > 0) this.emitCommand(bare(scope, redirects, dynamicTarget));
    if (cmd === undefined || cmd === null) return;
    this.visit(cmd, { ...scope, redirects, dynamic: scope.dynamic || dynamicTarget });
  }

  private visitDecl(decl: SyntaxNode, scope: Scope): void {
    // declare/export/local/readonly/typeset/nameref: a builtin whose arguments are assignments.
    this.visit(decl.Args, scope);
    const variant = isNode(decl.Variant) && typeof decl.Variant.Value === 'string' ? decl.Variant.Value : 'declare';
    let dynamic = scope.dynamic;
    // Flags and bare names are arguments; NAME=value words set variables, like prefix assignments.
    const args: string[] = [];
    const env: string[] = [];
    for (const a of asNodes(decl.Args)) {
      if (isNode(a.Name) && (a.Naked !== true || a.Value !== undefined || a.Array !== undefined)) {
        env.push(sourceOf(scope.tree, a));
        continue;
      }
      const word = isNode(a.Value) ? this.word(a.Value, scope) : { literal: true, text: isNode(a.Name) ? String(a.Name.Value) : sourceOf(scope.tree, a) };
      if (!word.literal) dynamic = true;
      // `declare -n ref=PATH`: later assignments to ref set PATH; we cannot follow that.
      if (word.literal && /^[-+][A-Za-z]*n/.test(word.text)) dynamic = true;
      args.push(word.text);
    }
    this.emitCommand({
      ...bare(scope, scope.redirects, dynamic),
      path: variant,
      program: variant,
      args,
      ...(scope.env.length + env.length > 0 ? { env: [...scope.env, ...env] } : {}),
    });
  }

  // ------------------------------------------------------------ simple commands
  private visitCall(call: SyntaxNode, scope: Scope, stdinScripts: { script: ResolvedWord }[], stdinRedirected: boolean): void {
    this.visit(call.Assigns, scope); // `X=$(cmd) …`
    this.visit(call.Args, scope); // substitutions anywhere in any word
    const env = asNodes(call.Assigns).map((a) => sourceOf(scope.tree, a));
    const argv = asNodes(call.Args).map((w) => this.word(w, scope));
    if (argv.length === 0) {
      // Assignments only (`PATH=/tmp/evil; ls`): they change what later commands run, so they are judged too.
      if (scope.redirects.length > 0 || env.length > 0) {
        const all = [...scope.env, ...env];
        this.emitCommand({ ...bare(scope, scope.redirects, false), ...(all.length > 0 ? { env: all } : {}) });
      }
      return;
    }
    this.run(
      {
        argv,
        wrappers: scope.wrappers,
        wrapperCommands: scope.wrapperCommands,
        env: [...scope.env, ...env],
        redirects: scope.redirects,
        dynamic: scope.dynamic,
        stdinScripts,
        stdinRedirected: stdinRedirected || scope.stdinPiped,
      },
      scope,
    );
  }

  /** Follows wrappers down to the command that really runs, and records it. */
  private run(inv: Invocation, scope: Scope): void {
    if (inv.wrappers.length > MAX_WRAPPERS) throw new Unanalysable(`more than ${MAX_WRAPPERS} wrapper commands`);
    const [head, ...rest] = inv.argv;
    if (head === undefined) return;
    const args = rest.map((a) => a.text);
    const argsDynamic = rest.some((a) => !a.literal);
    const record = (path: string, program: string, dynamic: boolean): void =>
      this.emitCommand({
        path,
        program,
        args,
        wrappers: inv.wrappers,
        redirects: inv.redirects,
        dynamic: inv.dynamic || dynamic || argsDynamic,
        ...(inv.env.length > 0 ? { env: inv.env } : {}),
        ...(inv.wrapperCommands.length > 0 ? { wrapperCommands: inv.wrapperCommands } : {}),
      });
    if (!head.literal) {
      // `$CMD`, `$(echo rm)`, `${X:-rm}`, `/bin/r?`: the program is only known at run time.
      record(head.text, head.text, true);
      return;
    }
    const path = head.text;
    const program = posix.basename(path);
    const unwrapped = unwrap(program, rest);
    if (unwrapped === undefined) {
      record(path, program, false);
      return;
    }
    const self: WrapperCommand = { path, program, args };
    const under = (label: string): Pick<Invocation, 'wrappers' | 'wrapperCommands'> => ({
      wrappers: [...inv.wrappers, label],
      wrapperCommands: [...inv.wrapperCommands, self],
    });
    switch (unwrapped.kind) {
      case 'self':
        record(path, program, unwrapped.dynamic);
        return;
      case 'command':
        this.run(
          {
            ...inv,
            ...under(unwrapped.label),
            argv: rest.slice(unwrapped.at),
            env: [...inv.env, ...unwrapped.env],
            // xargs appends arguments read from its input at run time.
            dynamic: inv.dynamic || unwrapped.argsFromInput === true,
            stdinScripts: unwrapped.argsFromInput === true ? [] : inv.stdinScripts,
          },
          scope,
        );
        return;
      case 'find':
        record(path, program, false);
        for (const exec of unwrapped.execs) {
          const sub = rest.slice(exec.at, exec.end);
          // `{}` is replaced by each file name find visits.
          const placeholder = sub.some((w) => w.text.includes('{}'));
          this.run({ ...inv, ...under(exec.label), argv: sub, dynamic: inv.dynamic || placeholder, stdinScripts: [], stdinRedirected: false }, scope);
        }
        return;
      case 'script': {
        const extra = unwrapped.appendArgs ?? [];
        if (!unwrapped.script.literal || extra.some((a) => !a.literal)) {
          record(path, program, true);
          return;
        }
        const text = extra.length > 0 ? [unwrapped.script.text, ...extra.map((a) => quote(a.text))].join(' ') : unwrapped.script.text;
        this.nested(text, inv, under(unwrapped.label), scope, false);
        return;
      }
      case 'stdin-script': {
        if (inv.stdinScripts.length > 0) {
          for (const { script } of inv.stdinScripts) this.nested(script.text, inv, under(unwrapped.label), scope, !script.literal);
          return;
        }
        // Commands from a pipe or a file (`curl … | sh`, `bash < x.sh`) are unknown;
        // an interactive shell's own input lines are analysed as they arrive.
        record(path, program, inv.stdinRedirected);
        return;
      }
      default: {
        const never: never = unwrapped;
        throw new Unanalysable(`unhandled wrapper ${JSON.stringify(never)}`);
      }
    }
  }

  private nested(source: string, inv: Invocation, wrapping: Pick<Invocation, 'wrappers' | 'wrapperCommands'>, scope: Scope, dynamic: boolean): void {
    this.analyseSource(source, {
      depth: scope.depth + 1,
      wrappers: wrapping.wrappers,
      wrapperCommands: wrapping.wrapperCommands,
      redirects: inv.redirects,
      env: inv.env,
      dynamic: inv.dynamic || dynamic,
      stdinPiped: false,
    });
  }

  private emitCommand(c: SimpleCommandAnalysis): void {
    this.emit(c);
  }
}

/** A here-document's body as the receiving program reads it. */
function heredocBody(delimiter: unknown, hdoc: SyntaxNode, scope: Scope): ResolvedWord {
  const parts = partsOf(hdoc);
  // A quoted delimiter (<<'EOF', <<"EOF", <<\EOF) makes the body literal: no expansion, no escapes (Bash 3.6.6).
  const quoted = isNode(delimiter) && partsOf(delimiter).some((p) => p.Type !== 'Lit' || String(p.Value).includes('\\'));
  if (parts.every((p) => p.Type === 'Lit')) {
    const raw = parts.map((p) => String(p.Value ?? '')).join('');
    return { literal: true, text: quoted ? raw : unescapeHeredoc(raw) };
  }
  // Expansions in the body: analyse the text as written, flagged dynamic.
  return { literal: false, text: parts.map((p) => (p.Type === 'Lit' ? String(p.Value ?? '') : sourceOf(scope.tree, p))).join('') };
}

function bare(scope: Scope, redirects: Redirect[], dynamic: boolean): SimpleCommandAnalysis {
  return {
    path: '',
    program: '',
    args: [],
    wrappers: scope.wrappers,
    redirects,
    dynamic: scope.dynamic || dynamic,
    ...(scope.env.length > 0 ? { env: scope.env } : {}),
    ...(scope.wrapperCommands.length > 0 ? { wrapperCommands: scope.wrapperCommands } : {}),
  };
}

/** Single-quotes a word for re-parsing (env -S operands). */
function quote(s: string): string {
  return `'${s.split("'").join(`'\\''`)}'`;
}

/** Stmt is never stored in an interface field, so it carries no Type; only it has Cmd/Redirs. */
function isStmt(n: SyntaxNode): boolean {
  return n.Type === undefined && ('Cmd' in n || 'Redirs' in n);
}

function isNode(v: unknown): v is SyntaxNode {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function asNodes(v: unknown): SyntaxNode[] {
  return Array.isArray(v) ? v.filter(isNode) : [];
}


/**
 * Every simple command `commandLine` would run, outermost wrappers first.
 * Unparseable input, or input we cannot see through, is `{ ok: false }`.
 */
export async function analyzeShell(commandLine: string, location: ShellLocation = {}): Promise<ShellAnalysis | Unparseable> {
  const key = commandLine.length <= MAX_CACHED_LINE ? `${location.user ?? ''}\u0000${location.cwd ?? ''}\u0000${commandLine}` : undefined;
  const cached = key === undefined ? undefined : analysisCache.get(key);
  if (cached) return cached;
  const analysis = await analyzeUncached(commandLine, location);
  // Only analyses: an unparseable answer may be the parser failing to load, which is not a property of the text.
  if (key !== undefined && analysis.ok) analysisCache.set(key, deepFreeze(analysis));
  return analysis;
}

/**
 * Analyses by (login user, working directory, command line), least recently
 * used first out. Automation repeats its command lines (`ssh host true`, a
 * deploy script's steps) and a parse through the WASM shell parser plus the
 * walk costs about a millisecond, on the path of every exec; the SSH proxy's
 * own look for scp asks for the same line the gate just judged. An analysis
 * is a pure function of those three, and cached ones are frozen, since
 * every caller shares them. Size 0 turns the cache off.
 */
const analysisCache = new LruCache<string, ShellAnalysis>(1000);
const MAX_CACHED_LINE = 4096;

export function configureShellAnalysisCache(entries: number): void {
  analysisCache.resize(entries);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

async function analyzeUncached(commandLine: string, location: ShellLocation): Promise<ShellAnalysis | Unparseable> {
  if (Buffer.byteLength(commandLine, 'utf8') > MAX_COMMAND_LINE_BYTES) {
    return { ok: false, error: `unparseable: command line longer than ${MAX_COMMAND_LINE_BYTES} bytes` };
  }
  let parse: ShellParser;
  try {
    parse = await loadShellParser();
  } catch (err) {
    return { ok: false, error: `unparseable: shell parser unavailable (${(err as Error).message})` };
  }
  const walker = new Walker(parse);
  try {
    walker.analyseSource(commandLine, { depth: 0, wrappers: [], wrapperCommands: [], redirects: [], env: [], dynamic: false, stdinPiped: false });
    return { ok: true, kind: 'shell', commands: withFacts(walker.commands, location) };
  } catch (err) {
    if (err instanceof Unanalysable || err instanceof TooManyDirectories || err instanceof RangeError) return { ok: false, error: `unparseable: ${err.message}` };
    throw err;
  }
}

