import { CachePruner, CachePruneSchedule, cacheEntriesToPrune, resolveCacheLimits, type CacheEntry } from '../src/cache-pruning';

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.UTC(2026, 0, 31);

function entry(key: string, sizeBytes: number, daysAgo: number, inUse = false): CacheEntry {
  return { key, sizeBytes, lastUsedAt: NOW - daysAgo * DAY, inUse };
}

describe(cacheEntriesToPrune.name, () => {
  it('deletes the least recently used first until the cache fits its size', () => {
    const entries = [entry('new', 40, 1), entry('oldest', 40, 9), entry('middle', 40, 5), entry('old', 40, 7)];
    const chosen = cacheEntriesToPrune(entries, { maxBytes: 90, maxAgeMs: null }, NOW);
    expect(chosen.map((e) => [e.key, e.reason])).toEqual([
      ['oldest', 'size'],
      ['old', 'size'],
    ]);
  });

  it('deletes every entry unused for longer than the age limit, whatever the size', () => {
    const entries = [entry('a', 1, 31), entry('b', 1, 29), entry('c', 1, 400)];
    const chosen = cacheEntriesToPrune(entries, { maxBytes: null, maxAgeMs: 30 * DAY }, NOW);
    expect(chosen.map((e) => [e.key, e.reason])).toEqual([
      ['a', 'age'],
      ['c', 'age'],
    ]);
  });

  it('never chooses an entry in use, though its size counts', () => {
    const entries = [entry('busy-old', 100, 100, true), entry('idle', 10, 1), entry('busy', 10, 50, true)];
    const chosen = cacheEntriesToPrune(entries, { maxBytes: 50, maxAgeMs: 30 * DAY }, NOW);
    expect(chosen.map((e) => e.key)).toEqual(['idle']);
  });

  it('counts what the age limit removed before applying the size limit', () => {
    const entries = [entry('ancient', 100, 60), entry('recent', 30, 1), entry('older', 30, 2)];
    const chosen = cacheEntriesToPrune(entries, { maxBytes: 60, maxAgeMs: 30 * DAY }, NOW);
    expect(chosen.map((e) => e.key)).toEqual(['ancient']);
  });

  it('chooses nothing without limits', () => {
    expect(cacheEntriesToPrune([entry('a', 10 ** 12, 10_000)], { maxBytes: null, maxAgeMs: null }, NOW)).toEqual([]);
  });
});

describe(resolveCacheLimits.name, () => {
  const defaults = { maxSizeGb: 20, maxAgeDays: 30 };

  it('takes the defaults for absent fields and reads 0 and null as no limit', () => {
    expect(resolveCacheLimits(undefined, defaults)).toEqual({ maxBytes: 20 * 2 ** 30, maxAgeMs: 30 * DAY });
    expect(resolveCacheLimits({ maxSizeGb: 0, maxAgeDays: null }, defaults)).toEqual({ maxBytes: null, maxAgeMs: null });
    expect(resolveCacheLimits({ maxSizeGb: 0.5 }, defaults)).toEqual({ maxBytes: 2 ** 29, maxAgeMs: 30 * DAY });
  });
});

describe(CachePruneSchedule.name, () => {
  it('runs one pruning at a time and one more for requests made during it', async () => {
    let runs = 0;
    let concurrent = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const schedule = new CachePruneSchedule(
      async () => {
        runs += 1;
        concurrent += 1;
        expect(concurrent).toBe(1);
        if (runs === 1) await gate;
        concurrent -= 1;
      },
      60_000,
      (error) => {
        throw error;
      },
    );
    const first = schedule.request();
    void schedule.request();
    const third = schedule.request();
    release();
    await Promise.all([first, third]);
    expect(runs).toBe(2);
    await schedule.close();
    await schedule.request();
    expect(runs).toBe(2);
  });

  it('reports a failing pruning and keeps going', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const schedule = new CachePruneSchedule(
      () => {
        calls += 1;
        return Promise.reject(new Error('disk gone'));
      },
      60_000,
      (error) => errors.push(error),
    );
    await schedule.request();
    await schedule.request();
    expect(calls).toBe(2);
    expect(errors).toHaveLength(2);
    await schedule.close();
  });
});

describe(CachePruner.name, () => {
  /** A cache held in a Map: what list() and remove() of a plugin would read and delete. */
  function cacheOf(entries: CacheEntry[]) {
    const held = new Map(entries.map((entry) => [entry.key, entry]));
    const lines: string[] = [];
    const options = {
      list: () => Promise.resolve([...held.values()]),
      remove: (entry: CacheEntry) => Promise.resolve(!entry.key.startsWith('taken') && held.delete(entry.key)),
      pruned: (_entry: CacheEntry, description: string) => lines.push(description),
      onError: (error: unknown) => {
        throw error;
      },
      intervalMs: 60_000,
    };
    return { held, lines, options };
  }
  const now = Date.now();

  it('deletes what cacheEntriesToPrune chooses, and reports only what remove() deleted', async () => {
    const { held, lines, options } = cacheOf([
      { key: 'old', sizeBytes: 2 ** 20, lastUsedAt: now - 40 * DAY, inUse: false },
      { key: 'taken-meanwhile', sizeBytes: 2 ** 20, lastUsedAt: now - 50 * DAY, inUse: false },
      { key: 'fresh', sizeBytes: 2 ** 20, lastUsedAt: now, inUse: false },
    ]);
    const pruner = new CachePruner({ ...options, limits: { maxBytes: null, maxAgeMs: 30 * DAY } });
    const pruned = await pruner.prune();
    expect(pruned.map((entry) => [entry.key, entry.reason])).toEqual([['old', 'age']]);
    expect([...held.keys()]).toEqual(['taken-meanwhile', 'fresh']);
    expect(lines).toEqual([expect.stringMatching(/^old: 1\.0 MiB, unused for 40\.0 days \(limit 30\)$/)]);
    await pruner.close();
  });

  it('does nothing on its own without limits, and prunes by the limits it is given', async () => {
    const { held, options } = cacheOf([{ key: 'big', sizeBytes: 10, lastUsedAt: now - DAY, inUse: false }]);
    let listed = 0;
    const pruner = new CachePruner({ ...options, limits: { maxBytes: null, maxAgeMs: null }, list: () => ((listed += 1), options.list()) });
    expect(pruner.limited).toBe(false);
    pruner.start();
    await pruner.request();
    expect(listed).toBe(0);
    expect((await pruner.prune({ maxBytes: 5, maxAgeMs: null })).map((entry) => entry.reason)).toEqual(['size']);
    expect(held.size).toBe(0);
    await pruner.close();
  });

  it('passes a failing list() to onError when it runs on its own, and rejects prune()', async () => {
    const errors: unknown[] = [];
    const pruner = new CachePruner<CacheEntry>({
      ...cacheOf([]).options,
      limits: { maxBytes: 1, maxAgeMs: null },
      list: () => Promise.reject(new Error('disk gone')),
      onError: (error) => errors.push(error),
    });
    await pruner.request();
    expect(errors).toEqual([new Error('disk gone')]);
    await expect(pruner.prune()).rejects.toThrow('disk gone');
    await pruner.close();
  });
});
