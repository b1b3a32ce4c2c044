/**
 * A bounded map with approximate LRU eviction and O(1) work on every call.
 * Entries live in a young and an old generation; a hit in the old generation
 * promotes the entry, and when the young generation fills up the old one is
 * dropped whole. A plain Map-based LRU must delete and re-insert on every hit,
 * which costs more than the rest of a cached authorization.
 */
export class GenerationalCache<K, V> {
  readonly #maxEntries: number;
  readonly #generationSize: number;
  #young = new Map<K, V>();
  #old = new Map<K, V>();

  /** Holds at most `maxEntries` entries (at least one): two generations of about half that size. */
  constructor(maxEntries: number) {
    this.#maxEntries = Math.max(1, Math.floor(maxEntries));
    this.#generationSize = Math.ceil(this.#maxEntries / 2);
  }

  get(key: K): V | undefined {
    const young = this.#young.get(key);
    if (young !== undefined) return young;
    const old = this.#old.get(key);
    if (old !== undefined) {
      this.#old.delete(key);
      this.#insert(key, old);
    }
    return old;
  }

  set(key: K, value: V): void {
    if (this.#young.has(key)) {
      this.#young.set(key, value);
      return;
    }
    this.#old.delete(key);
    this.#insert(key, value);
  }

  delete(key: K): void {
    this.#young.delete(key);
    this.#old.delete(key);
  }

  clear(): void {
    this.#young.clear();
    this.#old.clear();
  }

  get size(): number {
    return this.#young.size + this.#old.size;
  }

  #insert(key: K, value: V): void {
    if (this.#young.size >= this.#generationSize) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    // With an odd bound the two generations together could hold one entry too many:
    // the old generation then gives up its oldest entry.
    if (this.#young.size + this.#old.size >= this.#maxEntries) {
      const oldest = this.#old.keys().next();
      if (!oldest.done) this.#old.delete(oldest.value);
    }
    this.#young.set(key, value);
  }
}
