import Handlebars from 'handlebars';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { NodeCatalog } from '../nodes/node-catalog';
import { type PythonFragment, splitFragment } from '../nodes/python-fragment';
import { BLOCKS, NODE_HELPERS, SKELETON_HELPERS, SUBEXPRESSIONS, templateProblems } from '../nodes/template-safety';
import { layoutStatement } from './python/layout';

export { type PythonFragment, splitFragment } from '../nodes/python-fragment';
import { jsonToPy, py, type PyExpr } from './python/py-expr';

/** Python source the compiler made (already laid out); the `code` helper inserts it as it is. */
export class PythonCode {
  constructor(readonly text: string) {}
}

/** A compiled setting or expression on its way into a template; the `py` helper prints it. */
export class PyValue {
  constructor(readonly expr: PyExpr) {}
}

/** Expressions spliced into a call as its positional arguments: `(call "nn.Sequential" layers)`. */
export class PyArgs {
  constructor(readonly exprs: readonly PyExpr[]) {}
}

/**
 * A setting left at its default, as `changed.<name>` gives it: `(call …)` leaves out a keyword
 * argument holding it, so a generated call only spells out what differs from the default.
 */
export const OMITTED = Object.freeze({ omitted: true });

/** Builtins a template may call; with a literal argument the call folds away (`int(5)` is `5`). */
const CONVERSIONS: Record<string, (value: number) => number | undefined> = {
  int: (value) => (Number.isInteger(value) ? value : undefined),
  float: (value) => value,
};

/** A `code` node's Python, as written: the `body` helper indents it as a function body. */
export class VerbatimBody {
  constructor(readonly text: string) {}
}

/** `codegen-templates` of this package; the same from `src/codegen` (ts-jest) and `dist/codegen` (build). */
export function defaultCodegenRoot(): string {
  return path.resolve(__dirname, '..', '..', 'codegen-templates');
}

// eslint-disable-next-line no-control-regex -- NUL delimits on purpose the placeholders that {{py}} and {{body}} print (placeholder() below)
const PLACEHOLDER = /\u0000(\d+)\u0000/g;
const INDENT = '    ';
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

type Placeholder = { kind: 'expr'; expr: PyExpr } | { kind: 'body'; text: string };

interface RenderData {
  placeholders: Placeholder[];
  /** Names a node template may call with `(call "name" …)`: helpers, imported names, and attributes of those (`nn.Linear`). */
  callable: ReadonlySet<string>;
}

interface NodeTemplate {
  render: Handlebars.TemplateDelegate;
  helpers?: PythonFragment;
}

/**
 * The Handlebars templates of `codegen-templates/`: the program skeleton (`python/*.hbs`), the
 * runtime every program's utils.py starts with (`python/runtime.py`), the server mode utils.py
 * ends with when the trigger is a webhook (`python/webhook_server.py`), and per node type its
 * function body (`nodes/<type>/<type>.py.hbs`) and optional helpers (`nodes/<type>/helpers.py`).
 *
 * Values reach Python source only through the `py` helper, which prints a `PyValue` or a JSON
 * value as Python (literals through python-literal.ts), laid out as black would lay out the
 * statement it ends. Loading refuses a template with any other kind of `{{…}}`, so no template
 * can put raw or HTML-escaped text into a program.
 */
export class TemplateSet {
  private constructor(
    private readonly skeleton: Record<'main' | 'utils' | 'requirements', Handlebars.TemplateDelegate>,
    readonly runtime: PythonFragment,
    readonly webhookServer: PythonFragment,
    private readonly nodes: ReadonlyMap<string, NodeTemplate>,
  ) {}

  static async load(root: string, catalog: NodeCatalog): Promise<TemplateSet> {
    const env = createEnvironment();
    const skeleton = async (name: string) => compile(env, path.join(root, 'python', name), SKELETON_HELPERS);
    const [main, utils, requirements, runtimeText, webhookServerText] = await Promise.all([
      skeleton('main.py.hbs'),
      skeleton('utils.py.hbs'),
      skeleton('requirements.txt.hbs'),
      readText(path.join(root, 'python', 'runtime.py')),
      readText(path.join(root, 'python', 'webhook_server.py')),
    ]);
    const nodes = await Promise.all(
      catalog.list().map(async (definition): Promise<[string, NodeTemplate]> => {
        // Each type's files are where its pack has them; the loader has already run the safety gate on its template.
        const { templateFile, helpersFile } = catalog.filesOf(definition.type);
        const template = await compile(env, templateFile, NODE_HELPERS);
        const declared = definition.python?.helpers ?? [];
        if (helpersFile === undefined) return [definition.type, { render: template }];
        const helpers = splitFragment(await readText(helpersFile));
        const missing = declared.filter((name) => !helpers.defines.includes(name));
        if (missing.length > 0) throw new Error(`${helpersFile} does not define ${missing.join(', ')}, which node.json lists in python.helpers`);
        return [definition.type, { render: template, helpers }];
      }),
    );
    return new TemplateSet({ main, utils, requirements }, splitFragment(runtimeText), splitFragment(webhookServerText), new Map(nodes));
  }

  /** A node's function body, indented by four spaces, and every expression it printed. */
  renderNode(type: string, context: object, callable: ReadonlySet<string>): { body: string; printed: PyExpr[] } {
    const data: RenderData = { placeholders: [], callable };
    const rendered = this.nodeTemplate(type).render(context, { data });
    const printed = data.placeholders.flatMap((entry) => (entry.kind === 'expr' ? [entry.expr] : []));
    return { body: expandPlaceholders(rendered, data.placeholders, type), printed };
  }

  nodeHelpers(type: string): PythonFragment | undefined {
    return this.nodeTemplate(type).helpers;
  }

  renderSkeleton(name: 'main' | 'utils' | 'requirements', context: object): string {
    const data: RenderData = { placeholders: [], callable: new Set() };
    return expandPlaceholders(this.skeleton[name](context, { data }), data.placeholders, `python/${name}`);
  }

  private nodeTemplate(type: string): NodeTemplate {
    const template = this.nodes.get(type);
    if (template === undefined) throw new Error(`No template for node type "${type}"`);
    return template;
  }
}

function createEnvironment(): typeof Handlebars {
  const env = Handlebars.create();
  env.registerHelper('py', (value: unknown, options: Handlebars.HelperOptions) => placeholder(options, { kind: 'expr', expr: toExpr(value, 'py') }));
  env.registerHelper('body', (value: unknown, options: Handlebars.HelperOptions) => {
    if (!(value instanceof VerbatimBody)) throw new Error('{{body …}} takes a verbatim setting (listed in verbatimSettings)');
    return placeholder(options, { kind: 'body', text: value.text });
  });
  env.registerHelper('code', (value: unknown) => {
    if (!(value instanceof PythonCode)) throw new Error('{{code …}} takes only code the compiler made');
    return new env.SafeString(value.text);
  });
  env.registerHelper('call', (name: unknown, ...rest: unknown[]) => {
    const options = rest.pop() as Handlebars.HelperOptions;
    const data = options.data as RenderData;
    const parts = typeof name === 'string' ? name.split('.') : [];
    const conversion = typeof name === 'string' ? CONVERSIONS[name] : undefined;
    if (conversion !== undefined) {
      if (rest.length !== 1 || Object.keys(options.hash ?? {}).length > 0) throw new Error(`(call "${String(name)}" …) takes one value`);
      const value = toExpr(rest[0], 'call');
      const folded = value.kind === 'num' ? conversion(value.value) : undefined;
      return new PyValue(folded === undefined ? py.call(name as string, [value]) : py.num(folded));
    }
    if (parts.length === 0 || !parts.every((part) => IDENTIFIER.test(part)) || !data.callable.has(parts[0])) {
      throw new Error(`(call ${JSON.stringify(name)} …) names neither a helper of this node type (python.helpers in node.json) nor a name its imports bind`);
    }
    const func = parts.slice(1).reduce<PyExpr>((value, attr) => py.attr(value, attr), py.name(parts[0]));
    // Handlebars 4 builds the hash from its last pair to its first: reverse it back to the template's order.
    const pairs = Object.entries(options.hash as Record<string, unknown>).reverse();
    const keywords = pairs.filter(([, value]) => value !== OMITTED).map(([keyword, value]) => ({ name: keyword, value: toExpr(value, 'call') }));
    const positional = rest.flatMap((value) => (value instanceof PyArgs ? value.exprs : [toExpr(value, 'call')]));
    return new PyValue(py.call(func, [...positional, ...keywords]));
  });
  return env;
}

function toExpr(value: unknown, helper: string): PyExpr {
  if (value instanceof PyValue) return value.expr;
  if (value === undefined || value === null || typeof value !== 'object') return jsonToPy(value);
  throw new Error(`{{${helper} …}} takes a compiled value or a JSON scalar, not a raw object`);
}

function placeholder(options: Handlebars.HelperOptions, entry: Placeholder): Handlebars.SafeString {
  const data = options.data as RenderData;
  data.placeholders.push(entry);
  return new Handlebars.SafeString(`\u0000${data.placeholders.length - 1}\u0000`);
}

async function compile(env: typeof Handlebars, file: string, allowed: ReadonlySet<string>): Promise<Handlebars.TemplateDelegate> {
  const source = await readText(file);
  const problems = templateProblems(env.parse(source), allowed);
  if (problems.length > 0) throw new Error(`Template ${file} is refused: ${problems.join('; ')}`);
  const knownHelpers = Object.fromEntries([...allowed, ...SUBEXPRESSIONS, ...BLOCKS].map((name) => [name, true]));
  return env.compile(source, { knownHelpers, knownHelpersOnly: true, noEscape: false });
}

/** Replaces each line holding a placeholder by its statement laid out (or by the verbatim body). */
function expandPlaceholders(rendered: string, placeholders: readonly Placeholder[], source: string): string {
  if (placeholders.length === 0) return rendered;
  return rendered
    .split('\n')
    .map((line) => {
      const tokens = [...line.matchAll(PLACEHOLDER)];
      if (tokens.length === 0) return line;
      if (tokens.length > 1) throw new Error(`Template ${source}: a line may hold one {{py …}} or {{body …}}, found ${tokens.length}`);
      const [token] = tokens;
      const entry = placeholders[Number(token[1])];
      const before = line.slice(0, token.index);
      const after = line.slice(token.index + token[0].length);
      const indent = before.length - before.trimStart().length;
      if (entry.kind === 'body') {
        if (before.trim() !== '' || after.trim() !== '') throw new Error(`Template ${source}: {{body …}} must stand alone on its line`);
        return indentBody(entry.text, indent + INDENT.length);
      }
      return layoutStatement(indent, before.trimStart(), entry.expr, after);
    })
    .join('\n');
}

/**
 * A user's function body, dedented (its common leading whitespace removed) and indented to
 * `indent` spaces; blank lines stay empty, CR LF becomes LF. An empty body becomes `pass`.
 */
export function indentBody(text: string, indent: number): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const margins = lines.filter((line) => line.trim() !== '').map((line) => line.length - line.trimStart().length);
  const margin = margins.length === 0 ? 0 : Math.min(...margins);
  const pad = ' '.repeat(indent);
  const body = lines.map((line) => (line.trim() === '' ? '' : pad + line.slice(margin).trimEnd()));
  while (body.length > 0 && body[body.length - 1] === '') body.pop();
  while (body.length > 0 && body[0] === '') body.shift();
  return body.length === 0 ? `${pad}pass` : body.join('\n');
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`Code generation file ${file} cannot be read (${(error as Error).message})`);
  }
}
