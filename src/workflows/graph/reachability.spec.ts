import { answerReachability } from './reachability';

describe(answerReachability.name, () => {
  it('finds a direct edge', () => {
    expect(answerReachability([[1], []], [{ from: 0, to: 1 }])).toEqual([true]);
  });

  it('finds a path of several edges', () => {
    expect(answerReachability([[1], [2], []], [{ from: 0, to: 2 }])).toEqual([true]);
  });

  it('does not follow edges backwards', () => {
    expect(answerReachability([[1], []], [{ from: 1, to: 0 }])).toEqual([false]);
  });

  it('does not count a node as reaching itself without a cycle', () => {
    expect(answerReachability([[1], []], [{ from: 0, to: 0 }])).toEqual([false]);
  });

  it('follows cycles, so a node on one reaches itself', () => {
    // 0 → 1 ⇄ 2 → 3
    const successors = [[1], [2], [1, 3], []];
    expect(
      answerReachability(successors, [
        { from: 2, to: 1 },
        { from: 1, to: 1 },
        { from: 2, to: 3 },
        { from: 3, to: 1 },
      ]),
    ).toEqual([true, true, true, false]);
  });

  it('answers no queries with no answers', () => {
    expect(answerReachability([[1], []], [])).toEqual([]);
  });

  it('answers queries about more than 32 distinct start nodes', () => {
    // a chain of 100 nodes: i reaches j exactly when i < j
    const successors = Array.from({ length: 100 }, (_, index) => (index < 99 ? [index + 1] : []));
    const queries = Array.from({ length: 100 }, (_, from) => [
      { from, to: 50 },
      { from, to: 99 },
    ]).flat();
    const answers = answerReachability(successors, queries);
    queries.forEach((query, index) => expect([query, answers[index]]).toEqual([query, query.from < query.to]));
  });

  it('answers 100,000 queries over a 20,000-node chain in two rounds', () => {
    const count = 20_000;
    const successors = Array.from({ length: count }, (_, index) => (index < count - 1 ? [index + 1] : []));
    const queries = Array.from({ length: 100_000 }, (_, index) => ({ from: index % 64, to: 64 + (index % (count - 64)) }));
    expect(answerReachability(successors, queries).every(Boolean)).toBe(true);
  });
});
