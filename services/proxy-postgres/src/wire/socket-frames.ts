import type { Socket } from 'node:net';
import { MessageFramer, type Frame } from './framing.ts';

/**
 * Reads whole messages from a socket one at a time (handshake phases). The
 * relay later takes over the socket and the framer with whatever is buffered.
 */
export class SocketFrames {
  private waiter: { resolve: (f: Frame) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;
  private readonly onData = (chunk: Buffer): void => {
    this.framer.push(chunk);
    this.pump();
  };
  private readonly onEnd = (): void => this.fail(new Error('connection closed by peer'));
  private readonly onError = (err: Error): void => this.fail(new Error(`connection error: ${err.message}`));

  constructor(
    readonly socket: Socket,
    readonly framer: MessageFramer,
  ) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
    socket.resume();
  }

  next(timeoutMs?: number): Promise<Frame> {
    if (this.waiter) throw new Error('SocketFrames.next called while a read is pending');
    return new Promise<Frame>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      if (timeoutMs) timer = setTimeout(() => this.fail(new Error(`no message within ${timeoutMs} ms`)), timeoutMs);
      this.waiter = {
        resolve: (f) => {
          if (timer) clearTimeout(timer);
          resolve(f);
        },
        reject: (e) => {
          if (timer) clearTimeout(timer);
          reject(e);
        },
      };
      this.pump();
    });
  }

  /** Stops listening; the socket is paused and the framer keeps any bytes already read. */
  release(): { socket: Socket; framer: MessageFramer } {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    this.socket.off('error', this.onError);
    this.socket.pause();
    return { socket: this.socket, framer: this.framer };
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.pump();
  }

  private pump(): void {
    if (!this.waiter) {
      // Bound what a peer can make us buffer between reads.
      if (this.framer.bufferedBytes > 1024 * 1024) this.socket.pause();
      return;
    }
    const waiter = this.waiter;
    let frame: Frame | undefined;
    try {
      frame = this.framer.next();
    } catch (err) {
      this.waiter = undefined;
      waiter.reject(err as Error);
      return;
    }
    if (frame) {
      this.waiter = undefined;
      this.socket.resume();
      waiter.resolve(frame);
    } else if (this.failure) {
      this.waiter = undefined;
      waiter.reject(this.failure);
    }
  }
}
