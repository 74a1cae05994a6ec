import { posix } from 'node:path';
import type { FileTransfer } from '@portcullis/schemas';
import { analyzeShell } from '@portcullis/policy-decision';
import { TransferDigest } from './transfer-digest.ts';

/** What an exec channel running scp's remote end (`scp -t` = the caller uploads, `scp -f` = downloads) transfers. */
export interface ScpInvocation {
  operation: 'upload' | 'download';
  /** The command's operands: the destination (-t) or the sources (-f). */
  operands: string[];
}

/** Options of OpenSSH's scp that take a value (getopt string of scp.c). */
const SCP_VALUE_OPTIONS = new Set(['c', 'D', 'F', 'i', 'J', 'l', 'o', 'P', 'S', 'X']);
const CONTROL_LINE_MAX = 4096;
const ERROR_MAX = 500;

/**
 * The exec command line, parsed by the shell parser, is exactly one plain `scp -t …` or
 * `scp -f …` (no wrapper, redirection, pipe or computed word): then its channel carries scp's
 * protocol and is recorded as files. Anything else is recorded as a terminal stream.
 */
export async function scpInvocationOf(commandLine: string): Promise<ScpInvocation | undefined> {
  const analysis = await analyzeShell(commandLine);
  if (!analysis.ok || analysis.commands.length !== 1) return undefined;
  const [c] = analysis.commands;
  if (c!.program !== 'scp' || c!.dynamic || c!.wrappers.length > 0 || c!.redirects.length > 0 || (c!.env?.length ?? 0) > 0) return undefined;
  return scpInvocationOfArgs(c!.args);
}

/** scp's own option parsing (getopt): clusters, values attached or in the next word, `--`. */
export function scpInvocationOfArgs(args: readonly string[]): ScpInvocation | undefined {
  let to = false;
  let from = false;
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    for (let j = 1; j < a.length; j++) {
      const letter = a[j]!;
      if (SCP_VALUE_OPTIONS.has(letter)) {
        if (j === a.length - 1) i++;
        break;
      }
      if (letter === 't') to = true;
      if (letter === 'f') from = true;
    }
  }
  const operands = args.slice(i);
  if (to === from || operands.length === 0) return undefined;
  return { operation: to ? 'upload' : 'download', operands };
}

type State =
  | { kind: 'control'; line: Buffer[]; length: number }
  | { kind: 'data'; file: OpenFile; remaining: number }
  | { kind: 'status'; file: OpenFile }
  | { kind: 'error-line'; text: string }
  | { kind: 'not-scp' };

interface OpenFile {
  name: string;
  size: number;
  digest: TransferDigest;
}

/**
 * Follows scp's protocol (the rcp protocol: control lines `C<mode> <size> <name>`,
 * `D…`/`E` for directories, `T…` times, each file's bytes followed by a status byte;
 * the other side answers each step with 0, or 1/2 and a message) and records each file
 * as a FileTransfer: path, size, SHA-256, whether it all went through. Memory is one
 * control line at most (4 KiB); file bytes are hashed as they pass, never kept.
 */
export class ScpTransferRecorder {
  private state: State = { kind: 'control', line: [], length: 0 };
  private readonly dirs: string[] = [];
  private pending: FileTransfer | undefined;
  private ackError: { text: string } | undefined;
  private closed = false;

  constructor(
    private readonly invocation: ScpInvocation,
    private readonly emit: (transfer: FileTransfer) => void,
  ) {}

  /** Bytes from the side that sends files (the caller for -t, the target for -f). */
  data(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.closed) {
      const s = this.state;
      switch (s.kind) {
        case 'not-scp':
          return;
        case 'data': {
          const n = Math.min(s.remaining, chunk.length - at);
          s.file.digest.update(chunk.subarray(at, at + n));
          s.remaining -= n;
          at += n;
          if (s.remaining === 0) this.state = { kind: 'status', file: s.file };
          break;
        }
        case 'status': {
          const ok = chunk[at++] === 0;
          this.finishFile(s.file, true, ok ? undefined : 'the sender reported an error after the data');
          this.state = { kind: 'control', line: [], length: 0 };
          break;
        }
        case 'error-line': {
          const end = chunk.indexOf(0x0a, at);
          const stop = end < 0 ? chunk.length : end;
          s.text = (s.text + chunk.toString('utf8', at, stop)).slice(0, ERROR_MAX);
          at = end < 0 ? chunk.length : end + 1;
          if (end >= 0) {
            this.settlePending();
            this.emit(this.record(this.invocation.operands[0] ?? '', undefined, 0, undefined, false, s.text.trim()));
            this.state = { kind: 'control', line: [], length: 0 };
          }
          break;
        }
        case 'control': {
          if (s.length === 0 && (chunk[at] === 1 || chunk[at] === 2)) {
            at++;
            this.state = { kind: 'error-line', text: '' };
            break;
          }
          const end = chunk.indexOf(0x0a, at);
          const stop = end < 0 ? chunk.length : end;
          s.line.push(chunk.subarray(at, stop));
          s.length += stop - at;
          at = end < 0 ? chunk.length : end + 1;
          if (s.length > CONTROL_LINE_MAX) return this.notScp('a control line longer than 4 KiB');
          if (end >= 0) this.control(Buffer.concat(s.line).toString('utf8'));
          break;
        }
      }
    }
  }

  /** Bytes from the side that answers (0 = fine, 1/2 + message = error). */
  ack(chunk: Buffer): void {
    for (let at = 0; at < chunk.length; ) {
      if (this.ackError) {
        const end = chunk.indexOf(0x0a, at);
        const stop = end < 0 ? chunk.length : end;
        this.ackError.text = (this.ackError.text + chunk.toString('utf8', at, stop)).slice(0, ERROR_MAX);
        at = end < 0 ? chunk.length : end + 1;
        if (end >= 0) {
          this.failCurrent(this.ackError.text.trim());
          this.ackError = undefined;
        }
        continue;
      }
      const byte = chunk[at++];
      if (byte === 0) this.settlePending();
      else if (byte === 1 || byte === 2) this.ackError = { text: '' };
    }
  }

  /** The channel ended: a file still going through is recorded as incomplete. */
  close(): void {
    if (this.closed) return;
    this.settlePending();
    const s = this.state;
    if (s.kind === 'data' || s.kind === 'status') this.finishFile(s.file, false, 'the channel closed before the file went through');
    this.settlePending();
    this.closed = true;
  }

  private control(line: string): void {
    this.state = { kind: 'control', line: [], length: 0 };
    const type = line[0];
    if (type === 'E') {
      this.dirs.pop();
      return;
    }
    if (type === 'T') return;
    if (type !== 'C' && type !== 'D') return this.notScp(`an unknown control line ${JSON.stringify(line.slice(0, 40))}`);
    // C<mode> <size> <name> / D<mode> 0 <name>
    const firstSpace = line.indexOf(' ');
    const secondSpace = line.indexOf(' ', firstSpace + 1);
    const sizeText = line.slice(firstSpace + 1, secondSpace);
    const name = line.slice(secondSpace + 1);
    if (firstSpace < 0 || secondSpace < 0 || !/^\d{1,19}$/.test(sizeText) || name === '') return this.notScp('a malformed control line');
    this.settlePending();
    if (type === 'D') {
      this.dirs.push(name);
      return;
    }
    const size = Number(sizeText);
    const file = { name: posix.join(...this.dirs, name), size, digest: new TransferDigest() };
    this.state = size === 0 ? { kind: 'status', file } : { kind: 'data', file, remaining: size };
  }

  private finishFile(file: OpenFile, complete: boolean, error: string | undefined): void {
    this.settlePending();
    // Held until the receiver answers: its error (disk full, permission) belongs to this file.
    this.pending = this.record(this.pathOf(file.name), file.name, file.digest.bytes, complete ? file.digest.sha256() : undefined, complete && file.digest.bytes === file.size, error);
  }

  private failCurrent(error: string): void {
    if (this.pending) {
      this.pending = { ...this.pending, complete: false, error };
      return this.settlePending();
    }
    const s = this.state;
    if (s.kind === 'data' || s.kind === 'status') {
      // Refused at its control line: the sender skips the file.
      this.state = { kind: 'control', line: [], length: 0 };
      this.emit(this.record(this.pathOf(s.file.name), s.file.name, s.file.digest.bytes, undefined, false, error));
      return;
    }
    this.emit(this.record(this.invocation.operands[0] ?? '', undefined, 0, undefined, false, error));
  }

  /** One operand: where the file went (-t) or came from (-f); several sources: the stream's name is all we know. */
  private pathOf(name: string): string {
    return this.invocation.operands.length === 1 ? this.invocation.operands[0]! : name;
  }

  private settlePending(): void {
    if (this.pending) this.emit(this.pending);
    this.pending = undefined;
  }

  private notScp(why: string): void {
    this.settlePending();
    this.emit({ ...this.record(this.invocation.operands[0] ?? '', undefined, 0, undefined, false, `not recorded further: the stream is not scp's protocol (${why})`), operation: 'unrecorded' });
    this.state = { kind: 'not-scp' };
  }

  private record(path: string, name: string | undefined, bytes: number, sha256: string | undefined, complete: boolean, error: string | undefined): FileTransfer {
    return {
      protocol: 'scp',
      operation: this.invocation.operation,
      path: path.slice(0, 4096),
      ...(name !== undefined ? { name: name.slice(0, 4096) } : {}),
      bytes,
      ...(sha256 ? { sha256 } : {}),
      complete,
      ...(error ? { error: error.slice(0, ERROR_MAX) } : {}),
    };
  }
}
