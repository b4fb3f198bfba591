import { cyclesThroughNodes } from './cycles';

describe(cyclesThroughNodes.name, () => {
  it('finds none in a graph without cycles', () => {
    expect([...cyclesThroughNodes([[1, 2], [2], []])]).toEqual([]);
  });

  it('gives every node of a cycle the cycle, starting from that node', () => {
    expect([...cyclesThroughNodes([[1], [2], [0]])]).toEqual([
      [0, [0, 1, 2]],
      [1, [1, 2, 0]],
      [2, [2, 0, 1]],
    ]);
  });

  it('gives a node the shortest of its cycles', () => {
    // 0 → 1 → 2 → 0 and 1 → 0
    expect(new Map(cyclesThroughNodes([[1], [2, 0], [0]])).get(0)).toEqual([0, 1]);
  });

  it('leaves out nodes only downstream of a cycle, or between two cycles', () => {
    // 0 ⇄ 1 → 2 → 3 ⇄ 4
    expect([...cyclesThroughNodes([[1], [0, 2], [3], [4], [3]])].map(([index]) => index)).toEqual([0, 1, 3, 4]);
  });

  it('handles a cycle of 2,000 nodes', () => {
    const successors = Array.from({ length: 2_000 }, (_, index) => [(index + 1) % 2_000]);
    const cycles = new Map(cyclesThroughNodes(successors));
    expect(cycles.size).toBe(2_000);
    expect(cycles.get(1_999)).toHaveLength(2_000);
  });
});
