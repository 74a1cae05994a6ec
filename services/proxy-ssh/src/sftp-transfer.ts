import type { FileTransfer } from '@portcullis/schemas';
import { TransferDigest } from './transfer-digest.ts';

/** SFTP v3 packet types (draft-ietf-secsh-filexfer-02 §3). */
const T = {
  OPEN: 3, CLOSE: 4, READ: 5, WRITE: 6, SETSTAT: 9, REMOVE: 13, MKDIR: 14, RMDIR: 15, RENAME: 18, SYMLINK: 20, EXTENDED: 200,
  STATUS: 101, HANDLE: 102, DATA: 103,
} as const;
const FXF_WRITE = 0x02;
const STATUS_OK = 0;
const STATUS_EOF = 1;
/** Longest request prefix kept to read paths and handles (PATH_MAX is 4 KiB); the rest of a packet passes unkept. */
const HEAD_MAX = 16 * 1024;
/** Larger than any SFTP implementation sends (OpenSSH: 256 KiB); a longer length means the stream is not SFTP. */
const PACKET_MAX = 16 * 1024 * 1024;
/** Bounds on what is followed at once (OpenSSH's client keeps at most 64 requests in flight). */
const MAX_REQUESTS = 65_536;
const MAX_HANDLES = 4_096;

type Operation = FileTransfer['operation'];
interface OpenHandle {
  path: string;
  writes: boolean;
  read: TransferDigest;
  written: TransferDigest;
}
type Request =
  | { kind: 'open'; path: string; writes: boolean }
  | { kind: 'read'; handle: string; offset: number }
  | { kind: 'change'; operation: Operation; path: string; toPath?: string };

/** One direction's packet framing: length, a kept prefix, the payload of READ/WRITE data streamed through. */
class PacketReader {
  private lengthBytes = Buffer.alloc(4);
  private lengthHave = 0;
  private remaining = -1;
  private head = Buffer.alloc(HEAD_MAX);
  private headHave = 0;
  private headWant = 0;
  private streaming = 0;
  private stopped = false;

  constructor(
    /** How many prefix bytes a packet needs before `onHead`, given what is known so far (0 = done, keep no more). */
    private readonly want: (head: Buffer, have: number, packetLength: number) => number,
    /** The kept prefix; returns how many of the following bytes are data to stream to `onData`. */
    private readonly onHead: (head: Buffer, packetLength: number) => number,
    private readonly onData: (chunk: Buffer) => void,
    private readonly onBroken: (why: string) => void,
  ) {}

  feed(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.stopped) {
      if (this.remaining < 0) {
        const n = Math.min(4 - this.lengthHave, chunk.length - at);
        chunk.copy(this.lengthBytes, this.lengthHave, at, at + n);
        this.lengthHave += n;
        at += n;
        if (this.lengthHave < 4) return;
        this.lengthHave = 0;
        const length = this.lengthBytes.readUInt32BE(0);
        if (length === 0 || length > PACKET_MAX) {
          this.stopped = true;
          return this.onBroken(`a packet length of ${length}`);
        }
        this.remaining = length;
        this.packetLength = length;
        this.headHave = 0;
        this.streaming = 0;
        this.headWant = Math.min(length, 1);
        continue;
      }
      if (this.headWant > this.headHave) {
        const n = Math.min(this.headWant - this.headHave, chunk.length - at);
        chunk.copy(this.head, this.headHave, at, at + n);
        this.headHave += n;
        this.remaining -= n;
        at += n;
        if (this.headHave < this.headWant) return;
        const more = Math.min(this.want(this.head, this.headHave, this.packetLength), this.packetLength, HEAD_MAX);
        if (more > this.headHave) {
          this.headWant = more;
          continue;
        }
        this.headWant = 0;
        this.streaming = Math.min(this.onHead(this.head.subarray(0, this.headHave), this.packetLength), this.remaining);
      } else if (this.streaming > 0) {
        const n = Math.min(this.streaming, chunk.length - at);
        this.onData(chunk.subarray(at, at + n));
        this.streaming -= n;
        this.remaining -= n;
        at += n;
      } else {
        const n = Math.min(this.remaining, chunk.length - at);
        this.remaining -= n;
        at += n;
      }
      if (this.remaining === 0) this.remaining = -1;
    }
  }

  private packetLength = 0;
}

/** Reads SFTP's wire types: uint32, uint64 and string fields from a kept prefix. */
class Fields {
  at = 0;
  constructor(private readonly b: Buffer) {}
  byte(): number {
    return this.b[this.at++]!;
  }
  u32(): number {
    const v = this.b.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }
  u64(): number {
    const v = Number(this.b.readBigUInt64BE(this.at));
    this.at += 8;
    return v;
  }
  bytes(): Buffer {
    const n = this.u32();
    if (this.at + n > this.b.length) throw new RangeError('field past the kept prefix');
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  text(): string {
    return this.bytes().toString('utf8');
  }
}

/** Requests kept whole (up to HEAD_MAX) to be recorded; the others (stat, realpath, readdir …) change nothing. */
const FOLLOWED_REQUESTS = new Set<number>([T.OPEN, T.CLOSE, T.READ, T.SETSTAT, T.REMOVE, T.MKDIR, T.RMDIR, T.RENAME, T.SYMLINK, T.EXTENDED]);

/** Prefix lengths: type(1) id(4), then the fields a request or reply needs to be recorded. */
function requestWant(head: Buffer, have: number, packetLength: number): number {
  if (head[0] === T.WRITE) {
    // type id handle-length … handle offset(8) data-length(4)
    if (have < 9) return 9;
    return 9 + head.readUInt32BE(5) + 12;
  }
  return FOLLOWED_REQUESTS.has(head[0]!) ? packetLength : 0;
}

function replyWant(head: Buffer, have: number, packetLength: number): number {
  if (head[0] === T.DATA) return 9; // type id data-length
  return head[0] === T.STATUS || head[0] === T.HANDLE ? packetLength : 0;
}

/**
 * Follows an SFTP session (requests from the caller, replies from the target) and records what it
 * did to files: each file opened is one upload (written) and/or download (read) with its path,
 * bytes and, when the data went in order from offset 0, a SHA-256; removals, renames, directories,
 * symlinks and attribute changes with their paths and outcome. Data bytes are hashed as they pass,
 * never kept; what is followed at once is bounded.
 */
export class SftpTransferRecorder {
  private readonly requests = new Map<number, Request>();
  private readonly handles = new Map<string, OpenHandle>();
  private readonly caller: PacketReader;
  private readonly target: PacketReader;
  private writing: { handle: OpenHandle; offset: number } | undefined;
  private reading: { handle: OpenHandle; offset: number } | undefined;
  private broken = false;
  private closed = false;

  constructor(private readonly emit: (transfer: FileTransfer) => void) {
    this.caller = new PacketReader(requestWant, (h, n) => this.request(h, n), (d) => this.write(d), (why) => this.stop(why));
    this.target = new PacketReader(replyWant, (h) => this.reply(h), (d) => this.read(d), (why) => this.stop(why));
  }

  /** Caller → target bytes. */
  fromCaller(chunk: Buffer): void {
    if (!this.broken) this.caller.feed(chunk);
  }

  /** Target → caller bytes. */
  fromTarget(chunk: Buffer): void {
    if (!this.broken) this.target.feed(chunk);
  }

  /** The channel ended: files still open are recorded as they stand. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const handle of this.handles.values()) this.finish(handle, 'the session ended with the file still open');
    this.handles.clear();
    this.requests.clear();
  }

  private request(head: Buffer, packetLength: number): number {
    const f = new Fields(head);
    const type = f.byte();
    try {
      if (type === T.WRITE) {
        f.u32();
        const handle = this.handles.get(f.bytes().toString('latin1'));
        const offset = f.u64();
        const length = f.u32();
        this.writing = handle ? { handle, offset } : undefined;
        return length;
      }
      if (!FOLLOWED_REQUESTS.has(type)) return 0;
      if (head.length < packetLength) return this.unrecorded(type, 'a request too long to follow');
      const id = f.u32();
      switch (type) {
        case T.OPEN: {
          const path = f.text();
          const flags = f.u32();
          return this.track(id, { kind: 'open', path, writes: (flags & FXF_WRITE) !== 0 });
        }
        case T.READ: {
          const handle = f.bytes().toString('latin1');
          return this.track(id, { kind: 'read', handle, offset: f.u64() });
        }
        case T.CLOSE: {
          const key = f.bytes().toString('latin1');
          const handle = this.handles.get(key);
          if (handle) {
            this.handles.delete(key);
            this.finish(handle);
          }
          return 0;
        }
        case T.REMOVE:
          return this.track(id, { kind: 'change', operation: 'remove', path: f.text() });
        case T.MKDIR:
          return this.track(id, { kind: 'change', operation: 'mkdir', path: f.text() });
        case T.RMDIR:
          return this.track(id, { kind: 'change', operation: 'rmdir', path: f.text() });
        case T.SETSTAT:
          return this.track(id, { kind: 'change', operation: 'setstat', path: f.text() });
        case T.RENAME:
          return this.track(id, { kind: 'change', operation: 'rename', path: f.text(), toPath: f.text() });
        case T.SYMLINK: {
          // OpenSSH's sftp-server takes (target, link) in the reverse order of the draft; record both as sent.
          const first = f.text();
          return this.track(id, { kind: 'change', operation: 'symlink', path: first, toPath: f.text() });
        }
        case T.EXTENDED: {
          const name = f.text();
          if (name === 'posix-rename@openssh.com') return this.track(id, { kind: 'change', operation: 'rename', path: f.text(), toPath: f.text() });
          if (name === 'hardlink@openssh.com') return this.track(id, { kind: 'change', operation: 'hardlink', path: f.text(), toPath: f.text() });
          if (name === 'lsetstat@openssh.com') return this.track(id, { kind: 'change', operation: 'setstat', path: f.text() });
          return 0;
        }
      }
    } catch {
      return this.unrecorded(type, 'a malformed request');
    }
    return 0;
  }

  private reply(head: Buffer): number {
    const f = new Fields(head);
    const type = f.byte();
    try {
      const id = f.u32();
      const request = this.requests.get(id);
      this.requests.delete(id);
      if (type === T.DATA) {
        const length = f.u32();
        const handle = request?.kind === 'read' ? this.handles.get(request.handle) : undefined;
        this.reading = handle && request?.kind === 'read' ? { handle, offset: request.offset } : undefined;
        return length;
      }
      if (!request) return 0;
      if (type === T.HANDLE && request.kind === 'open') {
        if (this.handles.size >= MAX_HANDLES) this.stop(`more than ${MAX_HANDLES} files open at once`);
        else this.handles.set(f.bytes().toString('latin1'), { path: request.path, writes: request.writes, read: new TransferDigest(), written: new TransferDigest() });
      } else if (type === T.STATUS) {
        const code = f.u32();
        const message = f.text();
        const error = code === STATUS_OK || code === STATUS_EOF ? undefined : `${message || 'failed'} (SFTP status ${code})`;
        if (request.kind === 'change') this.emit(this.record(request.operation, request.path, request.toPath, undefined, error ?? undefined));
        else if (request.kind === 'open' && error) this.emit(this.record(request.writes ? 'upload' : 'download', request.path, undefined, undefined, error));
      }
    } catch {
      return 0;
    }
    return 0;
  }

  private write(chunk: Buffer): void {
    if (!this.writing) return;
    this.writing.handle.written.update(chunk, this.writing.offset);
    this.writing.offset += chunk.length;
  }

  private read(chunk: Buffer): void {
    if (!this.reading) return;
    this.reading.handle.read.update(chunk, this.reading.offset);
    this.reading.offset += chunk.length;
  }

  private track(id: number, request: Request): number {
    if (this.requests.size >= MAX_REQUESTS) this.stop(`more than ${MAX_REQUESTS} requests in flight`);
    else this.requests.set(id, request);
    return 0;
  }

  private finish(handle: OpenHandle, error?: string): void {
    if (handle.writes || handle.written.bytes > 0) this.emit(this.record('upload', handle.path, undefined, handle.written, error));
    if (!handle.writes || handle.read.bytes > 0) this.emit(this.record('download', handle.path, undefined, handle.read, error));
  }

  private unrecorded(type: number, why: string): number {
    this.emit(this.record('unrecorded', '', undefined, undefined, `SFTP request type ${type} not recorded: ${why}`));
    return 0;
  }

  private stop(why: string): void {
    if (this.broken) return;
    this.broken = true;
    this.emit(this.record('unrecorded', '', undefined, undefined, `not recorded further: ${why}`));
  }

  private record(operation: Operation, path: string, toPath: string | undefined, digest: TransferDigest | undefined, error: string | undefined): FileTransfer {
    const sha256 = digest?.sha256();
    return {
      protocol: 'sftp',
      operation,
      path: path.slice(0, 4096),
      ...(toPath !== undefined ? { toPath: toPath.slice(0, 4096) } : {}),
      bytes: digest?.bytes ?? 0,
      ...(sha256 ? { sha256 } : {}),
      complete: error === undefined,
      ...(error ? { error: error.slice(0, 500) } : {}),
    };
  }
}
