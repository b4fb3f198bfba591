import { ALWAYS, anyOf, type Condition, conditionKey, implies, isAlways, withLiteral } from './branch-conditions';

const lit = (branch: number, value: boolean) => ({ branch, value });
const key = (condition: Condition) => conditionKey(condition);

describe('branch conditions', () => {
  it('starts from always, and a literal makes a one-literal conjunction', () => {
    expect(isAlways(ALWAYS)).toBe(true);
    expect(key(withLiteral(ALWAYS, lit(3, true)))).toBe('3');
  });

  it('keeps the literals of a conjunction sorted by branch position', () => {
    expect(key(withLiteral(withLiteral(ALWAYS, lit(5, false)), lit(2, true)))).toBe('2&!5');
  });

  it('merges both sides of one branch back into what held before it', () => {
    const before = withLiteral(ALWAYS, lit(1, true));
    expect(key(anyOf([withLiteral(before, lit(4, true)), withLiteral(before, lit(4, false))]))).toBe('1');
    expect(isAlways(anyOf([withLiteral(ALWAYS, lit(0, true)), withLiteral(ALWAYS, lit(0, false))]))).toBe(true);
  });

  it('drops duplicates and conjunctions absorbed by a shorter one', () => {
    const a = withLiteral(ALWAYS, lit(0, true));
    expect(key(anyOf([a, a, withLiteral(a, lit(2, false))]))).toBe('0');
  });

  it('keeps a disjunction that does not simplify', () => {
    const condition = anyOf([withLiteral(ALWAYS, lit(0, true)), withLiteral(withLiteral(ALWAYS, lit(0, false)), lit(1, true))]);
    expect(key(condition)).toBe('0|!0&1');
  });

  it('collapses a chain of diamonds without growing', () => {
    let condition: Condition = ALWAYS;
    for (let branch = 0; branch < 40; branch++) condition = anyOf([withLiteral(condition, lit(branch, true)), withLiteral(condition, lit(branch, false))]);
    expect(isAlways(condition)).toBe(true);
  });

  it('knows when one condition guarantees another', () => {
    const a = withLiteral(ALWAYS, lit(0, true));
    const ab = withLiteral(a, lit(1, true));
    expect(implies(ab, a)).toBe(true);
    expect(implies(a, ab)).toBe(false);
    expect(implies(ALWAYS, a)).toBe(false);
    expect(implies(a, ALWAYS)).toBe(true);
    expect(implies(anyOf([ab, withLiteral(a, lit(2, false))]), a)).toBe(true);
  });
});
