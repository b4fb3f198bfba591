import { spawn, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import * as fc from 'fast-check';
import type { CompileInput, GeneratedFiles, WorkflowCompiler } from '../../src/codegen/workflow-compiler';
import type { WorkflowEdgeInput, WorkflowNodeInput } from '../../src/workflows/graph/graph.types';
import { shippedCompiler } from '../support/compiler';
import { PYTHON, type ProgramRun, runProgram, runTool, testVenv, writeProgram } from '../support/python';

/**
 * "A property test puts arbitrary unicode strings — quotes, backslashes, newlines, `"""`, `{{`, `}}`,
 * control characters — into every string setting of every node type and checks that the program
 * compiles and the value comes out of the run byte-for-byte", and "no setting can inject code, break
 * out of a string, or change another node's behaviour".
 *
 * Each property builds whole workflows around its values (many values per program, so there are few
 * Python processes), compiles them with the shipped compiler, checks each program's structure with
 * Python's own parser (one docstring, one `return` per node function, the node ids of the workflow),
 * runs it, and compares what comes out (the run's output, or what a loopback server received) with
 * the values put in. All programs are checked with black and pyflakes at the end.
 *
 * Fixed seed: FC_SEED=<n> replays another one; the seed is printed when the suite starts.
 */

const SEED = Number(process.env.FC_SEED ?? 20_251_128);
/** Runs per property: 44 programs in all (two more in the example tests), about 20 s of Python. */
const RUNS = { values: 12, conditions: 8, http: 8, openai: 4, ids: 12 };
/** Past this, a failing property stops shrinking and reports the smallest counterexample found so far. */
const SHRINK_BUDGET_MS = 60_000;
const PROPERTY_TIMEOUT_MS = 180_000;

// ---- hostile strings ----------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Pieces that break naive string literals, docstrings, str.format, JSON and binding parsers. */
const FRAGMENTS = [
  '"',
  "'",
  '\\',
  '\n',
  '\r',
  '\r\n',
  '"""',
  "'''",
  '""',
  "''",
  '\\"',
  "\\'",
  '\\\\',
  '\\\n',
  '{{',
  '}}',
  '{',
  '}',
  '{}',
  '{{{',
  '}}}',
  '{0}',
  '{x}',
  '{!r}',
  '{x:>10}',
  '%s',
  '%(x)s',
  '%%',
  '\t',
  '\x0b',
  '\x0c',
  '\x1b',
  '\x7f',
  '\x1c',
  '\x1d',
  '\x1e',
  '\x1f',
  '\x01',
  '\x08',
  '\u0085',
  '\u00a0',
  '\u2028',
  '\u2029',
  '\ufeff',
  '\u200b',
  '\u200d',
  '\u202e',
  '\u3000',
  '\u00ad',
  '\ufffe',
  '\uffff',
  '\u{10ffff}',
  '\u{e0001}',
  '\u{1f600}',
  '\u{1f469}\u200d\u{1f4bb}',
  'e\u0301',
  '\u00ff',
  '\u0100',
  '#',
  '#!',
  '\\n',
  '\\x00',
  '\\u0000',
  '\\N{BULLET}',
  '\\U0001F600',
  ' ',
  '   ',
  '" + __import__("os").system("x") + "',
  "' + __import__('os').system('x') + '",
  '\nimport os\n',
  '"""; import os; """',
  '\n    return None\n',
  '{{ trigger.x }}',
  '{{ inputs.x }}',
  '{{ env.HOME }}',
  '{{ "{{" }}',
  '}}{{',
  '${x}',
  '`x`',
  '</script>',
  '\\\\"',
  '__proto__',
  'None',
  '"\n"',
];
const controlCharacter = fc
  .integer({ min: 1, max: 0x9f })
  .filter((code) => code < 0x20 || code >= 0x7f)
  .map((code) => String.fromCharCode(code));
const piece = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...FRAGMENTS) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
  { weight: 2, arbitrary: controlCharacter },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 8 }) },
);

/** Never U+0000 nor a lone surrogate: the API refuses both (src/common/json-body.ts). */
function clean(text: string): string {
  return text.replaceAll('\u0000', '').toWellFormed();
}

function hostileFrom(minPieces: number, maxPieces: number): fc.Arbitrary<string> {
  return fc.array(piece, { minLength: minPieces, maxLength: maxPieces }).map((pieces) => clean(pieces.join('')));
}

/** Mostly short strings, sometimes long ones (past black's 88 columns on their own). */
const hostile = fc.oneof({ weight: 5, arbitrary: hostileFrom(0, 8) }, { weight: 1, arbitrary: hostileFrom(12, 40) });
const hostileKey = fc.oneof({ weight: 6, arbitrary: hostileFrom(0, 5) }, { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', '', '0', '01') });

/**
 * HTTP header values: latin-1 printable text (U+0020–U+007E, U+00A0–U+00FF) without leading or trailing
 * spaces. HTTP itself allows no more (RFC 9110 field-value: visible ASCII and obs-text, no CR or LF,
 * which would end the field or inject another), http.client sends str values as ISO-8859-1, and the
 * receiving side trims the optional whitespace around a value.
 */
const headerValue = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)) },
      { weight: 2, arbitrary: fc.integer({ min: 0xa0, max: 0xff }).map((code) => String.fromCharCode(code)) },
      { weight: 2, arbitrary: fc.constantFrom('{{', '}}', '{', '"', "'", '\\', '%', '\u00a0', '\u00ff', ' ', ':', ';', ',') },
    ),
    { maxLength: 16 },
  )
  .map((chars) => chars.join('').replace(/^ +| +$/g, ''));

/** An API key: printable ASCII without spaces, the only thing httpx puts into a header from a str. */
const apiKey = fc
  .array(
    fc.oneof(
      fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code)),
      fc.constantFrom('{{', '}}'),
    ),
    {
      minLength: 1,
      maxLength: 24,
    },
  )
  .map((chars) => `sk-${chars.join('')}`);

// ---- spelling values in settings that take bindings ----------------------------------------------

/**
 * `text` as a setting that takes bindings spells it: every `{{` as the binding `{{ "{{" }}`, the way to
 * write a literal `{{`. A `{` at the very end is spelled `{{ "{" }}` too, so it cannot join the `{{` of a
 * binding written right after the string.
 */
function literal(text: string): string {
  return text.replaceAll('{{', '{{ "{{" }}').replace(/\{$/, '{{ "{" }}');
}

/** `{{ "text" }}`: a binding that stands for the text itself, with some whitespace inside the braces. */
function quoted(text: string, spacing: number): string {
  const spaces = ['', ' ', '  ', '\n', '\t ', '\r\n'];
  return `{{${spaces[spacing % spaces.length]}${JSON.stringify(text)}${spaces[(spacing >> 3) % spaces.length]}}}`;
}

/** `literal(before)` + `binding` + `literal(after)`: a binding inside hostile text. */
function around(before: string, binding: string, after: string): string {
  return literal(before) + binding + literal(after);
}

/** The JSON string of `text` in a condition's single quotes (`\'` as one more escape). */
function singleQuoted(text: string): string {
  let body = '';
  for (const char of text) {
    if (char === '\\' || char === "'") body += `\\${char}`;
    else if (char < ' ') body += `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
    else body += char;
  }
  return `'${body}'`;
}

/** A JSON value as it must come out of the run, and the setting that spells it. */
interface Spelled {
  value: Json;
  setting: Json;
}

const spelledString: fc.Arbitrary<Spelled> = fc.tuple(hostile, fc.nat({ max: 4 }), fc.nat(), fc.nat()).map(([value, how, cut, spacing]) => {
  if (how <= 1) return { value, setting: literal(value) };
  if (how === 2) return { value, setting: quoted(value, spacing) };
  // Three parts: literal text, a quoted binding, literal text.
  const chars = [...value];
  const first = cut % (chars.length + 1);
  const second = first + (spacing % (chars.length - first + 1));
  const [a, b, c] = [chars.slice(0, first), chars.slice(first, second), chars.slice(second)].map((part) => part.join(''));
  return { value, setting: literal(a) + quoted(b, spacing) + literal(c) };
});

const number = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(-0, 1e21, 1e-7, 2 ** 53 + 2, Number.MAX_VALUE, Number.MIN_VALUE),
);
const unchanged = (value: Json): Spelled => ({ value, setting: value });

/** Arbitrary JSON, hostile strings as dict keys (never scanned for bindings) and as string values. */
const { json } = fc.letrec<{ json: Spelled }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    { weight: 5, arbitrary: spelledString },
    { weight: 2, arbitrary: number.map(unchanged) },
    { weight: 1, arbitrary: fc.constantFrom(true, false, null).map(unchanged) },
    { weight: 2, arbitrary: fc.array(tie('json'), { maxLength: 4 }).map((items) => spelledList(items)) },
    { weight: 2, arbitrary: fc.uniqueArray(fc.tuple(hostileKey, tie('json')), { maxLength: 4, selector: ([key]) => key }).map(spelledDict) },
  ),
}));
const jsonDict = fc.uniqueArray(fc.tuple(hostileKey, json), { minLength: 1, maxLength: 5, selector: ([key]) => key }).map(spelledDict);

function spelledList(items: Spelled[]): Spelled {
  return { value: items.map((item) => item.value), setting: items.map((item) => item.setting) };
}

function spelledDict(entries: [string, Spelled][]): Spelled {
  return {
    value: Object.fromEntries(entries.map(([key, item]) => [key, item.value])),
    setting: Object.fromEntries(entries.map(([key, item]) => [key, item.setting])),
  };
}

// ---- node ids -------------------------------------------------------------------------------------

/** Names Python or the generated program already uses: keywords, builtins, names of main.py, utils.py and the helpers. */
const NAME_BASES = [
  'if',
  'return',
  'print',
  'input',
  'text',
  'node',
  'run',
  'main',
  'ctx',
  'os',
  'json',
  'sys',
  'math',
  'time',
  'utils',
  'typing',
  'any',
  'trigger',
  'x',
  'first_value',
  'run_program',
  'jsonable',
  'load_inputs',
  'write_output',
  'http_request',
  'openai_chat',
  'sum',
  'len',
  'type',
  'id',
  'match',
  'case',
  '_',
  '__',
  'bool',
  'str',
  'dict',
  'none',
  'true',
  'false',
  'lambda',
  'class',
  'def',
  'not',
  'and',
  'or',
  'is',
  'in',
  'del',
  'yield',
  'async',
  'await',
  'self',
  'function',
  'value',
  'result',
  'decorate',
  'run_node',
];
/** Names every module has: Python reads some of them (`__builtins__`, `__name__`) itself. */
const MODULE_NAMES = [
  '__builtins__',
  '__name__',
  '__main__',
  '__file__',
  '__doc__',
  '__spec__',
  '__loader__',
  '__package__',
  '__cached__',
  '__import__',
  '__debug__',
  '__annotations__',
  '__all__',
  '__path__',
  '__dict__',
  '__class__',
];
const NAME_SUFFIXES = ['', '', '', '_output', '_passed', '_node', '_output_2', '_node_2', '_2'];
const NODE_ID = /^[a-z_][a-z0-9_]{0,63}$/;
const nodeId = fc
  .oneof(
    { weight: 8, arbitrary: fc.tuple(fc.constantFrom(...NAME_BASES), fc.constantFrom(...NAME_SUFFIXES)).map(([base, suffix]) => base + suffix) },
    { weight: 2, arbitrary: fc.constantFrom(...MODULE_NAMES) },
    { weight: 1, arbitrary: fc.stringMatching(NODE_ID) },
  )
  .filter((id) => NODE_ID.test(id) && id !== 'inputs' && id !== 'env');

// ---- workflows --------------------------------------------------------------------------------------

let workflowCount = 0;

function workflow(name: string, description: string, nodes: WorkflowNodeInput[], edges: WorkflowEdgeInput[]): CompileInput {
  workflowCount += 1;
  return { id: `wf_Roundtrip${String(workflowCount).padStart(4, '0')}`, version: 1, name, description, nodes, edges };
}

/** Edges through `ids` in order. */
function chain(ids: string[]): WorkflowEdgeInput[] {
  return ids.slice(1).map((target, index) => ({ source: ids[index], target }));
}

const manual = (id: string, settings: Record<string, unknown> = {}): WorkflowNodeInput => ({ id, type: 'manual', settings });
const transform = (id: string, value: Json): WorkflowNodeInput => ({ id, type: 'transform', settings: { value } });
const returns = (id: string, value: Json): WorkflowNodeInput => ({ id, type: 'return', settings: { value } });

// ---- running programs ---------------------------------------------------------------------------------

/** Every program the properties generated: black and pyflakes check them all at the end. */
const programs: string[] = [];

interface ProgramShape {
  docstring: string | null;
  statements: string[];
  functions: string[];
  nodes: { id: string; function: string; body: string[] }[];
}

/** Python's own reading of main.py: what a setting that broke out of its string would change. */
const INSPECT_MAIN = `
import ast, json
tree = ast.parse(open("main.py", encoding="utf-8").read())
nodes = []
for statement in tree.body:
    if isinstance(statement, ast.FunctionDef) and statement.decorator_list:
        call = statement.decorator_list[0]
        body = [type(inner).__name__ for inner in statement.body]
        nodes.append({"id": call.args[0].value, "function": statement.name, "body": body})
print(json.dumps({
    "docstring": ast.get_docstring(tree, clean=False),
    "statements": [type(statement).__name__ for statement in tree.body],
    "functions": [s.name for s in tree.body if isinstance(s, ast.FunctionDef)],
    "nodes": nodes,
}))
`;

/**
 * Compiles `input`, writes the program (with the workflow and inputs beside it, for a replay), checks it
 * with py_compile and checks its shape: `functionIds` are the node ids of main.py's node functions, in
 * order. `collect`: whether the final black and pyflakes check covers it (a test that checks its own
 * program says no).
 */
async function build(compiler: WorkflowCompiler, input: CompileInput, functionIds: string[], inputs: unknown, collect = true): Promise<string> {
  const files: GeneratedFiles = compiler.compile(input);
  const dir = await writeProgram(files, 'tensorify-roundtrip-');
  if (collect) programs.push(dir);
  await writeFile(path.join(dir, 'workflow.json'), JSON.stringify(input, null, 2));
  await writeFile(path.join(dir, 'inputs.json'), JSON.stringify(inputs));
  const compiled = spawnSync(PYTHON, ['-m', 'py_compile', 'main.py', 'utils.py'], { cwd: dir, encoding: 'utf8' });
  expect(compiled.stderr).toBe('');
  expect(compiled.status).toBe(0);
  const inspected = spawnSync(PYTHON, ['-c', INSPECT_MAIN], { cwd: dir, encoding: 'utf8' });
  expect(inspected.stderr).toBe('');
  const shape = JSON.parse(inspected.stdout) as ProgramShape;
  expect(shape.docstring).not.toBeNull();
  expectDocstring(shape.docstring!, input);
  // One docstring, the imports, one function per node that runs, run(), main() and the `if __name__` block.
  expect(shape.statements.join(' ')).toMatch(/^Expr( Import| ImportFrom)+( FunctionDef)+ If$/);
  expect(new Set(shape.functions).size).toBe(shape.functions.length);
  expect(shape.functions.slice(-2)).toEqual(['run', 'main']);
  expect(shape.nodes.map((node) => node.id)).toEqual(functionIds);
  for (const node of shape.nodes) expect(node.body).toEqual(['Expr', 'Return']);
  return dir;
}

/**
 * The module docstring, as Python reads it, holds the name and description exactly as written but for
 * whitespace runs collapsed to one space (docstringText), which the compiler does over the whole first line.
 */
function expectDocstring(docstring: string, input: CompileInput): void {
  const collapse = (text: string) => text.replace(/\s+/g, ' ').trim();
  const head = `${collapse(`${input.name}: workflow ${input.id}, version ${input.version}.`)}\n\n`;
  const tail = 'Generated by Tensorify Server. Run it with: python main.py --inputs inputs.json\n';
  const description = collapse(input.description);
  expect({ start: docstring.slice(0, head.length), end: docstring.slice(-tail.length) }).toEqual({ start: head, end: tail });
  // Between them: the description's lines, then a blank line; wrapping turned some of its spaces into line breaks.
  const middle = docstring.slice(head.length, docstring.length - tail.length);
  expect(middle.replaceAll('\n', ' ')).toBe(description === '' ? '' : `${description}  `);
}

/** The ids of the nodes that ran, from the program's progress lines. */
function ranNodes(run: ProgramRun): string[] {
  return run.stdout
    .split('\n')
    .filter((line) => line.endsWith('] started'))
    .map((line) => line.slice('[node '.length, -'] started'.length));
}

function expectSuccess(run: ProgramRun): void {
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
}

/**
 * runProgram (test/support/python.ts) without blocking the event loop, so the fake servers of this
 * process can answer the program: `python main.py --inputs <file>` with a clean environment plus `env`.
 */
function runProgramAsync(dir: string, options: { inputs: unknown; env?: Record<string, string>; python?: string }): Promise<ProgramRun> {
  return new Promise((resolve, reject) => {
    const file = path.join(dir, 'inputs.json');
    writeFile(file, JSON.stringify(options.inputs)).then(() => {
      const child = spawn(options.python ?? PYTHON, ['main.py', '--inputs', file], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', LANG: 'C.UTF-8', ...options.env },
      });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('error', reject);
      child.on('close', (status) => {
        clearTimeout(timer);
        const out = Buffer.concat(stdout).toString('utf8');
        const lines = out.trimEnd().split('\n');
        let output: unknown;
        try {
          output = JSON.parse(lines[lines.length - 1]);
        } catch {
          output = undefined;
        }
        resolve({ status, stdout: out, stderr: Buffer.concat(stderr).toString('utf8'), output });
      });
    }, reject);
  });
}

/** Runs `check`; a failure names the workflow and inputs (also written beside the program) before the error. */
async function reporting(input: CompileInput, inputs: unknown, check: () => Promise<void>): Promise<void> {
  try {
    await check();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message}\n\nworkflow: ${JSON.stringify(input)}\ninputs: ${JSON.stringify(inputs)}`);
  }
}

function assertProperty<Ts extends [unknown, ...unknown[]]>(property: fc.IAsyncPropertyWithHooks<Ts>, numRuns: number, offset: number) {
  return fc.assert(property, {
    seed: SEED + offset,
    numRuns,
    includeErrorInReport: true,
    plugins: [fc.interruptAfterTimeLimit(SHRINK_BUDGET_MS + numRuns * 3_000, { failOnInterrupt: true })],
  });
}

// ---- the loopback server --------------------------------------------------------------------------------

interface Received {
  method: string;
  /** The request target as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** What the server answered (JSON). */
  answer?: unknown;
}

/**
 * Records every request. `POST /v1/chat/completions` answers as an OpenAI-compatible server, with the
 * reply registered for the request's model; any other request gets its echo as JSON, with the status
 * asked for in `x-status` and the `x-echo` request header sent back as `X-Echo`.
 */
class LoopbackServer {
  readonly received: Received[] = [];
  readonly replies = new Map<string, string>();
  private readonly server: Server = createServer((request, response) => this.handle(request, response));

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  start(): Promise<void> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const received: Received = { method: request.method!, url: request.url!, headers: request.headers, body: Buffer.concat(chunks) };
      this.received.push(received);
      if (received.method === 'POST' && received.url === '/v1/chat/completions') this.chat(received, response);
      else this.echo(received, response);
    });
  }

  private echo(received: Received, response: ServerResponse): void {
    received.answer = {
      method: received.method,
      url: received.url,
      query: [...new URL(received.url, 'http://loopback').searchParams],
      headers: received.headers,
      body: received.body.toString('utf8'),
    };
    const echoed = received.headers['x-echo'];
    response.writeHead(Number(received.headers['x-status'] ?? 200), {
      'Content-Type': 'application/json; charset=utf-8',
      'X-Echo': typeof echoed === 'string' ? echoed : '-',
    });
    response.end(JSON.stringify(received.answer));
  }

  private chat(received: Received, response: ServerResponse): void {
    const { model } = JSON.parse(received.body.toString('utf8')) as { model: string };
    received.answer = {
      id: 'chatcmpl-roundtrip',
      object: 'chat.completion',
      created: 1_764_000_000,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: this.replies.get(model) ?? '', refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
    };
    response.writeHead(200, { 'Content-Type': 'application/json' });
    response.end(JSON.stringify(received.answer));
  }
}

// ---- the suite --------------------------------------------------------------------------------------------

describe('Hostile strings in every string setting (property)', () => {
  let compiler: WorkflowCompiler;
  const server = new LoopbackServer();

  beforeAll(async () => {
    console.log(`settings-roundtrip: fast-check seed ${SEED} (replay another with FC_SEED=<n>)`);
    compiler = await shippedCompiler();
    await server.start();
  });

  afterAll(() => server.stop());

  it(
    'transform.value, return.value, manual.inputSchema, the workflow name and description: JSON values come out as they went in',
    async () => {
      const values = fc.record({
        name: hostile,
        description: hostile,
        transforms: fc.array(json, { minLength: 1, maxLength: 4 }),
        own: jsonDict,
        around: fc.array(fc.tuple(hostile, hostile), { minLength: 1, maxLength: 3 }),
        x: hostile,
        key: hostileKey,
        keyed: hostile,
        env: hostile,
        schema: fc.tuple(hostile, hostile, hostileKey, hostile, hostile),
      });
      await assertProperty(
        fc.asyncProperty(values, async (v) => {
          const tIds = v.transforms.map((_, index) => `t${index}`);
          const [a, b] = v.around[0];
          // manual.py.hbs prints no setting: the schema's strings must compile and change nothing.
          const inputSchema = {
            type: 'object',
            title: literal(v.schema[0]),
            description: literal(v.schema[1]),
            $comment: literal(v.schema[4]),
            properties: {
              [v.schema[2]]: { type: 'string', description: literal(v.schema[3]), default: literal(v.schema[3]), examples: [literal(v.schema[4])] },
            },
          };
          const nodes = [
            manual('trigger', { inputSchema }),
            ...v.transforms.map((value, index) => transform(tIds[index], value.setting)),
            transform('m', [
              ...v.around.map(([before, after]) => around(before, '{{ trigger.x }}', after)),
              around(a, '{{ trigger.x }}', b) + '{{ trigger.x }}' + literal(a),
            ]),
            returns('out', {
              own: v.own.setting,
              transforms: tIds.map((id) => `{{ ${id} }}`),
              around: '{{ m }}',
              keyed: `{{ trigger.data[${JSON.stringify(v.key)}] }}`,
              inputs: around(a, `{{ inputs.x }}`, b),
              env: around(a, '{{ env.HOSTILE_VALUE }}', b),
              envAlone: '{{ env.HOSTILE_VALUE }}',
              unset: around(a, '{{ env.UNSET_VARIABLE }}', b),
            }),
          ];
          const ids = ['trigger', ...tIds, 'm', 'out'];
          const input = workflow(v.name, v.description, nodes, chain(ids));
          const inputs = { x: v.x, data: { [v.key]: v.keyed } };
          const expected = {
            own: v.own.value,
            transforms: v.transforms.map((value) => value.value),
            around: [...v.around.map(([before, after]) => before + v.x + after), a + v.x + b + v.x + a],
            keyed: v.keyed,
            inputs: a + v.x + b,
            env: a + v.env + b,
            envAlone: v.env,
            // A string that is one binding alone keeps the bound value: None for an unset variable.
            unset: a === '' && b === '' ? null : a + b,
          };
          await reporting(input, inputs, async () => {
            const dir = await build(compiler, input, ids, inputs);
            const run = await runProgram(dir, { inputs, env: { HOSTILE_VALUE: v.env } });
            expectSuccess(run);
            expect(run.output).toEqual(expected);
            expect(ranNodes(run)).toEqual(ids);
          });
        }),
        RUNS.values,
        0,
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'if.condition: a comparison with a hostile JSON or single-quoted string takes the branch it should',
    async () => {
      const forms = ['==', '!=', "'=='", "'!='", 'reversed', 'not', 'inputs', 'key', 'and', 'truthy'] as const;
      const test = fc.record({ s: hostile, other: hostile, same: fc.boolean(), near: fc.nat(), form: fc.constantFrom(...forms), key: hostileKey });
      const conditions = fc.record({ name: hostile, description: hostile, tests: fc.array(test, { minLength: 2, maxLength: 6 }) });
      await assertProperty(
        fc.asyncProperty(conditions, async (v) => {
          const inputs: Record<string, Json> = {};
          const cases = v.tests.map((t, index) => {
            const chars = [...t.s];
            const variants = [t.other, `${t.s} `, chars.slice(0, -1).join(''), t.s + t.s, t.s.toUpperCase()];
            const other = t.same ? t.s : variants[t.near % variants.length];
            const equal = other === t.s;
            inputs[`s${index}`] = t.s;
            inputs[`k${index}`] = { [t.key]: t.s };
            const read =
              t.form === 'inputs'
                ? `{{ inputs.s${index} }}`
                : t.form === 'key'
                  ? `{{ trigger.k${index}[${JSON.stringify(t.key)}] }}`
                  : `{{ trigger.s${index} }}`;
            const [condition, holds] = ((): [string, boolean] => {
              switch (t.form) {
                case '!=':
                  return [`${read} != ${JSON.stringify(other)}`, !equal];
                case "'=='":
                  return [`${read} == ${singleQuoted(other)}`, equal];
                case "'!='":
                  return [`${read} != ${singleQuoted(other)}`, !equal];
                case 'reversed':
                  return [`${JSON.stringify(other)} == ${read}`, equal];
                case 'not':
                  return [`not (${read} == ${JSON.stringify(other)})`, !equal];
                case 'and':
                  return [`${read} == ${JSON.stringify(other)} and true`, equal];
                case 'truthy':
                  return [read, t.s !== ''];
                default:
                  return [`${read} == ${JSON.stringify(other)}`, equal];
              }
            })();
            return { id: `c${index}`, condition, holds };
          });
          const nodes: WorkflowNodeInput[] = [manual('trigger')];
          const edges: WorkflowEdgeInput[] = [{ source: 'trigger', target: 'c0' }];
          cases.forEach(({ id, condition, holds }, index) => {
            const next = index + 1 < cases.length ? cases[index + 1].id : 'ok';
            nodes.push({ id, type: 'if', settings: { condition } }, returns(`f${index}`, { reached: `f${index}` }));
            edges.push({ source: id, sourceHandle: String(holds), target: next }, { source: id, sourceHandle: String(!holds), target: `f${index}` });
          });
          nodes.push(returns('ok', { reached: 'ok', s0: '{{ trigger.s0 }}' }));
          const input = workflow(v.name, v.description, nodes, edges);
          // Every `if` and the return on its other branch are compiled; only the chain of expected branches runs.
          const compiled = nodes.map((node) => node.id);
          await reporting(input, inputs, async () => {
            const dir = await build(compiler, input, compiled, inputs);
            const run = await runProgram(dir, { inputs });
            expectSuccess(run);
            expect(run.output).toEqual({ reached: 'ok', s0: v.tests[0].s });
            expect(ranNodes(run)).toEqual(['trigger', ...cases.map(({ id }) => id), 'ok']);
          });
        }),
        RUNS.conditions,
        1,
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'http-request: url, query, headers and bodies arrive byte for byte, and the output is {status, data, headers}',
    async () => {
      type Body = { kind: 'none' } | { kind: 'text'; text: string } | { kind: 'around'; before: string; after: string } | { kind: 'json'; value: Spelled };
      const body: fc.Arbitrary<Body> = fc.oneof(
        fc.constant({ kind: 'none' as const }),
        hostile.map((text) => ({ kind: 'text' as const, text })),
        fc.tuple(hostile, hostile).map(([before, after]) => ({ kind: 'around' as const, before, after })),
        jsonDict.map((value) => ({ kind: 'json' as const, value })),
      );
      const scalar = fc.oneof({ weight: 4, arbitrary: hostile }, fc.integer(), fc.boolean());
      const call = fc.record({
        method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'),
        segment: hostile,
        segmentByBinding: fc.boolean(),
        pre: fc.option(hostile, { nil: undefined }),
        headers: fc.array(fc.oneof({ weight: 4, arbitrary: headerValue }, fc.integer(), fc.boolean()), { maxLength: 3 }),
        echo: headerValue,
        echoByBinding: fc.boolean(),
        query: fc.uniqueArray(fc.tuple(hostileKey, scalar), { maxLength: 4, selector: ([key]) => key }),
        queryAround: fc.option(fc.tuple(hostile, hostile), { nil: undefined }),
        body,
        status: fc.constantFrom(200, 201, 204, 404, 500),
        failOnError: fc.boolean(),
      });
      const cases = fc.record({ name: hostile, description: hostile, calls: fc.array(call, { minLength: 1, maxLength: 3 }), x: hostile });
      const textOf = (value: string | number | boolean) => (typeof value === 'string' ? value : JSON.stringify(value));
      const spell = (value: string | number | boolean) => (typeof value === 'string' ? literal(value) : value);
      await assertProperty(
        fc.asyncProperty(cases, async (v) => {
          const inputs: Record<string, Json> = { x: v.x };
          const expectations = v.calls.map((c, index) => {
            inputs[`seg${index}`] = encodeURIComponent(c.segment);
            inputs[`echo${index}`] = c.echo;
            const segment = c.segmentByBinding ? `{{ trigger.seg${index} }}` : literal(encodeURIComponent(c.segment));
            const pre = c.pre === undefined ? '' : `?pre=${encodeURIComponent(c.pre)}`;
            const headers: Record<string, Json> = { 'x-status': c.status, 'x-echo': c.echoByBinding ? `{{ trigger.echo${index} }}` : literal(c.echo) };
            c.headers.forEach((value, at) => (headers[`x-h${at}`] = spell(value)));
            // Setting and expected value with the same keys, so both list them in the same order.
            const queryEntries = c.query.filter(([key]) => key !== '~around');
            const query: Record<string, Json> = Object.fromEntries(queryEntries.map(([key, value]) => [key, spell(value)]));
            const queryValues: Record<string, string> = Object.fromEntries(queryEntries.map(([key, value]) => [key, textOf(value)]));
            if (c.queryAround !== undefined) {
              const [before, after] = c.queryAround;
              query['~around'] = around(before, '{{ trigger.x }}', after);
              queryValues['~around'] = before + v.x + after;
            }
            const bodySetting =
              c.body.kind === 'none'
                ? null
                : c.body.kind === 'text'
                  ? literal(c.body.text)
                  : c.body.kind === 'around'
                    ? around(c.body.before, '{{ trigger.x }}', c.body.after)
                    : c.body.value.setting;
            const settings = {
              method: c.method,
              url: `http://127.0.0.1:${server.port}/echo/${segment}${literal(pre)}`,
              headers,
              query,
              body: bodySetting,
              timeoutSeconds: 20,
              failOnError: c.failOnError && c.status < 400,
            };
            return { call: c, settings, queryPairs: [...(c.pre === undefined ? [] : [['pre', c.pre]]), ...Object.entries(queryValues)] };
          });
          const ids = v.calls.map((_, index) => `h${index}`);
          const nodes = [
            manual('trigger'),
            ...expectations.map(({ settings }, index): WorkflowNodeInput => ({ id: ids[index], type: 'http-request', settings })),
            returns('out', { calls: ids.map((id) => `{{ ${id} }}`) }),
          ];
          const input = workflow(v.name, v.description, nodes, chain(['trigger', ...ids, 'out']));
          await reporting(input, inputs, async () => {
            const dir = await build(compiler, input, ['trigger', ...ids, 'out'], inputs);
            server.received.length = 0;
            const run = await runProgramAsync(dir, { inputs });
            expectSuccess(run);
            expect(server.received).toHaveLength(v.calls.length);
            const outputs = (run.output as { calls: { status: number; data: unknown; headers: Record<string, string> }[] }).calls;
            expectations.forEach(({ call: c, queryPairs }, index) => {
              const received = server.received[index];
              expect(received.method).toBe(c.method);
              const [target] = received.url.split('?');
              expect(target).toBe(`/echo/${encodeURIComponent(c.segment)}`);
              expect(decodeURIComponent(target.slice('/echo/'.length))).toBe(c.segment);
              expect([...new URL(received.url, 'http://loopback').searchParams]).toEqual(queryPairs);
              expect(received.headers['x-echo']).toBe(c.echo);
              expect(received.headers['x-status']).toBe(String(c.status));
              c.headers.forEach((value, at) => expect(received.headers[`x-h${at}`]).toBe(textOf(value)));
              const contentType = received.headers['content-type'];
              switch (c.body.kind) {
                case 'none':
                  expect(received.body).toHaveLength(0);
                  expect(contentType).toBeUndefined();
                  break;
                case 'json':
                  expect(contentType).toBe('application/json; charset=utf-8');
                  expect(JSON.parse(received.body.toString('utf8'))).toEqual(c.body.value.value);
                  break;
                default: {
                  const text = c.body.kind === 'text' ? c.body.text : c.body.before + v.x + c.body.after;
                  expect(contentType).toBe('text/plain; charset=utf-8');
                  expect(received.body.equals(Buffer.from(text, 'utf8'))).toBe(true);
                  expect(received.body.toString('utf8')).toBe(text);
                }
              }
              const output = outputs[index];
              expect(output.status).toBe(c.status);
              expect(output.data).toEqual(c.method === 'HEAD' || c.status === 204 ? '' : received.answer);
              expect(output.headers['X-Echo']).toBe(c.echo);
              expect(output.headers['Content-Type']).toBe('application/json; charset=utf-8');
            });
          });
        }),
        RUNS.http,
        2,
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  describe('openai-chat, against a fake OpenAI-compatible server', () => {
    let python: string;

    // The first run creates a virtual environment with the openai package from the machine's package source.
    beforeAll(async () => {
      python = await testVenv(['openai']);
    }, 600_000);

    it(
      'model, system and prompt arrive byte for byte, and the reply comes back as text',
      async () => {
        const prompt = fc.oneof(
          hostile.filter((text) => text !== '').map((text) => ({ value: text, setting: literal(text) })),
          fc.tuple(hostile, hostile).map(([before, after]) => ({ before, after })),
        );
        const chat = fc.record({
          model: hostileFrom(1, 4).filter((model) => model !== '' && [...literal(model)].length <= 256),
          system: hostile,
          prompt,
          reply: hostile,
          temperature: fc.option(
            fc.double({ min: 0, max: 2, noNaN: true }).map((t) => t + 0),
            { nil: null },
          ),
          maxTokens: fc.option(fc.integer({ min: 1, max: 100_000 }), { nil: null }),
          apiKey,
        });
        const chats = fc.uniqueArray(chat, { minLength: 1, maxLength: 2, selector: (c) => c.model });
        const cases = fc.record({ name: hostile, description: hostile, chats, x: hostile });
        await assertProperty(
          fc.asyncProperty(cases, async (v) => {
            const inputs = { x: v.x };
            const ids = v.chats.map((_, index) => `llm${index}`);
            const prompts = v.chats.map(({ prompt: p }) => ('value' in p ? p.value : p.before + v.x + p.after));
            const nodes = [
              manual('trigger'),
              ...v.chats.map((c, index): WorkflowNodeInput => ({
                id: ids[index],
                type: 'openai-chat',
                settings: {
                  model: literal(c.model),
                  system: literal(c.system),
                  prompt: 'value' in c.prompt ? c.prompt.setting : around(c.prompt.before, '{{ trigger.x }}', c.prompt.after),
                  temperature: c.temperature,
                  maxTokens: c.maxTokens,
                  baseUrl: `http://127.0.0.1:${server.port}/v1`,
                  apiKey: literal(c.apiKey),
                },
              })),
              returns('out', { chats: ids.map((id) => `{{ ${id} }}`) }),
            ];
            const input = workflow(v.name, v.description, nodes, chain(['trigger', ...ids, 'out']));
            await reporting(input, inputs, async () => {
              const dir = await build(compiler, input, ['trigger', ...ids, 'out'], inputs);
              server.received.length = 0;
              server.replies.clear();
              v.chats.forEach((c) => server.replies.set(c.model, c.reply));
              const run = await runProgramAsync(dir, { inputs, python });
              expectSuccess(run);
              expect(server.received).toHaveLength(v.chats.length);
              v.chats.forEach((c, index) => {
                const received = server.received[index];
                expect(`${received.method} ${received.url}`).toBe('POST /v1/chat/completions');
                expect(received.headers.authorization).toBe(`Bearer ${c.apiKey}`);
                const request = JSON.parse(received.body.toString('utf8')) as Record<string, unknown>;
                expect(request.model).toBe(c.model);
                const system = c.system === '' ? [] : [{ role: 'system', content: c.system }];
                expect(request.messages).toEqual([...system, { role: 'user', content: prompts[index] }]);
                expect(request.temperature).toBe(c.temperature ?? undefined);
                expect(request.max_tokens).toBe(c.maxTokens ?? undefined);
              });
              expect(run.output).toEqual({
                chats: v.chats.map((c) => ({ text: c.reply, model: c.model, usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } })),
              });
            });
          }),
          RUNS.openai,
          3,
        );
      },
      PROPERTY_TIMEOUT_MS,
    );
  });

  it(
    'node ids: Python keywords, builtins and the names the program uses keep every node and value apart',
    async () => {
      const cases = fc.record({
        ids: fc.uniqueArray(nodeId, { minLength: 7, maxLength: 7 }),
        order: fc.array(fc.nat(), { minLength: 7, maxLength: 7 }),
        h1: hostile,
        h2: hostile,
        a: hostile,
        b: hostile,
        x: hostile,
        name: hostile,
        description: hostile,
      });
      await assertProperty(
        fc.asyncProperty(cases, async (v) => {
          const [trig, t1, t2, t3, cond, yes, no] = v.ids;
          const inOrder: WorkflowNodeInput[] = [
            manual(trig),
            transform(t1, { s: literal(v.h1), x: `{{ ${trig}.x }}` }),
            transform(t2, [`{{ ${t1} }}`, literal(v.h2), around(v.a, `{{ ${t1}.s }}`, v.b)]),
            transform(t3, { all: `{{ ${t2} }}`, first: `{{ ${t2}[0].x }}` }),
            // `and` makes the compiler wrap the test in bool(), a builtin.
            { id: cond, type: 'if', settings: { condition: `{{ ${t3}.first }} == ${JSON.stringify(v.x)} and {{ ${t1}.s }} != ${JSON.stringify(`${v.h1}!`)}` } },
            returns(yes, { t1: `{{ ${t1} }}`, t2: `{{ ${t2} }}`, t3: `{{ ${t3} }}`, branch: 'true' }),
            returns(no, { branch: 'false' }),
          ];
          // The same workflow with its nodes listed in another order.
          const nodes = inOrder
            .map((node, index) => ({ node, key: v.order[index], index }))
            .sort((p, q) => p.key - q.key || p.index - q.index)
            .map(({ node }) => node);
          const edges: WorkflowEdgeInput[] = [
            ...chain([trig, t1, t2, t3, cond]),
            { source: cond, sourceHandle: 'true', target: yes },
            { source: cond, sourceHandle: 'false', target: no },
          ];
          const input = workflow(v.name, v.description, nodes, edges);
          const inputs = { x: v.x };
          const one = { s: v.h1, x: v.x };
          const two = [one, v.h2, v.a + v.h1 + v.b];
          const returnsInOrder = nodes.filter((node) => node.id === yes || node.id === no).map((node) => node.id);
          await reporting(input, inputs, async () => {
            const dir = await build(compiler, input, [trig, t1, t2, t3, cond, ...returnsInOrder], inputs);
            const run = await runProgram(dir, { inputs });
            expectSuccess(run);
            expect(run.output).toEqual({ t1: one, t2: two, t3: { all: two, first: v.x }, branch: 'true' });
            expect(ranNodes(run)).toEqual([trig, t1, t2, t3, cond, yes]);
          });
        }),
        RUNS.ids,
        4,
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  // Two findings of the properties, as the smallest workflows that show them.

  it('a node whose id is __builtins__ leaves the builtins of the functions defined after it alone', async () => {
    // `def __builtins__` in main.py rebinds the module global CPython takes a new function's builtins
    // from, so every function defined after it fails on its first builtin: here `bool` in the if node.
    const nodes = [
      manual('trigger'),
      transform('__builtins__', { flag: true }),
      { id: 'check', type: 'if', settings: { condition: '{{ __builtins__.flag }}' } },
      returns('yes', { branch: 'true' }),
      returns('no', { branch: 'false' }),
    ];
    const edges = [
      ...chain(['trigger', '__builtins__', 'check']),
      { source: 'check', sourceHandle: 'true', target: 'yes' },
      { source: 'check', sourceHandle: 'false', target: 'no' },
    ];
    const input = workflow('Builtins', '', nodes, edges);
    const dir = await build(compiler, input, ['trigger', '__builtins__', 'check', 'yes', 'no'], {});
    const run = await runProgram(dir, { inputs: {} });
    expectSuccess(run);
    expect(run.output).toEqual({ branch: 'true' });
  });

  it('a binding in a setting its template never prints (manual.inputSchema) leaves no unused import', async () => {
    // The bindings are compiled (import os, text) although manual.py.hbs prints no setting.
    const schema = { type: 'object', title: '{{ env.HOME }}', description: 'The {{ inputs.mode }} mode' };
    const nodes = [manual('trigger', { inputSchema: schema }), returns('out', { mode: '{{ trigger.mode }}' })];
    const input = workflow('Schema', '', nodes, chain(['trigger', 'out']));
    const dir = await build(compiler, input, ['trigger', 'out'], { mode: 'strict' }, false);
    const run = await runProgram(dir, { inputs: { mode: 'strict' } });
    expectSuccess(run);
    expect(run.output).toEqual({ mode: 'strict' });
    const flakes = runTool('pyflakes', ['main.py', 'utils.py'], dir);
    expect(flakes.stdout + flakes.stderr).toBe('');
  });

  it('every generated program passes black --check and pyflakes', () => {
    expect(programs.length).toBeGreaterThan(0);
    const flakes = runTool('pyflakes', programs);
    expect(flakes.stdout + flakes.stderr).toBe('');
    const black = runTool('black', ['--check', '--diff', '--quiet', ...programs]);
    expect(black.stdout + black.stderr).toBe('');
    expect(black.status).toBe(0);
  }, 120_000);
});
