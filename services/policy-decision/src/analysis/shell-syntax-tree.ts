/**
 * Loads mvdan/sh's bash parser (compiled to WebAssembly in ./shell-syntax/,
 * see main.go there for why not the sh-syntax npm tree) once per process and
 * parses shell source into its typed syntax tree.
 *
 * Node shapes follow mvdan.cc/sh/v3/syntax (nodes.go); `Type` is present on
 * every node stored in an interface-typed field (Command, WordPart, ArithmExpr,
 * TestExpr, Loop), like mvdan's typedjson. Every node has `Pos`/`End` byte
 * offsets into the source, other positions are offsets too, and fields
 * holding Go zero values are omitted (shell-syntax/encode.go).
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';

/** A syntax tree node as typedjson encodes it; walked generically, so kept loose. */
export interface SyntaxNode {
  Type?: string;
  [field: string]: unknown;
}

export interface ShellSyntaxTree {
  file: SyntaxNode;
  /** The parsed source as UTF-8, which node offsets index. */
  source: Buffer;
}

/** A node's source text as written. */
export function sourceOf(tree: ShellSyntaxTree, node: SyntaxNode): string {
  const { Pos: start, End: end } = node;
  if (typeof start !== 'number' || typeof end !== 'number' || start > end || end > tree.source.length) return '<unknown>';
  return tree.source.subarray(start, end).toString('utf8');
}

export type ShellParseResult = { ok: true; tree: ShellSyntaxTree } | { ok: false; error: string };

export type ShellParser = (source: string) => ShellParseResult;

// The compiler's lib (ES2023, no DOM) has no WebAssembly types; these are the parts used.
interface WasmInstance {
  exports: unknown;
}
interface WasmApi {
  instantiate(bytes: Uint8Array, imports: unknown): Promise<{ instance: WasmInstance }>;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface GoRuntime {
  importObject: unknown;
  run(instance: WasmInstance): Promise<void>;
}

let loading: Promise<ShellParser> | undefined;

/** Resolves to a synchronous parser; the WASM module is instantiated on the first call only. */
export function loadShellParser(): Promise<ShellParser> {
  loading ??= instantiate().catch((err: unknown) => {
    loading = undefined; // let a later call retry; callers fail closed meanwhile
    throw err;
  });
  return loading;
}

async function instantiate(): Promise<ShellParser> {
  const dir = new URL('./shell-syntax/', import.meta.url);
  const [glue, wasmGz] = await Promise.all([
    readFile(new URL('wasm_exec.js', dir), 'utf8'),
    readFile(new URL('shell-syntax.wasm.gz', dir)),
  ]);
  // Go's wasm_exec.js installs `Go` on globalThis and the program registers its
  // function on js.Global(). Running the glue against a private scope keeps
  // both off the real global object (sh-syntax installs a different `Go`).
  // Node exposes crypto/performance as getters that refuse a foreign `this`,
  // so they are copied in as plain values.
  const scope = Object.create(globalThis, {
    crypto: { value: globalThis.crypto },
    performance: { value: globalThis.performance },
    process: { value: process },
    TextEncoder: { value: TextEncoder },
    TextDecoder: { value: TextDecoder },
  }) as Record<string, unknown>;
  new Function('globalThis', glue)(scope);
  const Go = scope.Go as new () => GoRuntime;
  const go = new Go();
  const { instance } = await wasm.instantiate(gunzipSync(wasmGz), go.importObject);
  void go.run(instance);
  const parseFn = scope.__portcullisParseShell;
  if (typeof parseFn !== 'function') throw new Error('shell parser did not register');
  return (source: string): ShellParseResult => {
    const raw = (parseFn as (s: string) => unknown)(source);
    if (typeof raw !== 'string') return { ok: false, error: 'shell parser returned no result' };
    const out = JSON.parse(raw) as { file?: SyntaxNode; error?: string };
    if (out.error !== undefined || out.file === undefined) return { ok: false, error: out.error ?? 'no syntax tree' };
    return { ok: true, tree: { file: out.file, source: Buffer.from(source, 'utf8') } };
  };
}
