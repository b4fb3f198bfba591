import { precedence, PRECEDENCE, type PyExpr } from './py-expr';
import { pythonNumber, pythonString } from './python-literal';

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
