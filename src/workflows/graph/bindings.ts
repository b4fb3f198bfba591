/**
 * Bindings: `{{ path }}` inside any string of a node's settings. One parser serves validation and
 * code generation.
 *
 * path  := head ( "." ident | "[" integer "]" | "[" json-string "]" )*
 * head  := a node id (its whole output) | "inputs" (the execute inputs) | "env" "." NAME
 * ident := [A-Za-z_][A-Za-z0-9_]*
 */

export const INPUTS_NAMESPACE = 'inputs';
export const ENV_NAMESPACE = 'env';

/** A field name (`.name`, `["name"]`) or a list index (`[0]`). */
export type BindingSegment = string | number;

export type BindingRoot =
  | { kind: 'node'; nodeId: string }
  | { kind: 'inputs' }
  | { kind: 'env'; name: string };

export interface Binding {
  /** The binding as written, braces included, e.g. `{{ trigger.name }}`. */
  raw: string;
  /** Offset of its `{{` in the string. */
  start: number;
  /** Offset just past its `}}`. */
  end: number;
  root: BindingRoot;
  /** The accessors after the root: `{{ llm.choices[0]["text"] }}` has `["choices", 0, "text"]`. */
  path: BindingSegment[];
}

export interface BindingSyntaxError {
  /** The malformed text from its `{{` through the next `}}`, or to the end of the string when there is none. */
  raw: string;
  start: number;
  end: number;
  /** A sentence naming the binding and what is wrong with it. */
  message: string;
}

export interface ParsedBindings {
  bindings: Binding[];
  errors: BindingSyntaxError[];
}

/** Where a binding sits in a JSON value: a JSON pointer to its string, e.g. `/value/result`. */
export interface Located {
  pointer: string;
}

export interface FoundBindings {
  bindings: (Binding & Located)[];
  errors: (BindingSyntaxError & Located)[];
}

const OPEN = '{{';
const CLOSE = '}}';
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const BINDING_EXAMPLES = '{{ node.field }}, {{ node.items[0] }}, {{ inputs.name }} or {{ env.NAME }}';

/** Every binding of one string, in order, and every malformed one. */
export function parseBindings(text: string): ParsedBindings {
  const result: ParsedBindings = { bindings: [], errors: [] };
  let start = text.indexOf(OPEN);
  while (start !== -1) {
    const parsed = new PathParser(text, start + OPEN.length).parse();
    if (parsed.ok) {
      const raw = text.slice(start, parsed.end);
      const root = toRoot(parsed.segments);
      if (typeof root === 'string') {
        result.errors.push({ raw, start, end: parsed.end, message: `Binding "${raw}" is not valid: ${root}.` });
      } else {
        result.bindings.push({ raw, start, end: parsed.end, root, path: root.kind === 'env' ? [] : parsed.segments.slice(1) });
      }
      start = text.indexOf(OPEN, parsed.end);
      continue;
    }
    const close = text.indexOf(CLOSE, start + OPEN.length);
    if (close === -1) {
      const raw = text.slice(start);
      result.errors.push({ raw, start, end: text.length, message: `Binding "${raw}" opens with "{{" but never closes with "}}".` });
      break;
    }
    const end = close + CLOSE.length;
    const raw = text.slice(start, end);
    result.errors.push({ raw, start, end, message: `Binding "${raw}" is not valid: ${parsed.reason}. Write a path such as ${BINDING_EXAMPLES}.` });
    start = text.indexOf(OPEN, end);
  }
  return result;
}

/** Every binding in every string of a JSON value (object keys are not scanned), in document order. */
export function findBindings(value: unknown): FoundBindings {
  const found: FoundBindings = { bindings: [], errors: [] };
  const stack: { value: unknown; pointer: string }[] = [{ value, pointer: '' }];
  while (stack.length > 0) {
    const { value: current, pointer } = stack.pop()!;
    if (typeof current === 'string') {
      const { bindings, errors } = parseBindings(current);
      for (const binding of bindings) found.bindings.push({ ...binding, pointer });
      for (const error of errors) found.errors.push({ ...error, pointer });
    } else if (current !== null && typeof current === 'object') {
      const children = Array.isArray(current) ? current.map((child, index) => [String(index), child] as const) : Object.entries(current);
      for (let index = children.length - 1; index >= 0; index--) {
        const [key, child] = children[index];
        stack.push({ value: child, pointer: `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}` });
      }
    }
  }
  return found;
}

function toRoot(segments: BindingSegment[]): BindingRoot | string {
  const [head, ...rest] = segments as [string, ...BindingSegment[]];
  if (head === INPUTS_NAMESPACE) return { kind: 'inputs' };
  if (head !== ENV_NAMESPACE) return { kind: 'node', nodeId: head };
  const [name] = rest;
  if (rest.length !== 1 || typeof name !== 'string' || !ENV_NAME.test(name)) {
    return '"env" must be followed by exactly one variable name, as in {{ env.NAME }}';
  }
  return { kind: 'env', name };
}

type ParseResult = { ok: true; segments: BindingSegment[]; end: number } | { ok: false; reason: string };

/** Reads ` path }}` from `position`, just past a `{{`. */
class PathParser {
  private readonly segments: BindingSegment[] = [];
  private pathStart = 0;

  constructor(
    private readonly text: string,
    private position: number,
  ) {}

  parse(): ParseResult {
    this.skipWhitespace();
    this.pathStart = this.position;
    if (this.text.startsWith(CLOSE, this.position)) return { ok: false, reason: 'it is empty' };
    const head = this.readIdentifier();
    if (head === undefined) return { ok: false, reason: `it must start with a node id, "inputs" or "env", not ${this.describeNext()}` };
    this.segments.push(head);
    for (let char = this.text[this.position]; char === '.' || char === '['; char = this.text[this.position]) {
      const failure = char === '.' ? this.readField() : this.readBracket();
      if (failure !== undefined) return { ok: false, reason: failure };
    }
    const path = this.consumedPath();
    this.skipWhitespace();
    if (!this.text.startsWith(CLOSE, this.position)) return { ok: false, reason: `unexpected ${this.describeNext()} after "${path}"` };
    return { ok: true, segments: this.segments, end: this.position + CLOSE.length };
  }

  private readField(): string | undefined {
    this.position++;
    const name = this.readIdentifier();
    if (name === undefined) return `expected a field name after "${this.consumedPath()}", found ${this.describeNext()}`;
    this.segments.push(name);
    return undefined;
  }

  private readBracket(): string | undefined {
    this.position++;
    const pathBefore = this.consumedPath();
    const char = this.text[this.position];
    if (char === '"') {
      const key = this.readStringLiteral();
      if (key === undefined) return `the quoted key after "${pathBefore}" is not a valid JSON string`;
      this.segments.push(key);
    } else if (char !== undefined && isDigit(char)) {
      const digits = this.readWhile(isDigit);
      const index = Number(digits);
      if (!Number.isSafeInteger(index)) return `the index [${digits}] is too large`;
      this.segments.push(index);
    } else {
      return `expected an index or a quoted key after "${pathBefore}", found ${this.describeNext()}`;
    }
    if (this.text[this.position] !== ']') return `expected "]" after "${this.consumedPath()}", found ${this.describeNext()}`;
    this.position++;
    return undefined;
  }

  private readIdentifier(): string | undefined {
    const char = this.text[this.position];
    if (char === undefined || !isIdentifierStart(char)) return undefined;
    return this.readWhile(isIdentifierPart);
  }

  private readStringLiteral(): string | undefined {
    const start = this.position;
    let position = start + 1;
    while (position < this.text.length && this.text[position] !== '"') {
      position += this.text[position] === '\\' ? 2 : 1;
    }
    if (position >= this.text.length) return undefined;
    this.position = position + 1;
    try {
      return JSON.parse(this.text.slice(start, this.position)) as string;
    } catch {
      return undefined;
    }
  }

  private readWhile(accept: (char: string) => boolean): string {
    const start = this.position;
    while (this.position < this.text.length && accept(this.text[this.position])) this.position++;
    return this.text.slice(start, this.position);
  }

  private skipWhitespace(): void {
    this.readWhile((char) => /\s/.test(char));
  }

  private consumedPath(): string {
    return this.text.slice(this.pathStart, this.position);
  }

  private describeNext(): string {
    const char = this.text[this.position];
    if (char === undefined) return 'the end of the text';
    if (this.text.startsWith(CLOSE, this.position)) return '"}}"';
    return /\s/.test(char) ? 'a space' : `"${char}"`;
  }
}

function isDigit(char: string): boolean {
  return char >= '0' && char <= '9';
}

function isIdentifierStart(char: string): boolean {
  return (char >= 'a' && char <= 'z') || (char >= 'A' && char <= 'Z') || char === '_';
}

function isIdentifierPart(char: string): boolean {
  return isIdentifierStart(char) || isDigit(char);
}
