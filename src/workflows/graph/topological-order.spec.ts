import { kahnOrder, topologicalOrder } from './topological-order';

const ids = (nodes: { id: string }[]) => nodes.map((node) => node.id);
const nodesNamed = (...names: string[]) => names.map((id) => ({ id }));
const edge = (source: string, target: string) => ({ source, target });

describe(topologicalOrder.name, () => {
  it('orders a chain from its start', () => {
    expect(ids(topologicalOrder(nodesNamed('out', 'mid', 'start'), [edge('start', 'mid'), edge('mid', 'out')]))).toEqual(['start', 'mid', 'out']);
  });

  it('keeps the workflow order of nodes that do not depend on each other', () => {
    expect(ids(topologicalOrder(nodesNamed('b', 'c', 'a'), []))).toEqual(['b', 'c', 'a']);
  });

  it('takes the earliest ready node in workflow order at each step', () => {
    const nodes = nodesNamed('c', 'a', 'b');
    expect(ids(topologicalOrder(nodes, [edge('a', 'c')]))).toEqual(['a', 'c', 'b']);
  });

  it('places a node after all of its upstream nodes', () => {
    const nodes = nodesNamed('join', 'left', 'right', 'start');
    const edges = [edge('start', 'left'), edge('start', 'right'), edge('left', 'join'), edge('right', 'join')];
    expect(ids(topologicalOrder(nodes, edges))).toEqual(['start', 'left', 'right', 'join']);
  });

  it('accepts several edges between the same two nodes', () => {
    expect(ids(topologicalOrder(nodesNamed('b', 'a'), [edge('a', 'b'), edge('a', 'b')]))).toEqual(['a', 'b']);
  });

  it('returns the node objects it was given', () => {
    const nodes = [{ id: 'a', type: 'manual' }];
    expect(topologicalOrder(nodes, [])[0]).toBe(nodes[0]);
  });

  it('throws on a cycle, naming the nodes it could not order', () => {
    expect(() => topologicalOrder(nodesNamed('a', 'b', 'c'), [edge('a', 'b'), edge('b', 'c'), edge('c', 'b')])).toThrow(
      'The workflow has a cycle among nodes "b", "c"',
    );
  });

  it('throws on an edge to a node that is not in the workflow', () => {
    expect(() => topologicalOrder(nodesNamed('a'), [edge('a', 'ghost')])).toThrow('names a node that is not in the workflow');
  });

  it('orders a 100,000-node chain given backwards without overflowing the stack', () => {
    const count = 100_000;
    const names = Array.from({ length: count }, (_, index) => `n${index}`);
    const edges = names.slice(1).map((name, index) => edge(names[index], name));
    const order = topologicalOrder(
      names.toReversed().map((id) => ({ id })),
      edges,
    );
    expect(order[0].id).toBe('n0');
    expect(order[count - 1].id).toBe(`n${count - 1}`);
  });
});

describe(kahnOrder.name, () => {
  it('sets the nodes on a cycle and downstream of one apart from the ordered ones', () => {
    // 0 → 1 ⇄ 2 → 3, and 4 alone
    expect(kahnOrder([[1], [2], [1, 3], [], []])).toEqual({ order: [0, 4], unordered: [1, 2, 3] });
  });
});
