/**
 * A bounded map with approximate LRU eviction and O(1) work on every call.
 * Entries live in a young and an old generation; a hit in the old generation
 * promotes the entry, and when the young generation fills up the old one is
 * dropped whole. A plain Map-based LRU must delete and re-insert on every hit,
 * which costs more than the rest of a cached authorization.
 *
 * The bound is on entries and, when a `weigh` function is given, on their
 * total weight (bytes), so a few very large values cannot grow the cache far
 * past its intended memory.
 */
export interface GenerationalCacheOptions<V> {
  /** At most this total weight (default: unbounded). */
  maxWeight?: number;
  /** Weight of one value; must return the same number for the same value every time. */
  weigh?: (value: V) => number;
}

export class GenerationalCache<K, V> {
  readonly #maxEntries: number;
  readonly #generationSize: number;
  readonly #maxWeight: number;
  readonly #generationWeight: number;
  readonly #weigh: ((value: V) => number) | undefined;
  #young = new Map<K, V>();
  #old = new Map<K, V>();
  #youngWeight = 0;
  #oldWeight = 0;

  /** Holds at most `maxEntries` entries (at least one): two generations of about half that size. */
  constructor(maxEntries: number, options: GenerationalCacheOptions<V> = {}) {
    this.#maxEntries = Math.max(1, Math.floor(maxEntries));
    this.#generationSize = Math.ceil(this.#maxEntries / 2);
    this.#weigh = options.weigh;
    this.#maxWeight = options.weigh === undefined ? Infinity : Math.max(1, options.maxWeight ?? Infinity);
    this.#generationWeight = this.#maxWeight / 2;
  }

  get(key: K): V | undefined {
    const young = this.#young.get(key);
    if (young !== undefined) return young;
    const old = this.#old.get(key);
    if (old !== undefined) {
      this.#old.delete(key);
      this.#oldWeight -= this.#weightOf(old);
      this.#insert(key, old);
    }
    return old;
  }

  set(key: K, value: V): void {
    const current = this.#young.get(key);
    if (current !== undefined) {
      this.#young.delete(key);
      this.#youngWeight -= this.#weightOf(current);
    } else {
      const old = this.#old.get(key);
      if (old !== undefined) {
        this.#old.delete(key);
        this.#oldWeight -= this.#weightOf(old);
      }
    }
    this.#insert(key, value);
  }

  delete(key: K): void {
    const young = this.#young.get(key);
    if (young !== undefined) {
      this.#young.delete(key);
      this.#youngWeight -= this.#weightOf(young);
    }
    const old = this.#old.get(key);
    if (old !== undefined) {
      this.#old.delete(key);
      this.#oldWeight -= this.#weightOf(old);
    }
  }

  clear(): void {
    this.#young.clear();
    this.#old.clear();
    this.#youngWeight = 0;
    this.#oldWeight = 0;
  }

  get size(): number {
    return this.#young.size + this.#old.size;
  }

  /** Total weight held (0 without a `weigh` function). */
  get weight(): number {
    return this.#youngWeight + this.#oldWeight;
  }

  #weightOf(value: V): number {
    return this.#weigh === undefined ? 0 : this.#weigh(value);
  }

  #insert(key: K, value: V): void {
    const weight = this.#weightOf(value);
    if (weight > this.#maxWeight) return;
    if (this.#young.size > 0 && (this.#young.size >= this.#generationSize || this.#youngWeight + weight > this.#generationWeight)) {
      this.#old = this.#young;
      this.#oldWeight = this.#youngWeight;
      this.#young = new Map();
      this.#youngWeight = 0;
    }
    // The young generation's half of the bounds is not a hard split: the old generation gives up its
    // oldest entries whenever the two together would exceed a bound.
    while (this.#old.size > 0 && (this.#young.size + this.#old.size >= this.#maxEntries || this.#youngWeight + this.#oldWeight + weight > this.#maxWeight)) {
      const oldest = this.#old.entries().next().value!;
      this.#old.delete(oldest[0]);
      this.#oldWeight -= this.#weightOf(oldest[1]);
    }
    this.#young.set(key, value);
    this.#youngWeight += weight;
  }
}
