import type { Literal } from '../branch-conditions';
import type { PyExpr } from '../python/py-expr';
import type { NodeRole } from './program-plan';

/** A statement of run() while it is planned: blocks still grow, an `if` may still get its `else:`. */
export type PlannedStatement<N extends { role: NodeRole }> =
  | { kind: 'node'; node: N; call: PyExpr }
  | { kind: 'return-empty' }
  | { kind: 'if'; test: PyExpr; body: PlannedStatement<N>[]; orelse?: PlannedStatement<N>[]; literal?: Literal };

/** A list of statements of run(), and the branch results known at its end (from guards such as `if not c: return`). */
export interface Block<N extends { role: NodeRole }> {
  statements: PlannedStatement<N>[];
  /** Literals (as literalCode) known from the statements before `scanned`. */
  known: Set<number>;
  scanned: number;
}

export interface OpenBlock<N extends { role: NodeRole }> {
  key: string;
  block: Block<N>;
}

export function newBlock<N extends { role: NodeRole }>(statements: PlannedStatement<N>[] = []): Block<N> {
  return { statements, known: new Set(), scanned: 0 };
}

/** Whether a block's last statement always leaves run(): a return, or an if/else whose both sides do. */
export function endsFlow(block: readonly PlannedStatement<{ role: NodeRole }>[]): boolean {
  const last = block[block.length - 1];
  if (last === undefined) return false;
  if (last.kind === 'if') return last.orelse !== undefined && endsFlow(last.body) && endsFlow(last.orelse);
  return last.kind === 'return-empty' || (last.kind === 'node' && last.node.role === 'return');
}

/**
 * Whether the branch result `code` is known at the end of `block`: an `if` on one branch result
 * where one side always returns tells the code after it that the other side was taken. The last
 * statement is looked at afresh each time (it may still get an `else:`); the others once.
 */
export function knows(block: Block<{ role: NodeRole }>, code: number): boolean {
  const { statements } = block;
  for (; block.scanned < statements.length - 1; block.scanned++) learn(statements[block.scanned], block.known);
  if (block.known.has(code)) return true;
  const last = statements[statements.length - 1];
  if (last === undefined) return false;
  const fromLast = new Set<number>();
  learn(last, fromLast);
  return fromLast.has(code);
}

function learn(statement: PlannedStatement<{ role: NodeRole }>, known: Set<number>): void {
  if (statement.kind !== 'if' || statement.literal === undefined) return;
  const bodyEnds = endsFlow(statement.body);
  const elseEnds = statement.orelse !== undefined && endsFlow(statement.orelse);
  if (bodyEnds && !elseEnds) known.add(literalCode({ ...statement.literal, value: !statement.literal.value }));
  if (elseEnds && !bodyEnds) known.add(literalCode(statement.literal));
}

export function literalKey(literal: Literal): string {
  return `${literal.value ? '' : '!'}${literal.branch}`;
}

/** A literal as a number, for the sets of known literals. */
export function literalCode(literal: Literal): number {
  return literal.branch * 2 + (literal.value ? 1 : 0);
}
