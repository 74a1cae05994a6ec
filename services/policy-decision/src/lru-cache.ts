/**
 * A map of at most `size` entries, the least recently used out first (a
 * Map keeps insertion order; a hit re-inserts its entry at the end). Size 0
 * keeps nothing. Shared by the SQL parse cache, the shell analysis cache and
 * what-if's decision cache.
 */
export class LruCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private size: number) {}

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: K, value: V): void {
    if (this.size <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.size) this.entries.delete(this.entries.keys().next().value as K);
  }

  /** A new size; what was kept is dropped. */
  resize(size: number): void {
    this.size = Math.max(0, Math.floor(size));
    this.entries.clear();
  }
}
