import { createHash, type Hash } from 'node:crypto';

/**
 * Bytes of one file as they go through, counted and hashed in order. A chunk
 * that does not continue where the last one ended (SFTP reads and writes carry
 * their own offsets) makes the digest unknowable: it is dropped, the count
 * goes on. Nothing is buffered.
 */
export class TransferDigest {
  bytes = 0;
  private hash: Hash | undefined = createHash('sha256');
  private next = 0;

  /** `offset`: where the chunk belongs in the file (defaults to right after the previous one). */
  update(chunk: Buffer, offset = this.next): void {
    this.bytes += chunk.length;
    if (offset !== this.next) this.hash = undefined;
    this.hash?.update(chunk);
    this.next = offset + chunk.length;
  }

  /** The hex SHA-256 when every byte came in order from offset 0; then the digest is spent. */
  sha256(): string | undefined {
    const hash = this.hash;
    this.hash = undefined;
    return hash?.digest('hex');
  }
}
