import { precedence, PRECEDENCE, type PyExpr } from './py-expr';
import { codePoints, type Kind, type Leaf } from './layout-line';
import { pythonNumber, pythonString } from './python-literal';
import { strWidth } from './str-width';

/** An expression as black's leaves: its tokens in order, brackets paired, whitespace as black's `whitespace()` puts it. */
export class LeafWriter {
  readonly leaves: Leaf[] = [];
  private readonly open: Leaf[] = [];

  add(kind: Kind, value: string, bracket?: Leaf['bracket'], parent?: Leaf['parent']): Leaf {
    const space = spaceBefore(this.leaves.at(-1), kind, parent);
    const leaf: Leaf = { kind, value, width: codePoints(value), columns: strWidth(value), prefix: space, space, bracket, parent };
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
