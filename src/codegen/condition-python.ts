import type { Binding } from '../graph/bindings';
import type { ConditionNode } from '../graph/condition';
import { jsonToPy, py, type PyExpr } from './python/py-expr';

/** The Python expression of a parsed condition; `resolve` turns each binding into the expression that reads it. */
export function conditionToPy(condition: ConditionNode, resolve: (binding: Binding) => PyExpr): PyExpr {
  const toPy = (node: ConditionNode): PyExpr => {
    switch (node.kind) {
      case 'binding':
        return resolve(node.binding);
      case 'literal':
        return jsonToPy(node.value);
      case 'compare':
        return py.compare(node.op, toPy(node.left), toPy(node.right));
      case 'and':
        return py.and(node.operands.map(toPy));
      case 'or':
        return py.or(node.operands.map(toPy));
      case 'not':
        return py.not(toPy(node.operand));
    }
  };
  return toPy(condition);
}
