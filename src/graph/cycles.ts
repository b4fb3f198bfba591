import { kahnOrder } from './topological-order';

/**
 * Yields every node on a cycle, by index, with a shortest cycle through it: its node indices,
 * starting with that node. Kahn's algorithm first sets aside every node that is on no cycle and
 * downstream of none; each node left then gets a breadth-first search back to itself (nodes only
 * downstream of a cycle find none). Lazy, so only one cycle is held at a time.
 */
export function* cyclesThroughNodes(successors: readonly (readonly number[])[]): Generator<[number, number[]]> {
  const search = new CycleSearch(successors);
  for (const index of kahnOrder(successors).unordered) {
    const cycle = search.shortestCycleThrough(index);
    if (cycle !== undefined) yield [index, cycle];
  }
}

/** Breadth-first searches that share their bookkeeping arrays; a search's marks are its own number. */
class CycleSearch {
  private readonly parent: Int32Array;
  private readonly seenBy: Int32Array;
  private searches = 0;

  constructor(private readonly successors: readonly (readonly number[])[]) {
    this.parent = new Int32Array(successors.length);
    this.seenBy = new Int32Array(successors.length);
  }

  shortestCycleThrough(start: number): number[] | undefined {
    const search = ++this.searches;
    this.seenBy[start] = search;
    const queue = [start];
    for (let head = 0; head < queue.length; head++) {
      const current = queue[head];
      for (const next of this.successors[current]) {
        if (next === start) return this.pathBack(start, current);
        if (this.seenBy[next] === search) continue;
        this.seenBy[next] = search;
        this.parent[next] = current;
        queue.push(next);
      }
    }
    return undefined;
  }

  /** `start` → … → `last`, following the parents recorded by the search from `start`. */
  private pathBack(start: number, last: number): number[] {
    const path = [last];
    while (path[path.length - 1] !== start) path.push(this.parent[path[path.length - 1]]);
    return path.reverse();
  }
}
