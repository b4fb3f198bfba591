/**
 * The `condition` of an `if` node: a small expression language over bindings, and its Python.
 *
 * condition  := or
 * or         := and ( "or" and )*
 * and        := not ( "and" not )*
 * not        := "not" not | comparison
 * comparison := operand ( ( "==" | "!=" | "<" | "<=" | ">" | ">=" ) operand )?
 * operand    := binding | number | string | "true" | "false" | "null" | "(" or ")"
 *
 * Numbers are JSON numbers; strings are JSON strings in double quotes, or in single quotes with
 * `\'` as one more escape. Comparisons do not chain: `a < b < c` is refused rather than read as
 * Python would read it (`a < b and b < c`), which few authors expect.
 */

import { parseBindingAt, type Binding } from '../workflows/graph/bindings';
import { jsonToPy, py, type CompareOperator, type PyExpr } from './python/py-expr';

export type ConditionNode =
  | { kind: 'binding'; binding: Binding }
  | { kind: 'literal'; value: string | number | boolean | null }
  | { kind: 'compare'; op: CompareOperator; left: ConditionNode; right: ConditionNode }
  /** Flattened: `a and b and c` is one node with three operands. */
  | { kind: 'and' | 'or'; operands: ConditionNode[] }
  | { kind: 'not'; operand: ConditionNode };

export interface ConditionSyntaxError {
  message: string;
  /** Offset into the condition text. */
  offset: number;
}

export function parseCondition(text: string): { ok: true; condition: ConditionNode; bindings: Binding[] } | { ok: false; error: ConditionSyntaxError } {
  const parser = new ConditionParser(text);
  try {
    return { ok: true, condition: parser.parse(), bindings: parser.bindings };
  } catch (error) {
    if (!(error instanceof Failure)) throw error;
    const quoted = `Condition "${truncate(text, 80)}"`;
    if (error.offset === undefined) return { ok: false, error: { message: `${quoted} ${error.detail}.`, offset: 0 } };
    const where = `${quoted} is not valid at character ${error.offset + 1}`;
    const message = error.sentence ? `${where}. ${error.detail}` : `${where}: ${error.detail}.`;
    return { ok: false, error: { message, offset: error.offset } };
  }
}

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

/** Bounds the parser's recursion, so a hostile condition can not exhaust the stack. */
const MAX_DEPTH = 64;
const COMPARE_OPERATORS: readonly string[] = ['==', '!=', '<', '<=', '>', '>='];
const WHITESPACE = /[ \t\n\r]*/y;
const WORD = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
/** What a malformed number spans, to quote it whole. */
const NUMBER_LIKE = /-?(?:[\w.]|(?<=[eE])[+-])*/y;
const OPERATOR = /[=!<>&|]+/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;
const ESCAPES = new Map([
  ['"', '"'],
  ['\\', '\\'],
  ['/', '/'],
  ['b', '\b'],
  ['f', '\f'],
  ['n', '\n'],
  ['r', '\r'],
  ['t', '\t'],
]);

const ESCAPE_FORMS = 'use \\", \\\', \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\u followed by four hexadecimal digits';
const USE_COMPARISON = 'use ==, !=, <, <=, > or >=';
const VALUES = 'a binding such as {{ node.field }}, a number, a "string", true, false, null or a test in parentheses';
const FORMS =
  'a condition is made of bindings such as {{ node.field }}, numbers, "strings", true, false, null, ' +
  'comparisons (==, !=, <, <=, >, >=), and, or, not and parentheses';
const OPERATOR_ADVICE = new Map([
  ['&&', 'write "and"'],
  ['&', 'write "and"'],
  ['||', 'write "or"'],
  ['|', 'write "or"'],
  ['!', 'write "not"'],
  ['=', 'use == to compare'],
  ['===', 'use =='],
  ['!==', 'use !='],
  ['<>', 'use !='],
]);
const WORD_ADVICE = new Map([
  ['true', 'write true in lowercase'],
  ['false', 'write false in lowercase'],
  ['null', 'write null in lowercase'],
  ['none', 'write null'],
  ['nil', 'write null'],
  ['undefined', 'write null'],
  ['and', 'write and in lowercase'],
  ['or', 'write or in lowercase'],
  ['not', 'write not in lowercase'],
  ['is', USE_COMPARISON],
]);

type Token =
  | { type: 'value'; node: ConditionNode; start: number; end: number }
  | { type: 'compare'; op: CompareOperator; start: number; end: number }
  | { type: 'and' | 'or' | 'not' | '(' | ')' | 'end'; start: number; end: number };

class Failure extends Error {
  constructor(
    /** Where the problem is; undefined for a condition that is empty. */
    readonly offset: number | undefined,
    readonly detail: string,
    /** The detail is a whole sentence of its own (a binding's message). */
    readonly sentence = false,
  ) {
    super(detail);
  }
}

/** Recursive descent over tokens read one at a time, so the first problem in the text is the one reported. */
class ConditionParser {
  readonly bindings: Binding[] = [];
  private position = 0;
  private lookahead: Token | undefined;
  private depth = 0;

  constructor(private readonly text: string) {}

  parse(): ConditionNode {
    if (this.peek().type === 'end') throw new Failure(undefined, 'is empty; write a test such as {{ node.score }} > 10, {{ inputs.flag }} or true');
    const condition = this.parseOr();
    const token = this.next();
    if (token.type === ')') throw new Failure(token.start, 'unexpected ")" without a matching "("');
    if (token.type !== 'end') {
      const advice = `join tests with and or or, and ${USE_COMPARISON} to compare values`;
      throw new Failure(token.start, `unexpected ${this.describe(token)} after a complete test; ${advice}`);
    }
    return condition;
  }

  private parseOr(): ConditionNode {
    return this.parseChain('or', () => this.parseAnd());
  }

  private parseAnd(): ConditionNode {
    return this.parseChain('and', () => this.parseNot());
  }

  private parseChain(kind: 'and' | 'or', parseOperand: () => ConditionNode): ConditionNode {
    const operands = [parseOperand()];
    while (this.peek().type === kind) {
      this.next();
      operands.push(parseOperand());
    }
    return operands.length === 1 ? operands[0] : { kind, operands };
  }

  private parseNot(): ConditionNode {
    if (this.peek().type !== 'not') return this.parseComparison();
    return this.nested(this.next(), () => ({ kind: 'not', operand: this.parseNot() }));
  }

  private parseComparison(): ConditionNode {
    const left = this.parseOperand();
    const operator = this.peek();
    if (operator.type !== 'compare') return left;
    this.next();
    const right = this.parseOperand();
    const chained = this.peek();
    if (chained.type === 'compare') {
      const advice = 'join them with and, as in {{ a.x }} > 1 and {{ a.x }} < 5';
      throw new Failure(chained.start, `unexpected "${chained.op}": comparisons can not be chained; ${advice}`);
    }
    return { kind: 'compare', op: operator.op, left, right };
  }

  private parseOperand(): ConditionNode {
    const token = this.next();
    if (token.type === 'value') return token.node;
    if (token.type === 'not') {
      throw new Failure(token.start, 'expected a value but found "not"; put not before a whole test, as in not ({{ a.x }} == 1)');
    }
    if (token.type !== '(') throw new Failure(token.start, `expected a value but found ${this.describe(token)}; write ${VALUES}`);
    return this.nested(token, () => {
      const inner = this.parseOr();
      const close = this.next();
      if (close.type !== ')') {
        throw new Failure(close.start, `expected ")" to close the "(" at character ${token.start + 1} but found ${this.describe(close)}`);
      }
      return inner;
    });
  }

  /** Parses what an opening `(` or `not` governs, one level deeper. */
  private nested(opener: Token, parse: () => ConditionNode): ConditionNode {
    if (++this.depth > MAX_DEPTH) throw new Failure(opener.start, `it nests deeper than ${MAX_DEPTH} levels of parentheses and not`);
    const node = parse();
    this.depth--;
    return node;
  }

  private peek(): Token {
    return (this.lookahead ??= this.readToken());
  }

  private next(): Token {
    const token = this.peek();
    this.lookahead = undefined;
    return token;
  }

  private readToken(): Token {
    const start = this.position + this.matchAt(WHITESPACE, this.position)!.length;
    const token = this.scan(start);
    this.position = token.end;
    return token;
  }

  private scan(start: number): Token {
    const char = this.text[start];
    if (char === undefined) return { type: 'end', start, end: start };
    if (char === '(' || char === ')') return { type: char, start, end: start + 1 };
    if (this.text.startsWith('{{', start)) return this.scanBinding(start);
    if (char === '"' || char === "'") return this.scanString(start, char);
    if (char === '-' || (char >= '0' && char <= '9')) return this.scanNumber(start);
    const word = this.matchAt(WORD, start);
    if (word !== undefined) return this.scanWord(start, word);
    const operator = this.matchAt(OPERATOR, start);
    if (operator !== undefined) {
      const end = start + operator.length;
      if (COMPARE_OPERATORS.includes(operator)) return { type: 'compare', op: operator as CompareOperator, start, end };
      throw new Failure(start, `unexpected "${operator}"; ${OPERATOR_ADVICE.get(operator) ?? USE_COMPARISON}`);
    }
    const found = String.fromCodePoint(this.text.codePointAt(start)!);
    throw new Failure(start, `unexpected "${found}"; ${char === '{' ? 'write bindings with double braces, as in {{ node.field }}' : FORMS}`);
  }

  private scanBinding(start: number): Token {
    const binding = parseBindingAt(this.text, start);
    if (!('root' in binding)) throw new Failure(start, binding.message, true);
    this.bindings.push(binding);
    return { type: 'value', node: { kind: 'binding', binding }, start, end: binding.end };
  }

  private scanWord(start: number, word: string): Token {
    const end = start + word.length;
    switch (word) {
      case 'and':
      case 'or':
      case 'not':
        return { type: word, start, end };
      case 'true':
      case 'false':
        return this.literal(word === 'true', start, end);
      case 'null':
        return this.literal(null, start, end);
    }
    const found = truncate(word, 30);
    const advice = WORD_ADVICE.get(word.toLowerCase()) ?? `quote text, as in "${found}", and read values with bindings such as {{ node.field }}`;
    throw new Failure(start, `unexpected "${found}"; ${advice}`);
  }

  private scanNumber(start: number): Token {
    const lexeme = this.matchAt(NUMBER, start);
    const end = start + (lexeme?.length ?? 0);
    // `01`, `1.`, `1abc`: a number must end where its digits do.
    if (lexeme === undefined || /[\w.]/.test(this.text[end] ?? '')) {
      const found = truncate(this.matchAt(NUMBER_LIKE, start)!, 30);
      throw new Failure(start, `"${found}" is not a number; write numbers such as 10, -2.5 or 1e6`);
    }
    const value = Number(lexeme);
    if (!Number.isFinite(value)) throw new Failure(start, `the number ${truncate(lexeme, 30)} is too large`);
    return this.literal(value, start, end);
  }

  private scanString(start: number, quote: '"' | "'"): Token {
    let value = '';
    let position = start + 1;
    for (let char = this.text[position]; char !== quote; char = this.text[position]) {
      if (char === undefined) {
        throw new Failure(start, `the string that starts here never ends; close it with a ${quote === '"' ? 'double' : 'single'} quote`);
      }
      if (char < ' ') {
        throw new Failure(position, 'a string can not hold line breaks, tabs or other control characters as they are; write \\n, \\r or \\t');
      }
      if (char === '\\' && position + 1 < this.text.length) {
        const [decoded, length] = this.unescape(position, quote);
        value += decoded;
        position += length;
      } else {
        value += char;
        position++;
      }
    }
    return this.literal(value, start, position + 1);
  }

  /** What the escape whose backslash is at `position` stands for, and its length. */
  private unescape(position: number, quote: string): [string, number] {
    const escape = this.text[position + 1];
    if (escape === 'u') {
      const hex = this.text.slice(position + 2, position + 6);
      if (HEX4.test(hex)) return [String.fromCharCode(parseInt(hex, 16)), 6];
      throw new Failure(position, `a string holds a \\u that is not followed by four hexadecimal digits; ${ESCAPE_FORMS}`);
    }
    const decoded = escape === "'" && quote === "'" ? "'" : ESCAPES.get(escape);
    if (decoded === undefined) throw new Failure(position, `a string holds the unknown escape "\\${escape}"; ${ESCAPE_FORMS}`);
    return [decoded, 2];
  }

  private literal(value: string | number | boolean | null, start: number, end: number): Token {
    return { type: 'value', node: { kind: 'literal', value }, start, end };
  }

  /** Consumes nothing: what the sticky `pattern` matches at `position`. */
  private matchAt(pattern: RegExp, position: number): string | undefined {
    pattern.lastIndex = position;
    return pattern.exec(this.text)?.[0];
  }

  private describe(token: Token): string {
    return token.type === 'end' ? 'the end of the condition' : `"${truncate(this.text.slice(token.start, token.end), 30)}"`;
  }
}

/** `text`, cut to about `max` characters with an ellipsis (never through a surrogate pair). */
function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1).replace(/[\uD800-\uDBFF]$/, '')}…`;
}
