/**
 * Prints statements exactly as `black` 23.1 (default mode, line length 88) formats them, so that the
 * generated program passes `black --check` unchanged.
 *
 * This is a port of the parts of black's `linegen.py`/`lines.py`/`brackets.py` that our expressions
 * reach: the statement becomes one logical line of leaves (tokens), which is split recursively by
 * `transformLine` with black's own transforms (right-hand split, delimiter split, left-hand split for
 * `def`) and black's own heuristics for omitting optional parentheses. Names of functions follow black's,
 * so a branch can be checked against its source. Black mutates leaves while splitting (it makes invisible
 * parentheses visible, drops the space before the first leaf of a line); we do the same, because later
 * attempts observe those mutations.
 */
import type { PyExpr } from './py-expr';
import { isPythonIdentifier, pythonNumber, pythonString } from './python-literal';

export const LINE_LENGTH = 88;

// Delimiter priorities (black/brackets.py), only those our expressions produce.
const COMMA_PRIORITY = 18;
const LOGIC_PRIORITY = 14;
const COMPARATOR_PRIORITY = 10;
const DOT_PRIORITY = 1;

type Kind =
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

interface Leaf {
  kind: Kind;
  /** '' for an invisible parenthesis until black makes it visible. */
  value: string;
  /** Length of `value` in code points (what Python's len() counts). */
  width: number;
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

class Line {
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

  /** black's `is_line_short_enough`: stops counting once past the limit, so it is cheap on long lines. */
  fits(): boolean {
    let width = this.indent;
    for (const leaf of this.leaves) {
      width += leaf.prefix.length + leaf.width;
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

function maxPriority(delimiters: Map<Leaf, number>, exclude?: Leaf): number {
  let max = 0;
  for (const [leaf, priority] of delimiters) if (leaf !== exclude && priority > max) max = priority;
  return max;
}

function countPriority(delimiters: Map<Leaf, number>, priority: number): number {
  let count = 0;
  for (const value of delimiters.values()) if (value === priority) count++;
  return count;
}

// ---------------------------------------------------------------------------------------------------
// Expressions to leaves

const PRECEDENCE = { or: 1, and: 2, not: 3, compare: 4, atom: 5 } as const;

function precedence(expr: PyExpr): number {
  if (expr.kind === 'boolop') return PRECEDENCE[expr.op];
  if (expr.kind === 'not' || expr.kind === 'compare') return PRECEDENCE[expr.kind];
  return PRECEDENCE.atom;
}

class LeafWriter {
  readonly leaves: Leaf[] = [];
  private readonly open: Leaf[] = [];

  add(kind: Kind, value: string, bracket?: Leaf['bracket'], parent?: Leaf['parent']): Leaf {
    const space = spaceBefore(this.leaves.at(-1), kind, parent);
    const leaf: Leaf = { kind, value, width: codePoints(value), prefix: space, space, bracket, parent };
    if (kind === 'open') this.open.push(leaf);
    if (kind === 'close') leaf.opening = this.open.pop();
    this.leaves.push(leaf);
    return leaf;
  }

  /** `body` between a bracket pair; `visible: false` gives black's invisible parentheses. */
  brackets(bracket: '(' | '[' | '{', parent: 'atom' | 'trailer' | 'params', body: () => void, visible = true): [Leaf, Leaf] {
    const closer = { '(': ')', '[': ']', '{': '}' }[bracket];
    const opening = this.add('open', visible ? bracket : '', bracket, parent);
    body();
    return [opening, this.add('close', visible ? closer : '', bracket, parent)];
  }

  expr(expr: PyExpr): void {
    switch (expr.kind) {
      case 'str':
        this.add('string', pythonString(expr.value));
        break;
      case 'num': {
        // A negative number is a unary minus applied to a literal: two leaves, as in black's tree.
        const text = pythonNumber(expr.value);
        if (text.startsWith('-')) this.add('unary', '-');
        this.add('number', text.replace(/^-/, ''));
        break;
      }
      case 'const':
        this.add('name', expr.value);
        break;
      case 'name':
        this.add('name', expr.id);
        break;
      case 'attr':
        this.base(expr.value, true);
        this.add('dot', '.');
        this.add('name', expr.attr);
        break;
      case 'subscript':
        this.base(expr.value, false);
        this.brackets('[', 'trailer', () => this.expr(expr.index));
        break;
      case 'call':
        this.base(expr.func, false);
        this.brackets('(', 'trailer', () =>
          this.commaSeparated(expr.args, (arg) => {
            if (arg.name !== undefined) {
              this.add('name', arg.name);
              this.add('kwarg', '=');
            }
            this.expr(arg.value);
          }),
        );
        break;
      case 'dict':
        this.brackets('{', 'atom', () =>
          this.commaSeparated(expr.entries, ({ key, value }) => {
            this.expr(key);
            this.add('colon', ':');
            this.expr(value);
          }),
        );
        break;
      case 'list':
        this.brackets('[', 'atom', () => this.commaSeparated(expr.items, (item) => this.expr(item)));
        break;
      case 'compare':
        // Comparison operands are parenthesised when they are comparisons too: never a chained comparison.
        this.operand(expr.left, precedence(expr.left) <= PRECEDENCE.compare);
        this.add('compare', expr.op);
        this.operand(expr.right, precedence(expr.right) <= PRECEDENCE.compare);
        break;
      case 'boolop':
        // A nested boolop of the same operator keeps its parentheses, so the source parses back to the same tree.
        expr.operands.forEach((operand, index) => {
          if (index > 0) this.add('logic', expr.op);
          this.operand(operand, precedence(operand) <= PRECEDENCE[expr.op]);
        });
        break;
      case 'not':
        this.add('name', 'not');
        this.operand(expr.operand, precedence(expr.operand) < PRECEDENCE.not);
        break;
    }
  }

  private operand(expr: PyExpr, parenthesise: boolean): void {
    if (parenthesise) this.brackets('(', 'atom', () => this.expr(expr));
    else this.expr(expr);
  }

  /** The value of an attribute, subscript or call. A number before `.` is always parenthesised: black does so (`(1).real`), and `1.real` is not Python. */
  private base(expr: PyExpr, beforeDot: boolean): void {
    const negative = expr.kind === 'num' && pythonNumber(expr.value).startsWith('-');
    this.operand(expr, precedence(expr) < PRECEDENCE.atom || negative || (beforeDot && expr.kind === 'num'));
  }

  private commaSeparated<T>(items: T[], write: (item: T) => void): void {
    items.forEach((item, index) => {
      if (index > 0) this.add('comma', ',');
      write(item);
    });
  }
}

/** black's `whitespace()` as it applies to our leaves. */
function spaceBefore(previous: Leaf | undefined, kind: Kind, parent?: Leaf['parent']): string {
  if (!previous) return '';
  if (['close', 'comma', 'colon', 'dot', 'kwarg'].includes(kind)) return '';
  if (kind === 'open' && parent !== 'atom') return ''; // call, subscript, def parameters
  if (['open', 'dot', 'kwarg', 'unary'].includes(previous.kind)) return '';
  return ' ';
}

/** Python's len(): code points (pythonString escapes lone surrogates, so a surrogate always pairs). */
function codePoints(text: string): number {
  return text.length - (text.match(/[\uD800-\uDBFF]/g)?.length ?? 0);
}

// ---------------------------------------------------------------------------------------------------
// Public API

/** One-line source of an expression (parentheses added only where precedence needs them). */
export function flatSource(expr: PyExpr): string {
  switch (expr.kind) {
    case 'str':
      return pythonString(expr.value);
    case 'num':
      return pythonNumber(expr.value);
    case 'const':
      return expr.value;
    case 'name':
      return expr.id;
    case 'attr':
      return `${flatBase(expr.value, true)}.${expr.attr}`;
    case 'subscript':
      return `${flatBase(expr.value, false)}[${flatSource(expr.index)}]`;
    case 'call':
      return `${flatBase(expr.func, false)}(${expr.args.map((arg) => (arg.name === undefined ? '' : `${arg.name}=`) + flatSource(arg.value)).join(', ')})`;
    case 'dict':
      return `{${expr.entries.map(({ key, value }) => `${flatSource(key)}: ${flatSource(value)}`).join(', ')}}`;
    case 'list':
      return `[${expr.items.map(flatSource).join(', ')}]`;
    case 'compare':
      return `${flatOperand(expr.left, precedence(expr.left) <= PRECEDENCE.compare)} ${expr.op} ${flatOperand(expr.right, precedence(expr.right) <= PRECEDENCE.compare)}`;
    case 'boolop':
      return expr.operands.map((operand) => flatOperand(operand, precedence(operand) <= PRECEDENCE[expr.op])).join(` ${expr.op} `);
    case 'not':
      return `not ${flatOperand(expr.operand, precedence(expr.operand) < PRECEDENCE.not)}`;
  }
}

// The same parenthesising as LeafWriter.operand and LeafWriter.base, on strings.
function flatOperand(expr: PyExpr, parenthesise: boolean): string {
  return parenthesise ? `(${flatSource(expr)})` : flatSource(expr);
}

function flatBase(expr: PyExpr, beforeDot: boolean): string {
  const negative = expr.kind === 'num' && pythonNumber(expr.value).startsWith('-');
  return flatOperand(expr, precedence(expr) < PRECEDENCE.atom || negative || (beforeDot && expr.kind === 'num'));
}

const STATEMENT_PREFIX = /^(?:(return|if) |([A-Za-z_][A-Za-z0-9_]*) = |)$/;

/**
 * The statement `prefix + expr + suffix` at `indent` spaces, laid out as black lays it out; lines joined
 * by "\n", no trailing newline, first line indented too. Shapes: `return <expr>`, `<name> = <expr>`, a bare
 * expression (prefix ''), `if <expr>:` (prefix 'if ', suffix ':').
 */
export function layoutStatement(indent: number, prefix: string, expr: PyExpr, suffix = ''): string {
  const match = STATEMENT_PREFIX.exec(prefix);
  const keyword = match?.[1];
  const target = match?.[2];
  if (!match || (target !== undefined && !isPythonIdentifier(target)) || suffix !== (keyword === 'if' ? ':' : '')) {
    throw new Error(`Unsupported statement shape: ${JSON.stringify(prefix)} … ${JSON.stringify(suffix)}`);
  }
  // A statement that fits on one line is left as it is by black: no leaves needed.
  const flat = ' '.repeat(indent) + prefix + flatSource(expr) + suffix;
  if (flat.length <= LINE_LENGTH || codePoints(flat) <= LINE_LENGTH) return flat;
  const writer = new LeafWriter();
  let invisible: Leaf[] = [];
  if (keyword) writer.add('name', keyword);
  if (target) {
    writer.add('name', target);
    writer.add('op', '=');
  }
  if (prefix) {
    // black's normalize_invisible_parens: the expression after `return`, `=`, `if` goes in invisible parentheses.
    invisible = writer.brackets('(', 'atom', () => writer.expr(expr), false);
  } else {
    writer.expr(expr); // a bare expression statement gets none (it is never arithmetic, black's one exception)
  }
  if (suffix) writer.add('colon', ':');
  return render(new Line(indent, writer.leaves, false, invisible));
}

/** A function definition header as black formats it: `def name(a: Any, b: Context) -> Any:`. Annotations are dotted names. */
export function layoutDef(indent: number, name: string, params: { name: string; annotation: string }[], returns: string): string {
  for (const identifier of [name, ...params.map((param) => param.name)]) {
    if (!isPythonIdentifier(identifier)) throw new Error(`Not a Python identifier: ${JSON.stringify(identifier)}`);
  }
  // Annotations are single leaves: a dotted name splits nowhere, so black treats it like one.
  for (const annotation of [returns, ...params.map((param) => param.annotation)]) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(annotation)) {
      throw new Error(`Unsupported annotation: ${JSON.stringify(annotation)}`);
    }
  }
  const writer = new LeafWriter();
  writer.add('name', 'def');
  writer.add('name', name);
  writer.brackets('(', 'params', () =>
    params.forEach((param, index) => {
      if (index > 0) writer.add('comma', ',');
      writer.add('name', param.name);
      writer.add('colon', ':');
      writer.add('name', param.annotation);
    }),
  );
  writer.add('op', '->');
  // black's visit_funcdef puts the return annotation in invisible parentheses, which `def f() -> (` splits at.
  writer.brackets('(', 'atom', () => writer.add('name', returns), false);
  writer.add('colon', ':');
  return render(new Line(indent, writer.leaves));
}

function render(line: Line): string {
  return transformLine(line, false).join('\n');
}

// ---------------------------------------------------------------------------------------------------
// black/linegen.py

type Transform = (line: Line, forceOptionalParens: boolean) => Line[] | null;

/** `transform_line`: a line that fits stays; otherwise the first transform that applies, recursively. */
function transformLine(line: Line, forceOptionalParens: boolean): Line[] {
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
  return { kind: 'comma', value: ',', width: 1, prefix: '', space: '' };
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
