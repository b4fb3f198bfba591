import { LRUCache } from 'lru-cache';

/**
 * An LRU cache of database reads that can be invalidated while a read is in flight: `load` only
 * stores its result if no `clear()` happened since it started, so a row read just before a
 * committed change can never be cached after that change.
 */
export class ReadThroughCache<V extends NonNullable<unknown>> {
  private readonly entries: LRUCache<string, V>;
  private generation = 0;

  constructor(options: { maxEntries: number; ttlMs: number; maxSize?: number; sizeOf?: (value: V) => number }) {
    this.entries = new LRUCache<string, V>({
      max: options.maxEntries,
      ttl: options.ttlMs,
      // The clock read at each lookup, rather than lru-cache's default of reading it once per
      // millisecond with a new 1 ms timer to forget it: under load, a timer a millisecond per cache.
      ttlResolution: 0,
      ...(options.maxSize ? { maxSize: options.maxSize, sizeCalculation: (value: V) => Math.max(1, options.sizeOf!(value)) } : {}),
    });
  }

  async get(key: string, read: () => Promise<V | undefined>, cacheable: (value: V) => boolean = () => true): Promise<V | undefined> {
    const hit = this.entries.get(key);
    if (hit !== undefined) return hit;
    const generation = this.generation;
    const value = await read();
    if (value !== undefined && cacheable(value) && generation === this.generation) this.entries.set(key, value);
    return value;
  }

  /** The value cached under `key` (still fresh), without reading it: undefined on a miss. */
  peek(key: string): V | undefined {
    return this.entries.get(key);
  }

  clear(): void {
    this.generation += 1;
    this.entries.clear();
  }
}

/** Freezes a parsed JSON value all the way down, so a cached object cannot be changed by a caller. */
export function deepFreeze<T>(value: T): T {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (item !== null && typeof item === 'object' && !Object.isFrozen(item)) {
      Object.freeze(item);
      for (const child of Object.values(item)) stack.push(child);
    }
  }
  return value;
}
