/**
 * Bindings: `{{ path }}` inside any string of a node's settings. One parser serves validation and
 * code generation.
 *
 * binding := "{{" ( path | json-string ) "}}"
 * path    := head ( "." ident | "[" integer "]" | "[" json-string "]" )*
 * head    := a node id (its whole output) | "inputs" (the execute inputs) | "env" "." NAME
 * ident   := [A-Za-z_][A-Za-z0-9_]*
 *
 * A binding that holds a JSON string, `{{ "{{" }}`, stands for that text: the way to write a
 * literal `{{` in a setting that takes bindings.
 */

export const INPUTS_NAMESPACE = 'inputs';
export const ENV_NAMESPACE = 'env';

/** A field name (`.name`, `["name"]`) or a list index (`[0]`). */
export type BindingSegment = string | number;

export type BindingRoot =
  | { kind: 'node'; nodeId: string }
  | { kind: 'inputs' }
  | { kind: 'env'; name: string }
  /** `{{ "text" }}`: the text itself (how a setting spells a literal `{{`). */
  | { kind: 'literal'; text: string };

export interface Binding {
  /** The binding as written, braces included, e.g. `{{ trigger.name }}`. */
  raw: string;
  /** Offset of its `{{` in the string. */
  start: number;
  /** Offset just past its `}}`. */
  end: number;
  root: BindingRoot;
  /** The accessors after the root: `{{ llm.choices[0]["text"] }}` has `["choices", 0, "text"]`; empty for a literal. */
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
  /** `expression` marks an error of a condition setting rather than of one binding. */
  errors: (BindingSyntaxError & Located & { expression?: true })[];
}

const OPEN = '{{';
const CLOSE = '}}';
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const IDENTIFIER = /[A-Za-z_][A-Za-z0-9_]*/y;
const DIGITS = /[0-9]+/y;
const STRING_LITERAL = /"(?:[^"\\]|\\[\s\S])*"/y;
const WHITESPACE = /[ \t\n\r]*/y;
const WHITESPACE_CHAR = /^[ \t\n\r]$/;
const BINDING_EXAMPLES = '{{ node.field }}, {{ node.items[0] }}, {{ inputs.name }} or {{ env.NAME }}';

/** Every binding of one string, in order, and every malformed one. */
export function parseBindings(text: string): ParsedBindings {
  const result: ParsedBindings = { bindings: [], errors: [] };
  let start = text.indexOf(OPEN);
  while (start !== -1) {
    const parsed = parseBindingAt(text, start);
    if ('root' in parsed) result.bindings.push(parsed);
    else result.errors.push(parsed);
    start = text.indexOf(OPEN, parsed.end);
  }
  return result;
}

/**
 * The binding whose `{{` is at `start`, or what is wrong with it. A malformed binding ends at the
 * next `}}` (or at the end of the text when there is none), so a scan can go on after it.
 */
export function parseBindingAt(text: string, start: number): Binding | BindingSyntaxError {
  const parsed = new PathParser(text, start + OPEN.length).parse();
  if (parsed.ok) {
    const raw = text.slice(start, parsed.end);
    const reference = typeof parsed.head === 'string' ? toReference(parsed.head, parsed.accessors) : { root: parsed.head, path: [] };
    if ('problem' in reference) return { raw, start, end: parsed.end, message: `Binding "${raw}" is not valid: ${reference.problem}.` };
    return { raw, start, end: parsed.end, ...reference };
  }
  const close = text.indexOf(CLOSE, start + OPEN.length);
  if (close === -1) {
    const raw = text.slice(start);
    return { raw, start, end: text.length, message: `Binding "${raw}" opens with "{{" but never closes with "}}".` };
  }
  const end = close + CLOSE.length;
  const raw = text.slice(start, end);
  return { raw, start, end, message: `Binding "${raw}" is not valid: ${parsed.reason}. Write a path such as ${BINDING_EXAMPLES}.` };
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

function toReference(head: string, accessors: BindingSegment[]): Pick<Binding, 'root' | 'path'> | { problem: string } {
  if (head === INPUTS_NAMESPACE) return { root: { kind: 'inputs' }, path: accessors };
  if (head !== ENV_NAMESPACE) return { root: { kind: 'node', nodeId: head }, path: accessors };
  const [name] = accessors;
  if (accessors.length !== 1 || typeof name !== 'string' || !ENV_NAME.test(name)) {
    return { problem: '"env" must be followed by exactly one variable name, as in {{ env.NAME }}' };
  }
  return { root: { kind: 'env', name }, path: [] };
}

type ParseResult =
  { ok: true; head: string | Extract<BindingRoot, { kind: 'literal' }>; accessors: BindingSegment[]; end: number } | { ok: false; reason: string };

/** Reads ` path }}` from `position`, just past a `{{`. */
class PathParser {
  private readonly accessors: BindingSegment[] = [];
  private pathStart = 0;

  constructor(
    private readonly text: string,
    private position: number,
  ) {}

  parse(): ParseResult {
    this.skipWhitespace();
    this.pathStart = this.position;
    if (this.text.startsWith(CLOSE, this.position)) return { ok: false, reason: 'it is empty' };
    if (this.text[this.position] === '"') return this.parseLiteral();
    const head = this.readIdentifier();
    if (head === undefined) return { ok: false, reason: `it must start with a node id, "inputs" or "env", not ${this.describeNext()}` };
    for (let char = this.text[this.position]; char === '.' || char === '['; char = this.text[this.position]) {
      const failure = char === '.' ? this.readField() : this.readBracket();
      if (failure !== undefined) return { ok: false, reason: failure };
    }
    const path = this.consumedPath();
    this.skipWhitespace();
    if (!this.text.startsWith(CLOSE, this.position)) return { ok: false, reason: `unexpected ${this.describeNext()} after "${path}"` };
    return { ok: true, head, accessors: this.accessors, end: this.position + CLOSE.length };
  }

  private parseLiteral(): ParseResult {
    const text = this.readStringLiteral();
    if (text === undefined) return { ok: false, reason: 'the quoted text is not a valid JSON string' };
    this.skipWhitespace();
    if (!this.text.startsWith(CLOSE, this.position)) return { ok: false, reason: `unexpected ${this.describeNext()} after the quoted text` };
    return { ok: true, head: { kind: 'literal', text }, accessors: [], end: this.position + CLOSE.length };
  }

  private readField(): string | undefined {
    this.position++;
    const name = this.readIdentifier();
    if (name === undefined) return `expected a field name after "${this.consumedPath()}", found ${this.describeNext()}`;
    this.accessors.push(name);
    return undefined;
  }

  private readBracket(): string | undefined {
    this.position++;
    const pathBefore = this.consumedPath();
    if (this.text[this.position] === '"') {
      const key = this.readStringLiteral();
      if (key === undefined) return `the quoted key after "${pathBefore}" is not a valid JSON string`;
      this.accessors.push(key);
    } else {
      const digits = this.read(DIGITS);
      if (digits === undefined) return `expected an index or a quoted key after "${pathBefore}", found ${this.describeNext()}`;
      const index = Number(digits);
      if (!Number.isSafeInteger(index)) return `the index [${digits}] is too large`;
      this.accessors.push(index);
    }
    if (this.text[this.position] !== ']') return `expected "]" after "${this.consumedPath()}", found ${this.describeNext()}`;
    this.position++;
    return undefined;
  }

  private readIdentifier(): string | undefined {
    return this.read(IDENTIFIER);
  }

  private readStringLiteral(): string | undefined {
    const literal = this.read(STRING_LITERAL);
    if (literal === undefined) return undefined;
    try {
      return JSON.parse(literal) as string;
    } catch {
      return undefined;
    }
  }

  private skipWhitespace(): void {
    this.read(WHITESPACE);
  }

  /** Consumes what the sticky `pattern` matches at the current position. */
  private read(pattern: RegExp): string | undefined {
    pattern.lastIndex = this.position;
    const match = pattern.exec(this.text);
    if (match === null) return undefined;
    this.position = pattern.lastIndex;
    return match[0];
  }

  private consumedPath(): string {
    return this.text.slice(this.pathStart, this.position);
  }

  private describeNext(): string {
    const char = this.text[this.position];
    if (char === undefined) return 'the end of the text';
    if (this.text.startsWith(CLOSE, this.position)) return '"}}"';
    return WHITESPACE_CHAR.test(char) ? 'a space' : `"${char}"`;
  }
}
