import type { ProgramFiles } from '@tensorify/executor-sdk';
import { type Binding, parseBindings } from '../../graph/bindings';
import type { NodeCatalog } from '../../nodes/node-catalog';
import type { NodeTypeDefinition } from '../../nodes/node-type';
import { conditionToPy } from '../condition-python';
import type { NodePlan, ProgramPlan, RunStatement } from '../plan/program-plan';
import { afterImports, fromImport, importedNames, mergeImports } from '../python-imports';
import { mergeRequirements } from '../requirements';
import { OMITTED, PyArgs, PythonCode, type PythonFragment, PyValue, type TemplateSet, VerbatimBody } from '../template-set';
import { flatSource } from './flat-source';
import { layoutDef, layoutStatement } from './layout';
import { collectNames, jsonToPy, py, type PyExpr } from './py-expr';
import { docstringText } from './python-literal';

const INDENT = 4;

/** The trigger type whose program can also serve its webhook (`python main.py --serve`). */
export const WEBHOOK_TRIGGER = 'webhook';

/** Writes a planned program as its three files: main.py (node functions, run(), main()), utils.py, requirements.txt. */
export function emitProgram(plan: ProgramPlan, catalog: NodeCatalog, templates: TemplateSet): ProgramFiles {
  return new ProgramEmitter(plan, catalog, templates).files();
}

class ProgramEmitter {
  /** The trigger's settings when it is a webhook: main() then runs once or serves it (webhook_server.py). */
  private readonly webhook: Readonly<Record<string, unknown>> | undefined;
  /** Every name the laid-out expressions of main.py read: what it must import. */
  private readonly namesRead: Set<string>;

  constructor(
    private readonly plan: ProgramPlan,
    private readonly catalog: NodeCatalog,
    private readonly templates: TemplateSet,
  ) {
    this.webhook = plan.nodes.find((node) => node.definition.trigger && node.definition.type === WEBHOOK_TRIGGER)?.settings;
    this.namesRead = new Set(['Any', 'Context', 'node', this.webhook === undefined ? 'run_program' : 'run_webhook_program']);
  }

  files(): ProgramFiles {
    const { nodes, usedTypes } = this.plan;
    const emitted = nodes.filter((node) => node.emitted);
    const functions = emitted.map((node) => new PythonCode(this.renderFunction(node)));
    const presets = emitted.filter((node) => node.preset).map((node) => ' '.repeat(INDENT) + `${node.variable} = None`);
    const runBody = [...presets, ...this.printBlock(this.plan.run, INDENT)].join('\n');
    return {
      'main.py': this.templates.renderSkeleton('main', {
        docstring: new PythonCode(this.moduleDocstring()),
        imports: new PythonCode(this.mainImports()),
        functions,
        run: new PythonCode(runBody),
        webhook: this.webhook !== undefined,
        entry: new PyValue(this.entry()),
      }),
      'utils.py': this.renderUtils(),
      'requirements.txt': this.templates.renderSkeleton('requirements', {
        requirements: mergeRequirements(usedTypes.flatMap((type) => this.catalog.resolve(type)!.requirements)).map((line) => new PythonCode(line)),
      }),
    };
  }

  /** What main() calls: run_program, or for a webhook trigger run_webhook_program with its settings. */
  private entry(): PyExpr {
    const { id, version } = this.plan.workflow;
    const args: PyExpr[] = [py.name('run'), py.str(id), py.num(version)];
    if (this.webhook === undefined) return py.call('run_program', args);
    const { methods, signature, responseMode, waitSeconds } = this.webhook;
    return py.call('run_webhook_program', [
      ...args,
      { name: 'methods', value: jsonToPy(methods) },
      { name: 'signature', value: jsonToPy(signature) },
      { name: 'response_mode', value: jsonToPy(responseMode) },
      { name: 'wait_seconds', value: jsonToPy(waitSeconds) },
    ]);
  }

  // ---- run() -------------------------------------------------------------------------------

  private printBlock(statements: readonly RunStatement[], indent: number): string[] {
    return statements.flatMap((statement): string[] => {
      switch (statement.kind) {
        case 'return-empty':
          return [layoutStatement(indent, 'return ', py.dict([]))];
        case 'node': {
          const { node, call } = statement;
          collectNames(call, this.namesRead);
          return [layoutStatement(indent, assignment(node), call)];
        }
        case 'if': {
          collectNames(statement.test, this.namesRead);
          const lines = [layoutStatement(indent, 'if ', statement.test, ':'), ...this.printBlock(statement.body, indent + INDENT)];
          if (statement.orelse !== undefined) lines.push(' '.repeat(indent) + 'else:', ...this.printBlock(statement.orelse, indent + INDENT));
          return lines;
        }
      }
    });
  }

  // ---- node functions ------------------------------------------------------------------------

  private renderFunction(node: NodePlan): string {
    const { definition, chain } = node;
    const python = definition.python ?? {};
    const params = [
      ...node.ports.map((name) => ({ name, annotation: 'Any' })),
      ...node.boundVariables.map((name) => ({ name, annotation: 'Any' })),
      ...(node.needsContext ? [{ name: 'ctx', annotation: 'Context' }] : []),
    ];
    const context = {
      ...this.templateContext(node),
      params: Object.fromEntries(node.ports.map((name) => [name, new PyValue(py.name(name))])),
      layers: new PyArgs(chain.map((layer) => this.layerExpr(layer))),
    };
    const { body, printed } = this.templates.renderNode(definition.type, context, callable(definition));
    printed.forEach((expr) => collectNames(expr, this.namesRead));
    const summary = chain.length === 0 ? `${definition.displayName} node.` : `${definition.displayName} node: ${chain.map((layer) => layer.id).join(' → ')}.`;
    const decoratorArgs: PyExpr[] = [py.str(node.id)];
    const decorator = py.call(
      'node',
      python.resultType === undefined ? decoratorArgs : [...decoratorArgs, { name: 'result', value: py.name(python.resultType) }],
    );
    return [
      `@${flatSource(decorator)}`,
      layoutDef(0, node.function, params, python.returns ?? 'Any'),
      `    """${docstringText(summary)}"""`,
      body.replace(/\n+$/, ''),
    ].join('\n');
  }

  /**
   * What every node template sees: its settings compiled (`settings`), the same but OMITTED where
   * a setting has its default (`changed`), as written (`raw`), and its id.
   */
  private templateContext(node: NodePlan): object {
    const settings: Record<string, PyValue | VerbatimBody | undefined> = {};
    const changed: Record<string, PyValue | VerbatimBody | typeof OMITTED | undefined> = {};
    const { defaults } = node.definition;
    for (const [name, value] of Object.entries(node.settings)) {
      settings[name] = this.settingValue(node, name, value);
      changed[name] = name in defaults && JSON.stringify(defaults[name]) === JSON.stringify(value) ? OMITTED : settings[name];
    }
    return { settings, changed, raw: node.settings, node: { id: node.id } };
  }

  /** A layer node's module expression: its template's one printed expression. */
  private layerExpr(layer: NodePlan): PyExpr {
    const { printed } = this.templates.renderNode(layer.definition.type, this.templateContext(layer), callable(layer.definition));
    if (printed.length !== 1)
      throw new Error(`The template of layer type "${layer.definition.type}" must print exactly one expression, printed ${printed.length}`);
    collectNames(printed[0], this.namesRead);
    return printed[0];
  }

  private settingValue(node: NodePlan, name: string, value: unknown): PyValue | VerbatimBody | undefined {
    const { verbatimSettings = [] } = node.definition;
    if (value === undefined) return undefined;
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a verbatim setting is a string: the node's settingsSchema says so and the settings were validated against it
    if (verbatimSettings.includes(name)) return new VerbatimBody(String(value));
    const condition = node.conditions.get(name);
    if (condition !== undefined) {
      const expr = conditionToPy(condition, (binding) => this.bindingExpr(binding));
      return new PyValue(expr.kind === 'compare' || expr.kind === 'not' || expr.kind === 'const' ? expr : py.call('bool', [expr]));
    }
    return new PyValue(this.valueExpr(value));
  }

  /** A JSON setting as Python: strings with bindings become the bound values (alone) or formatted text. */
  private valueExpr(value: unknown): PyExpr {
    if (typeof value === 'string') return this.stringExpr(value);
    if (Array.isArray(value)) return py.list(value.map((item) => this.valueExpr(item)));
    if (value !== null && typeof value === 'object') {
      return py.dict(Object.entries(value).map(([key, item]) => ({ key: py.str(key), value: this.valueExpr(item) })));
    }
    return jsonToPy(value);
  }

  private stringExpr(text: string): PyExpr {
    const { bindings } = parseBindings(text);
    if (bindings.length === 0) return py.str(text);
    if (bindings.length === 1 && bindings[0].start === 0 && bindings[0].end === text.length) return this.bindingExpr(bindings[0]);
    let format = '';
    const args: PyExpr[] = [];
    let position = 0;
    for (const binding of bindings) {
      format += escapeBraces(text.slice(position, binding.start));
      if (binding.root.kind === 'literal') format += escapeBraces(binding.root.text);
      else {
        format += '{}';
        args.push(py.call('text', [this.bindingExpr(binding)]));
      }
      position = binding.end;
    }
    format += escapeBraces(text.slice(position));
    if (args.length === 0) return py.str(unescapeBraces(format));
    return py.call(py.attr(py.str(format), 'format'), args);
  }

  /** A binding as the expression that reads it inside a node function. */
  private bindingExpr(binding: Binding): PyExpr {
    const { root } = binding;
    let base: PyExpr;
    switch (root.kind) {
      case 'literal':
        return py.str(root.text);
      case 'env':
        return py.call(py.attr(py.attr(py.name('os'), 'environ'), 'get'), [py.str(root.name)]);
      case 'inputs':
        base = py.attr(py.name('ctx'), 'inputs');
        break;
      case 'node':
        base = py.name(this.plan.variables.get(root.nodeId)!);
        break;
    }
    return binding.path.reduce<PyExpr>((value, segment) => py.subscript(value, typeof segment === 'number' ? py.num(segment) : py.str(segment)), base);
  }

  // ---- files ------------------------------------------------------------------------------

  private moduleDocstring(): string {
    const { name, id, version, description } = this.plan.workflow;
    const lines = [`"""${docstringText(`${name}: workflow ${id}, version ${version}.`)}`, ''];
    if (description.trim() !== '') lines.push(...wrap(docstringText(description), 88), '');
    lines.push('Generated by Tensorify Server. Run it with: python main.py --inputs inputs.json');
    if (this.webhook !== undefined) {
      const secret = this.webhook.signature === 'none' ? '' : 'TENSORIFY_WEBHOOK_SECRET=whsec_… ';
      lines.push(`Serve its webhook with: ${secret}python main.py --serve`);
    }
    lines.push('"""');
    return lines.join('\n');
  }

  private mainImports(): string {
    const { usedTypes } = this.plan;
    const lines = ['from typing import Any', ...usedTypes.flatMap((type) => this.catalog.resolve(type)!.imports)];
    if (this.namesRead.has('os')) lines.push('import os');
    const utilsExports = new Set(this.utilsFragments().flatMap((fragment) => fragment.defines));
    const fromUtils = [...this.namesRead].filter((name) => utilsExports.has(name)).sort();
    return `${mergeImports(lines)}\n\n${fromImport('utils', fromUtils)}`;
  }

  /** What utils.py holds: the runtime, the helpers of the node types used, and the webhook server for a webhook trigger. */
  private utilsFragments(): PythonFragment[] {
    const helpers = this.plan.usedTypes.flatMap((type) => this.templates.nodeHelpers(type) ?? []);
    return [this.templates.runtime, ...helpers, ...(this.webhook === undefined ? [] : [this.templates.webhookServer])];
  }

  private renderUtils(): string {
    const fragments = this.utilsFragments();
    return this.templates.renderSkeleton('utils', {
      imports: new PythonCode(mergeImports(fragments.flatMap((fragment) => fragment.imports))),
      definitions: new PythonCode(afterImports(fragments.map((fragment) => fragment.body).join('\n\n\n'))),
    });
  }
}

/** What run() does with a node's result: returns it, keeps it for a later reader, or drops it. */
function assignment(node: NodePlan): string {
  if (node.role === 'return') return 'return ';
  if (node.role === 'branch') return node.passedRead ? `${node.passed} = ` : '';
  return node.outputRead ? `${node.variable} = ` : '';
}

/**
 * The names a type's template may call, and call attributes of: its helpers, what its import
 * lines bind (`nn` in `nn.Linear`), and its port parameters (`model` in `model.parameters`).
 */
function callable(definition: NodeTypeDefinition): ReadonlySet<string> {
  const ports = (definition.python?.parameters ?? []).filter((parameter) => parameter !== 'ctx' && parameter !== 'input');
  return new Set([...(definition.python?.helpers ?? []), ...definition.imports.flatMap(importedNames), ...ports]);
}

function escapeBraces(text: string): string {
  return text.replace(/[{}]/g, (brace) => brace + brace);
}

function unescapeBraces(text: string): string {
  return text.replace(/\{\{|\}\}/g, (pair) => pair[0]);
}

/** Words of `text` in lines of at most `width` characters (a longer word gets its own line). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}
