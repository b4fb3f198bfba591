/**
 * The logical line of black's port (`layout.ts`): leaves (tokens) with their whitespace, and the
 * delimiters black may split a line at (black/lines.py, black/brackets.py).
 */

/** black's default line length. */
export const LINE_LENGTH = 88;

// Delimiter priorities (black/brackets.py), only those our expressions produce.
export const COMMA_PRIORITY = 18;
export const LOGIC_PRIORITY = 14;
export const COMPARATOR_PRIORITY = 10;
export const DOT_PRIORITY = 1;

export type Kind =
  | 'name' // identifiers, keywords, True/False/None, annotations
  | 'number'
  | 'string'
  | 'unary' // the `-` of a negative number
  | 'op' // `=` of an assignment, `->`
  | 'kwarg' // `=` of a keyword argument
  | 'compare'
  | 'logic' // and / or
  | 'comma'
  | 'colon'
  | 'dot'
  | 'open'
  | 'close';

export interface Leaf {
  kind: Kind;
  /** '' for an invisible parenthesis until black makes it visible. */
  value: string;
  /** Length of `value` in code points (what Python's len() counts, and black's leaf lengths). */
  width: number;
  /** Display width of `value` (black's `str_width`, wide East Asian characters two): what `fits` counts. */
  columns: number;
  /** Whitespace before the leaf; black clears it when the leaf starts a line. */
  prefix: string;
  /** The prefix as first computed. */
  readonly space: string;
  /** Brackets only: the parse-tree parent black looks at (collection/parenthesised atom, call/subscript trailer, def parameters). */
  readonly bracket?: '(' | '[' | '{';
  readonly parent?: 'atom' | 'trailer' | 'params';
  /** Closing brackets only. */
  opening?: Leaf;
}

export class Line {
  shouldSplitRhs = false;
  private delimiterCache?: Map<Leaf, number>;

  constructor(
    readonly indent: number,
    readonly leaves: Leaf[],
    readonly insideBrackets = false,
    /** The statement's invisible parentheses (black's `bracket_tracker.invisible`): only statement lines have them tracked. */
    readonly invisible: Leaf[] = [],
  ) {}

  get isDef(): boolean {
    return this.leaves[0]?.kind === 'name' && this.leaves[0].value === 'def';
  }

  toString(): string {
    const [first, ...rest] = this.leaves;
    if (!first) return '';
    return first.prefix + ' '.repeat(this.indent) + first.value + rest.map((leaf) => leaf.prefix + leaf.value).join('');
  }

  /** black's `is_line_short_enough` (display width): stops counting once past the limit, so it is cheap on long lines. */
  fits(): boolean {
    let width = this.indent;
    for (const leaf of this.leaves) {
      width += leaf.prefix.length + leaf.columns;
      if (width > LINE_LENGTH) return false;
    }
    return true;
  }

  /**
   * The split points at bracket depth 0 (black's `BracketTracker.mark`): a priority on the leaf after which
   * the line may break. Only asked of body and delimiter-split lines, which black tracks in full.
   */
  delimiters(): Map<Leaf, number> {
    if (this.delimiterCache) return this.delimiterCache;
    const delimiters = new Map<Leaf, number>();
    let depth = 0;
    let previous: Leaf | undefined;
    for (const leaf of this.leaves) {
      if (leaf.kind === 'close') depth--;
      if (depth === 0) {
        const before = previous ? splitBeforePriority(leaf, previous) : 0;
        if (previous && before) delimiters.set(previous, before);
        else if (leaf.kind === 'comma') delimiters.set(leaf, COMMA_PRIORITY);
      }
      if (leaf.kind === 'open') depth++;
      previous = leaf;
    }
    return (this.delimiterCache = delimiters);
  }
}

/** black's `is_split_before_delimiter` for our leaves: a dot only after a closing bracket (`f(x).y`, not `a.b`). */
function splitBeforePriority(leaf: Leaf, previous: Leaf): number {
  if (leaf.kind === 'dot') return previous.kind === 'close' ? DOT_PRIORITY : 0;
  if (leaf.kind === 'compare') return COMPARATOR_PRIORITY;
  if (leaf.kind === 'logic') return LOGIC_PRIORITY;
  return 0;
}

export function maxPriority(delimiters: Map<Leaf, number>, exclude?: Leaf): number {
  let max = 0;
  for (const [leaf, priority] of delimiters) if (leaf !== exclude && priority > max) max = priority;
  return max;
}

export function countPriority(delimiters: Map<Leaf, number>, priority: number): number {
  let count = 0;
  for (const value of delimiters.values()) if (value === priority) count++;
  return count;
}

/** Python's len(): code points (pythonString escapes lone surrogates, so a surrogate always pairs). */
export function codePoints(text: string): number {
  return text.length - (text.match(/[\uD800-\uDBFF]/g)?.length ?? 0);
}
