/**
 * Prints statements exactly as `black` 26.5.1 (stable style, line length 88) formats them, so that the
 * generated program passes `black --check` unchanged.
 *
 * This is a port of the parts of black's `linegen.py`/`lines.py`/`brackets.py` that our expressions
 * reach: the statement becomes one logical line of leaves (tokens, `layout-leaves.ts`, `layout-line.ts`),
 * which is split recursively by `transformLine` with black's own transforms (right-hand split, delimiter
 * split, left-hand split for `def`) and black's own heuristics for omitting optional parentheses
 * (`layout-split.ts`). Names of functions follow black's, so a branch can be checked against its source.
 * A line fits when its display width (`str-width.ts`) does. Black mutates leaves while splitting (it
 * makes invisible parentheses visible, drops the space before the first leaf of a line); we do the same,
 * because later attempts observe those mutations.
 */
import { flatSource } from './flat-source';
import { LeafWriter } from './layout-leaves';
import { type Leaf, Line, LINE_LENGTH } from './layout-line';
import { transformLine } from './layout-split';
import type { PyExpr } from './py-expr';
import { isPythonIdentifier } from './python-literal';
import { strWidth } from './str-width';

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
  if (strWidth(flat) <= LINE_LENGTH) return flat;
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
