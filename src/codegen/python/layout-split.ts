/**
 * black/linegen.py, the parts our statements reach: `transform_line` and its transforms (right-hand
 * split with the optional-parentheses heuristics, delimiter split, left-hand split for `def`).
 * Names follow black's, so a branch can be checked against its source.
 */
import { codePoints, COMMA_PRIORITY, countPriority, DOT_PRIORITY, type Leaf, Line, LINE_LENGTH, maxPriority } from './layout-line';

type Transform = (line: Line, forceOptionalParens: boolean) => Line[] | null;

/** `transform_line`: a line that fits stays; otherwise the first transform that applies, recursively. */
export function transformLine(line: Line, forceOptionalParens: boolean): Line[] {
  if (!line.shouldSplitRhs && line.fits()) return [line];
  const transforms: Transform[] = line.isDef ? [leftHandSplit] : line.insideBrackets ? [delimiterSplit, rhs] : [rhs];
  for (const transform of transforms) {
    const result = runTransformer(line, transform, forceOptionalParens);
    if (result) return result;
  }
  return [line];
}

/**
 * `run_transformer`. (Black also rejects a transform that returns the line unchanged; none of ours can:
 * every split line lacks at least one visible leaf of the original.)
 */
function runTransformer(line: Line, transform: Transform, forceOptionalParens: boolean): Line[] | null {
  const lines = transform(line, forceOptionalParens);
  if (!lines) return null;
  const result = lines.flatMap((split) => transformLine(split, forceOptionalParens));
  if (transform !== rhs || forceOptionalParens || line.invisible.length === 0 || line.invisible.some((paren) => paren.value) || result[0].fits()) {
    return result;
  }
  // The first line is still too long after omitting the optional parentheses: black takes a second
  // opinion that splits at them, and prefers it when every resulting line fits.
  const secondOpinion = runTransformer(freshCopy(line), rhs, true);
  return secondOpinion?.every((split) => split.fits()) ? secondOpinion : result;
}

/** black's `append_leaves` into `line.clone()`: new leaves with their whitespace recomputed. */
function freshCopy(line: Line): Line {
  const copies = new Map<Leaf, Leaf>();
  for (const leaf of line.leaves) copies.set(leaf, { ...leaf, prefix: leaf.space });
  for (const copy of copies.values()) if (copy.opening) copy.opening = copies.get(copy.opening);
  return new Line(
    line.indent,
    line.leaves.map((leaf) => copies.get(leaf)!),
    line.insideBrackets,
    line.invisible.map((leaf) => copies.get(leaf)!),
  );
}

/** The `rhs` transform: right-hand splits that glue ever more trailing trailers together while the first line does not fit. */
function rhs(line: Line, forceOptionalParens: boolean): Line[] | null {
  for (const omit of generateTrailersToOmit(line)) {
    const lines = rightHandSplit(line, forceOptionalParens, omit);
    if (!lines) return null; // a failed split ends the whole transform, as black's CannotSplit does
    if (lines[0].fits()) return lines;
  }
  return rightHandSplit(line, forceOptionalParens, new Set());
}

/**
 * `generate_trailers_to_omit`: cumulative sets of closing brackets to skip, so that the split happens at
 * an earlier bracket while the skipped trailers fit on the last line. Lazy, like black's generator: leaf
 * widths are read after the previous attempt may have made the invisible parentheses visible.
 */
function* generateTrailersToOmit(line: Line): Generator<Set<Leaf>> {
  const omit = new Set<Leaf>();
  yield omit;
  let length = line.indent;
  let opening: Leaf | undefined;
  let closing: Leaf | undefined;
  const inner: Leaf[] = [];
  for (let index = line.leaves.length - 1; index >= 0; index--) {
    const leaf = line.leaves[index];
    length += leaf.prefix.length + leaf.width;
    if (length > LINE_LENGTH) break;
    if (opening) {
      if (leaf === opening) opening = undefined;
      else if (leaf.kind === 'close') inner.push(leaf);
    } else if (leaf.kind === 'close') {
      if (line.leaves[index - 1]?.kind === 'open') {
        inner.push(leaf); // empty brackets would fail a split
        continue;
      }
      if (closing) {
        omit.add(closing);
        for (const bracket of inner.splice(0)) omit.add(bracket);
        yield omit;
      }
      if (leaf.value) {
        opening = leaf.opening;
        closing = leaf;
      }
    }
  }
}

interface BracketSplit {
  head: Line;
  body: Line;
  tail: Line;
  opening: Leaf;
  closing: Leaf;
}

function rightHandSplit(line: Line, forceOptionalParens: boolean, omit: Set<Leaf>): Line[] | null {
  const split = firstRightHandSplit(line, omit);
  return split && maybeSplitOmittingOptionalParens(split, line, forceOptionalParens, omit);
}

/** `_first_right_hand_split`: head, body and tail around the last bracket pair not in `omit`. */
function firstRightHandSplit(line: Line, omit: Set<Leaf>): BracketSplit | null {
  const tail: Leaf[] = [];
  const body: Leaf[] = [];
  const head: Leaf[] = [];
  let current = tail;
  let opening: Leaf | undefined;
  let closing: Leaf | undefined;
  for (let index = line.leaves.length - 1; index >= 0; index--) {
    const leaf = line.leaves[index];
    if (current === body && leaf === opening) current = body.length ? head : tail;
    current.push(leaf);
    if (current === tail && leaf.kind === 'close' && !omit.has(leaf)) {
      opening = leaf.opening;
      closing = leaf;
      current = body;
    }
  }
  if (!opening || !closing || !head.length) return null;
  // The body is never empty (empty brackets go to the tail), so black's bracket_split_succeeded_or_raise passes.
  return {
    head: bracketSplitBuildLine(head.reverse(), line, opening, 'head'),
    body: bracketSplitBuildLine(body.reverse(), line, opening, 'body'),
    tail: bracketSplitBuildLine(tail.reverse(), line, opening, 'tail'),
    opening,
    closing,
  };
}

/**
 * `_maybe_split_omitting_optional_parens`: when the split is at the invisible parentheses and
 * `can_omit_invisible_parens` allows it, black first tries the split at the previous bracket instead
 * (`x = f(\n    a\n)` rather than `x = (\n    f(a)\n)`), and falls back to the parentheses only if that
 * split fails and the body can be split or fits.
 */
function maybeSplitOmittingOptionalParens(split: BracketSplit, line: Line, forceOptionalParens: boolean, omit: Set<Leaf>): Line[] | null {
  if (!forceOptionalParens && isInvisible(split.opening) && isInvisible(split.closing) && canOmitInvisibleParens(split.body)) {
    const omitParens = new Set(omit).add(split.closing);
    const withoutParens = firstRightHandSplit(line, omitParens);
    const lines = withoutParens && maybeSplitOmittingOptionalParens(withoutParens, line, forceOptionalParens, omitParens);
    if (lines) return lines;
    if (!(canBeSplit(split.body) || split.body.fits())) return null;
  }
  ensureVisible(split.opening);
  ensureVisible(split.closing);
  return [split.head, split.body, split.tail].filter((part) => part.leaves.length > 0);
}

function isInvisible(leaf: Leaf): boolean {
  return leaf.bracket === '(' && leaf.value === '';
}

function ensureVisible(leaf: Leaf): void {
  if (leaf.bracket !== '(') return;
  leaf.value = leaf.kind === 'open' ? '(' : ')';
  leaf.width = 1;
  leaf.columns = 1;
}

/** `bracket_split_build_line`. */
function bracketSplitBuildLine(leaves: Leaf[], original: Line, opening: Leaf, component: 'head' | 'body' | 'tail'): Line {
  if (component !== 'body') return new Line(original.indent, leaves);
  if (leaves.length) {
    leaves[0].prefix = '';
    // A lone parameter of a split `def` gets a trailing comma (not a return annotation, which follows `->`).
    if (original.isDef && opening.parent === 'params' && !leaves.some((leaf) => leaf.kind === 'comma')) leaves.push(commaLeaf());
  }
  const body = new Line(original.indent + 4, leaves, true);
  body.shouldSplitRhs = shouldSplitLine(body, opening);
  return body;
}

/**
 * `should_split_line`: a collection literal (an atom) with more than one element is exploded one element
 * per line even when it would fit; call arguments are kept together when they fit ("hugged"). (Black also
 * explodes a body ending in a magic trailing comma; ours never end in one before being split.)
 */
function shouldSplitLine(line: Line, opening: Leaf): boolean {
  return opening.parent === 'atom' && maxPriority(line.delimiters()) === COMMA_PRIORITY;
}

/** `bracket_split_succeeded_or_raise`: an empty body (`def f() -> Any:`) is only worth it before a long enough tail. */
function bracketSplitSucceeded(body: Line, tail: Line): boolean {
  return body.leaves.length > 0 || codePoints(tail.toString().trim()) >= 3;
}

function commaLeaf(): Leaf {
  return { kind: 'comma', value: ',', width: 1, columns: 1, prefix: '', space: '' };
}

/** `can_omit_invisible_parens` (black/lines.py). */
function canOmitInvisibleParens(line: Line): boolean {
  const delimiters = line.delimiters();
  if (delimiters.size === 0) return true;
  const max = maxPriority(delimiters);
  if (countPriority(delimiters, max) > 1) return false; // several delimiters read better inside parentheses
  if (max === DOT_PRIORITY) return true;
  const [first, second] = line.leaves;
  if (first.kind === 'open' && second.kind !== 'close' && canOmitOpeningParen(line, first)) return true;
  const last = line.leaves[line.leaves.length - 1];
  const penultimate = line.leaves[line.leaves.length - 2];
  if (last.kind === 'close' && (last.bracket !== '[' || last.parent !== 'trailer')) {
    if (penultimate.kind === 'open') return false;
    if (canOmitClosingParen(line, last)) return true;
  }
  return false;
}

function canOmitOpeningParen(line: Line, first: Leaf): boolean {
  let remainder = false;
  let length = line.indent;
  for (const leaf of line.leaves) {
    if (leaf.kind === 'close' && leaf.opening === first) remainder = true;
    if (remainder) {
      length += leaf.prefix.length + leaf.width;
      if (length > LINE_LENGTH) return false;
      if (leaf.kind === 'open') remainder = false;
    }
  }
  return true;
}

function canOmitClosingParen(line: Line, last: Leaf): boolean {
  let length = line.indent;
  let seenOtherBrackets = false;
  for (const leaf of line.leaves) {
    length += leaf.prefix.length + leaf.width;
    if (leaf === last.opening) {
      if (seenOtherBrackets || length <= LINE_LENGTH) return true;
    } else if (leaf.kind === 'open') {
      seenOtherBrackets = true;
    }
  }
  return false;
}

/**
 * `can_be_split`. For a line starting with a string and a dot, black's loop never advances its `next`
 * leaf and always reaches the string itself, so it answers False for every such line.
 */
function canBeSplit(line: Line): boolean {
  const [first, second] = line.leaves;
  return line.leaves.length >= 2 && !(first.kind === 'string' && second.kind === 'dot');
}

/** `delimiter_split`: one line per delimiter of the highest priority; a comma-split body gets a trailing comma. */
function delimiterSplit(line: Line): Line[] | null {
  const last = line.leaves.at(-1);
  if (!last) return null;
  const delimiters = line.delimiters();
  const priority = maxPriority(delimiters, last);
  if (!priority) return null;
  if (priority === DOT_PRIORITY && countPriority(delimiters, priority) === 1) return null; // a single attribute access stays
  const groups: Leaf[][] = [[]];
  for (const leaf of line.leaves) {
    groups[groups.length - 1].push(leaf);
    if (delimiters.get(leaf) === priority) groups.push([]);
  }
  if (!groups[groups.length - 1].length) groups.pop();
  const lastGroup = groups[groups.length - 1];
  if (priority === COMMA_PRIORITY && lastGroup[lastGroup.length - 1].kind !== 'comma') lastGroup.push(commaLeaf());
  return groups.map((leaves) => {
    leaves[0].prefix = '';
    return new Line(line.indent, leaves, line.insideBrackets);
  });
}

/** `left_hand_split`, black's split for `def` lines: at the first opening bracket. */
function leftHandSplit(line: Line): Line[] | null {
  const head: Leaf[] = [];
  const body: Leaf[] = [];
  const tail: Leaf[] = [];
  let current = head;
  let matching: Leaf | undefined;
  for (const leaf of line.leaves) {
    if (current === body && matching && leaf.kind === 'close' && leaf.opening === matching) {
      ensureVisible(leaf);
      ensureVisible(matching);
      current = body.length ? tail : head;
    }
    current.push(leaf);
    if (current === head && leaf.kind === 'open') {
      matching = leaf;
      current = body;
    }
  }
  if (!matching) return null;
  const bodyLine = bracketSplitBuildLine(body, line, matching, 'body');
  const tailLine = bracketSplitBuildLine(tail, line, matching, 'tail');
  if (!bracketSplitSucceeded(bodyLine, tailLine)) return null;
  return [bracketSplitBuildLine(head, line, matching, 'head'), bodyLine, tailLine].filter((part) => part.leaves.length > 0);
}
