/**
 * Python expressions as a tree. The compiler builds these from node settings (JSON values whose
 * strings may hold bindings) and from `if` conditions; `layout.ts` prints them the way `black`
 * would, and every literal inside reaches the source through `python-literal.ts`.
 */

export type CompareOperator = '==' | '!=' | '<' | '<=' | '>' | '>=';

export type PyExpr =
  /** A str literal holding exactly `value`. */
  | { kind: 'str'; value: string }
  /** An int or float literal; `value` is finite. */
  | { kind: 'num'; value: number }
  | { kind: 'const'; value: 'True' | 'False' | 'None' }
  /** A name the compiler allocated or a helper's name: always a valid Python identifier. */
  | { kind: 'name'; id: string }
  | { kind: 'attr'; value: PyExpr; attr: string }
  | { kind: 'subscript'; value: PyExpr; index: PyExpr }
  | { kind: 'call'; func: PyExpr; args: PyArg[] }
  | { kind: 'dict'; entries: { key: PyExpr; value: PyExpr }[] }
  | { kind: 'list'; items: PyExpr[] }
  | { kind: 'compare'; op: CompareOperator; left: PyExpr; right: PyExpr }
  /** `a and b and c` / `a or b`: two or more operands. */
  | { kind: 'boolop'; op: 'and' | 'or'; operands: PyExpr[] }
  | { kind: 'not'; operand: PyExpr };

/** A positional (`name` absent) or keyword argument of a call. */
export interface PyArg {
  name?: string;
  value: PyExpr;
}

export const py = {
  str: (value: string): PyExpr => ({ kind: 'str', value }),
  num: (value: number): PyExpr => ({ kind: 'num', value }),
  none: { kind: 'const', value: 'None' } as PyExpr,
  bool: (value: boolean): PyExpr => ({ kind: 'const', value: value ? 'True' : 'False' }),
  name: (id: string): PyExpr => ({ kind: 'name', id }),
  attr: (value: PyExpr, attr: string): PyExpr => ({ kind: 'attr', value, attr }),
  subscript: (value: PyExpr, index: PyExpr): PyExpr => ({ kind: 'subscript', value, index }),
  call: (func: PyExpr | string, args: (PyExpr | PyArg)[] = []): PyExpr => ({
    kind: 'call',
    func: typeof func === 'string' ? { kind: 'name', id: func } : func,
    args: args.map((arg) => ('kind' in arg ? { value: arg } : arg)),
  }),
  dict: (entries: { key: PyExpr; value: PyExpr }[]): PyExpr => ({ kind: 'dict', entries }),
  list: (items: PyExpr[]): PyExpr => ({ kind: 'list', items }),
  compare: (op: CompareOperator, left: PyExpr, right: PyExpr): PyExpr => ({ kind: 'compare', op, left, right }),
  and: (operands: PyExpr[]): PyExpr => (operands.length === 1 ? operands[0] : { kind: 'boolop', op: 'and', operands }),
  or: (operands: PyExpr[]): PyExpr => (operands.length === 1 ? operands[0] : { kind: 'boolop', op: 'or', operands }),
  not: (operand: PyExpr): PyExpr => ({ kind: 'not', operand }),
};

/** A JSON value (as parsed from a workflow) as the Python expression that builds it. */
export function jsonToPy(value: unknown): PyExpr {
  if (value === null || value === undefined) return py.none;
  switch (typeof value) {
    case 'string':
      return py.str(value);
    case 'number':
      return py.num(value);
    case 'boolean':
      return py.bool(value);
    case 'object':
      return Array.isArray(value)
        ? py.list(value.map(jsonToPy))
        : py.dict(Object.entries(value as Record<string, unknown>).map(([key, item]) => ({ key: py.str(key), value: jsonToPy(item) })));
    default:
      throw new TypeError(`A ${typeof value} is not a JSON value`);
  }
}

/** Adds every name `expr` reads (`text` in `text(x["a"])`, `os` in `os.environ.get(…)`) to `into`. */
export function collectNames(expr: PyExpr, into: Set<string>): void {
  switch (expr.kind) {
    case 'name':
      into.add(expr.id);
      break;
    case 'attr':
      collectNames(expr.value, into);
      break;
    case 'subscript':
      collectNames(expr.value, into);
      collectNames(expr.index, into);
      break;
    case 'call':
      collectNames(expr.func, into);
      expr.args.forEach((arg) => collectNames(arg.value, into));
      break;
    case 'dict':
      expr.entries.forEach(({ key, value }) => (collectNames(key, into), collectNames(value, into)));
      break;
    case 'list':
      expr.items.forEach((item) => collectNames(item, into));
      break;
    case 'compare':
      collectNames(expr.left, into);
      collectNames(expr.right, into);
      break;
    case 'boolop':
      expr.operands.forEach((operand) => collectNames(operand, into));
      break;
    case 'not':
      collectNames(expr.operand, into);
      break;
  }
}

/** Binding strength of an expression's top operator (atoms bind tightest): where parentheses are needed. */
export const PRECEDENCE = { or: 1, and: 2, not: 3, compare: 4, atom: 5 } as const;

export function precedence(expr: PyExpr): number {
  if (expr.kind === 'boolop') return PRECEDENCE[expr.op];
  if (expr.kind === 'not' || expr.kind === 'compare') return PRECEDENCE[expr.kind];
  return PRECEDENCE.atom;
}
