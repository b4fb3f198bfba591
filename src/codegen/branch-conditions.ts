/**
 * When a node runs, as a condition over the results of the branch (`if`) nodes before it, kept in
 * disjunctive normal form: a list of conjunctions, each a list of literals "branch b went
 * true/false", sorted by b. `[[]]` is "always". A literal implies its branch ran, so a
 * conjunction is read left to right with each branch's result known before it is tested.
 */
export interface Literal {
  /** The branch node's position in the compile order. */
  branch: number;
  value: boolean;
}

export type Conjunction = readonly Literal[];
export type Condition = readonly Conjunction[];

export const ALWAYS: Condition = [[]];

/** Conditions with more conjunctions than this are refused rather than emitted. */
export const MAX_CONJUNCTIONS = 64;

export function isAlways(condition: Condition): boolean {
  return condition.length === 1 && condition[0].length === 0;
}

/** Each conjunction made by appending a literal, with the one it extends: for prefix tests without a scan. */
const extended = new WeakMap<Conjunction, Conjunction>();

/** `condition` and the literal: every conjunction extended with it. */
export function withLiteral(condition: Condition, literal: Literal): Condition {
  return condition.map((conjunction) => {
    const last = conjunction[conjunction.length - 1];
    // The compiler adds a branch's literal to the condition the branch itself runs under, so it
    // comes after every literal there: an append, remembered as an extension.
    if (last === undefined || last.branch < literal.branch) {
      const longer = [...conjunction, literal];
      extended.set(longer, conjunction);
      return longer;
    }
    return [...conjunction, literal].sort(byBranch);
  });
}

/** The conjunction `conjunction` was made from by appending one literal, if it was. */
export function extensionOf(conjunction: Conjunction): Conjunction | undefined {
  return extended.get(conjunction);
}

/**
 * The disjunction of `conditions`, simplified: duplicates and absorbed conjunctions dropped, and
 * `A and b` / `A and not b` merged into `A` (A already implies b ran, as every conjunction
 * holding a literal of b also holds what b's own condition needs).
 */
export function anyOf(conditions: readonly Condition[]): Condition {
  // One condition is already simplified: most nodes have one incoming edge.
  if (conditions.length === 1) return conditions[0];
  let conjunctions = dedupe(conditions.flat());
  for (let merged = mergeComplements(conjunctions); merged !== undefined; merged = mergeComplements(conjunctions)) conjunctions = merged;
  return absorb(conjunctions);
}

/** Whether `condition` holding guarantees `other` holds (each conjunction contains one of `other`'s). */
export function implies(condition: Condition, other: Condition): boolean {
  if (isAlways(other)) return true;
  if (condition.length === 1 && other.length === 1 && extends_(condition[0], other[0])) return true;
  return condition.every((conjunction) => other.some((needed) => needed.every((literal) => conjunction.some((own) => sameLiteral(own, literal)))));
}

export function conditionKey(condition: Condition): string {
  return condition.map(conjunctionKey).join('|');
}

export function conjunctionKey(conjunction: Conjunction): string {
  return conjunction.map((literal) => `${literal.value ? '' : '!'}${literal.branch}`).join('&');
}

function mergeComplements(conjunctions: Conjunction[]): Conjunction[] | undefined {
  const seen = new Map<string, number>();
  for (let index = 0; index < conjunctions.length; index++) {
    const conjunction = conjunctions[index];
    for (let position = 0; position < conjunction.length; position++) {
      const rest = conjunction.filter((_, other) => other !== position);
      const { branch, value } = conjunction[position];
      const partner = seen.get(`${conjunctionKey(rest)}#${branch}#${!value}`);
      if (partner !== undefined) return dedupe([...conjunctions.filter((_, other) => other !== index && other !== partner), rest]);
      seen.set(`${conjunctionKey(rest)}#${branch}#${value}`, index);
    }
  }
  return undefined;
}

function absorb(conjunctions: Conjunction[]): Conjunction[] {
  const sorted = [...conjunctions].sort((a, b) => a.length - b.length);
  const kept: Conjunction[] = [];
  for (const conjunction of sorted) {
    if (!kept.some((smaller) => smaller.every((literal) => conjunction.some((own) => sameLiteral(own, literal))))) kept.push(conjunction);
  }
  return kept.sort((a, b) => compareConjunctions(a, b));
}

function dedupe(conjunctions: Conjunction[]): Conjunction[] {
  const byKey = new Map(conjunctions.map((conjunction) => [conjunctionKey(conjunction), conjunction]));
  return [...byKey.values()];
}

function compareConjunctions(a: Conjunction, b: Conjunction): number {
  for (let index = 0; index < Math.min(a.length, b.length); index++) {
    const difference = a[index].branch - b[index].branch || Number(b[index].value) - Number(a[index].value);
    if (difference !== 0) return difference;
  }
  return a.length - b.length;
}

function sameLiteral(a: Literal, b: Literal): boolean {
  return a.branch === b.branch && a.value === b.value;
}

function byBranch(a: Literal, b: Literal): number {
  return a.branch - b.branch;
}

/** Whether `conjunction` was made from `prefix` by appending literals (a walk up, no scan). */
function extends_(conjunction: Conjunction, prefix: Conjunction): boolean {
  for (let current: Conjunction | undefined = conjunction; current !== undefined && current.length >= prefix.length; current = extended.get(current)) {
    if (current === prefix) return true;
  }
  return false;
}
