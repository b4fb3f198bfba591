import type { WorkflowEdgeInput, WorkflowNodeInput } from './graph.types';

export interface KahnResult {
  /** Every node that is on no cycle and downstream of none, in topological order. */
  order: number[];
  /** The nodes left: on a cycle or downstream of one, by index. */
  unordered: number[];
}

/**
 * Kahn's algorithm over node indices, stable: among the nodes ready at any step, the one with the
 * lowest index comes first.
 */
export function kahnOrder(successors: readonly (readonly number[])[]): KahnResult {
  const inDegree = new Int32Array(successors.length);
  for (const targets of successors) for (const target of targets) inDegree[target]++;
  const ready = new MinHeap();
  for (let index = 0; index < inDegree.length; index++) if (inDegree[index] === 0) ready.push(index);
  const order: number[] = [];
  while (ready.size > 0) {
    const index = ready.pop();
    order.push(index);
    for (const target of successors[index]) if (--inDegree[target] === 0) ready.push(target);
  }
  const unordered: number[] = [];
  for (let index = 0; index < inDegree.length; index++) if (inDegree[index] > 0) unordered.push(index);
  return { order, unordered };
}

/**
 * The nodes of a valid workflow in execution order: every node after all of its upstream nodes,
 * ties broken by position in `nodes`. Throws on an edge to an unknown node or on a cycle.
 */
export function topologicalOrder<N extends Pick<WorkflowNodeInput, 'id'>>(
  nodes: readonly N[],
  edges: readonly Pick<WorkflowEdgeInput, 'source' | 'target'>[],
): N[] {
  const indexById = new Map(nodes.map((node, index) => [node.id, index]));
  const successors = nodes.map((): number[] => []);
  for (const { source, target } of edges) {
    const sourceIndex = indexById.get(source);
    const targetIndex = indexById.get(target);
    if (sourceIndex === undefined || targetIndex === undefined) {
      throw new Error(`Edge "${source}" → "${target}" names a node that is not in the workflow`);
    }
    successors[sourceIndex].push(targetIndex);
  }
  const { order, unordered } = kahnOrder(successors);
  if (unordered.length > 0) {
    throw new Error(`The workflow has a cycle among nodes ${unordered.map((index) => `"${nodes[index].id}"`).join(', ')}`);
  }
  return order.map((index) => nodes[index]);
}

class MinHeap {
  private readonly items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  push(item: number): void {
    const items = this.items;
    let child = items.push(item) - 1;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (items[parent] <= item) break;
      items[child] = items[parent];
      child = parent;
    }
    items[child] = item;
  }

  pop(): number {
    const items = this.items;
    const top = items[0];
    const last = items.pop()!;
    if (items.length > 0) {
      let parent = 0;
      for (;;) {
        const left = 2 * parent + 1;
        if (left >= items.length) break;
        const smaller = left + 1 < items.length && items[left + 1] < items[left] ? left + 1 : left;
        if (items[smaller] >= last) break;
        items[parent] = items[smaller];
        parent = smaller;
      }
      items[parent] = last;
    }
    return top;
  }
}
