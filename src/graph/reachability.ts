import { kahnOrder } from './topological-order';

/** Does a path of one or more edges lead from node `from` to node `to`? */
export interface ReachabilityQuery {
  from: number;
  to: number;
}

const BITS_PER_ROUND = 32;

/**
 * Answers many reachability queries at once by propagating bit sets along the edges, one bit per
 * distinct `from` node and 32 of them per round: O((V + E) · F / 32) for F distinct `from` nodes,
 * whatever the number of queries. Cycles are allowed: a node is visited again whenever its bits grow.
 */
export function answerReachability(successors: readonly (readonly number[])[], queries: readonly ReachabilityQuery[]): boolean[] {
  const answers = new Array<boolean>(queries.length).fill(false);
  // Most bindings name a node right before their own (a direct edge): answer those at once, so a
  // long chain whose every node binds its predecessor costs O(V + E), not one propagation per node.
  const edges = new Set<number>();
  successors.forEach((targets, source) => targets.forEach((target) => edges.add(source * successors.length + target)));
  const open = queries.flatMap((query, index) => {
    if (!edges.has(query.from * successors.length + query.to)) return [index];
    answers[index] = true;
    return [];
  });
  if (open.length === 0) return answers;
  const rest = open.map((index) => queries[index]);
  propagateAll(successors, rest).forEach((answer, position) => (answers[open[position]] = answer));
  return answers;
}

function propagateAll(successors: readonly (readonly number[])[], queries: readonly ReachabilityQuery[]): boolean[] {
  const sources = [...new Set(queries.map((query) => query.from))];
  const slotOf = new Map(sources.map((source, slot) => [source, slot]));
  const queriesByRound = Array.from({ length: Math.ceil(sources.length / BITS_PER_ROUND) }, (): number[] => []);
  queries.forEach((query, index) => queriesByRound[Math.floor(slotOf.get(query.from)! / BITS_PER_ROUND)].push(index));

  const { order, unordered } = kahnOrder(successors);
  const visitOrder = [...order, ...unordered];
  const answers = new Array<boolean>(queries.length).fill(false);
  queriesByRound.forEach((queryIndexes, round) => {
    const reached = propagate(successors, visitOrder, sources.slice(round * BITS_PER_ROUND, (round + 1) * BITS_PER_ROUND));
    for (const index of queryIndexes) {
      const bit = slotOf.get(queries[index].from)! % BITS_PER_ROUND;
      answers[index] = ((reached[queries[index].to] >>> bit) & 1) === 1;
    }
  });
  return answers;
}

/** Bit `b` of `reached[v]` is set when a path leads from `sources[b]` to `v`. */
function propagate(successors: readonly (readonly number[])[], visitOrder: readonly number[], sources: readonly number[]): Int32Array {
  const own = new Int32Array(successors.length);
  for (let bit = 0; bit < sources.length; bit++) own[sources[bit]] |= 1 << bit;
  const reached = new Int32Array(successors.length);
  const queued = new Uint8Array(successors.length).fill(1);
  const queue = [...visitOrder];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head];
    queued[node] = 0;
    const bits = reached[node] | own[node];
    if (bits === 0) continue;
    for (const successor of successors[node]) {
      const grown = reached[successor] | bits;
      if (grown === reached[successor]) continue;
      reached[successor] = grown;
      if (queued[successor] === 0) {
        queued[successor] = 1;
        queue.push(successor);
      }
    }
  }
  return reached;
}
