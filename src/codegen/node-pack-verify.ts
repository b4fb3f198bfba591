import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { GraphValidator } from '../graph/graph-validator';
import type { WorkflowEdgeInput, WorkflowNodeInput } from '../graph/graph.types';
import { defaultTemplatesDir, NodeCatalog } from '../nodes/node-catalog';
import { NODE_API_VERSION } from '../nodes/node-pack-loader';
import type { NodeTypeDefinition } from '../nodes/node-type';
import { defaultCodegenRoot, TemplateSet } from './template-set';
import { type CompileInput, WorkflowCompiler } from './workflow-compiler';

/** One rule of a node pack: `pack` for the pack as a whole, else about one type. */
export interface NodePackCheck {
  rule: 'pack' | 'load' | 'helpers' | 'example';
  type?: string;
  status: 'pass' | 'fail';
  message: string;
}

/** What `tensorify-server plugins verify` found in a node pack; `--json` prints it as is. */
export interface NodePackReport {
  kind: 'node-pack';
  packagePath: string;
  packageName: string | null;
  packageVersion: string | null;
  nodeApiVersion: number;
  ok: boolean;
  checks: NodePackCheck[];
}

export interface NodePackVerifyOptions {
  /** The Python that runs py_compile, pyflakes and black (they must be installed for it); default `python3`. */
  python?: string;
}

const exec = promisify(execFile);

/**
 * Checks a node pack directory as the server loads it (node-pack-loader.ts, through the same
 * NodeCatalog: manifest, API version, each type's schema, template gate, helpers.py compiling),
 * then what the server does not enforce: pyflakes on each helpers.py, and each type's `example`
 * settings exported into a one-node workflow (behind a manual trigger) whose main.py and utils.py
 * pass py_compile, pyflakes and black.
 */
export async function verifyNodePack(packagePath: string, options: NodePackVerifyOptions = {}): Promise<NodePackReport> {
  const python = options.python ?? 'python3';
  const catalog = await NodeCatalog.loadPacks(defaultTemplatesDir(), { extra: [packagePath], python });
  const pack = catalog.packs()[1];
  const checks: NodePackCheck[] = [];
  const report = (): NodePackReport => ({
    kind: 'node-pack',
    packagePath,
    packageName: pack.path === null ? null : pack.name,
    packageVersion: pack.version || null,
    nodeApiVersion: NODE_API_VERSION,
    ok: checks.every((check) => check.status === 'pass'),
    checks,
  });
  if (pack.loadError !== undefined) {
    checks.push({ rule: 'pack', status: 'fail', message: pack.loadError });
    return report();
  }
  checks.push({ rule: 'pack', status: 'pass', message: `namespace "${pack.namespace}", ${pack.types.length} type${pack.types.length === 1 ? '' : 's'}` });
  const templates = await TemplateSet.load(defaultCodegenRoot(), catalog);
  const compiler = new WorkflowCompiler(catalog, templates, new GraphValidator(catalog));
  for (const status of pack.types) {
    if (status.loadError !== undefined) {
      checks.push({ rule: 'load', type: status.type, status: 'fail', message: status.loadError });
      continue;
    }
    checks.push({ rule: 'load', type: status.type, status: 'pass', message: 'manifest, settings schema, template and helpers.py load' });
    const definition = catalog.resolve(status.type)!;
    const { helpersFile } = catalog.filesOf(status.type);
    if (helpersFile !== undefined) {
      const problem = await pythonTool(python, ['-m', 'pyflakes', helpersFile]);
      checks.push({ rule: 'helpers', type: status.type, status: problem === undefined ? 'pass' : 'fail', message: problem ?? 'pyflakes finds nothing' });
    }
    checks.push({ rule: 'example', type: status.type, ...(await checkExample(catalog, compiler, definition, python)) });
  }
  return report();
}

/**
 * The type's `example` exported into a workflow of that one node behind a manual trigger — plus,
 * for each typed input (a model, a split), a node of a type that gives one (of its own pack first),
 * with its own example settings — checked with py_compile, pyflakes and black.
 */
async function checkExample(
  catalog: NodeCatalog,
  compiler: WorkflowCompiler,
  definition: NodeTypeDefinition,
  python: string,
): Promise<Omit<NodePackCheck, 'rule' | 'type'>> {
  const nodes: WorkflowNodeInput[] = [{ id: 'trigger', type: 'manual', settings: {} }];
  const edges: WorkflowEdgeInput[] = [];
  const namespace = definition.type.split('/')[0];
  const add = (type: NodeTypeDefinition, id: string, depth: number): void => {
    nodes.push({ id, type: type.type, settings: type.example ?? {} });
    if (type.inputs.length === 0 && !type.trigger) edges.push({ source: 'trigger', target: id });
    for (const input of type.inputs) {
      const producer =
        input.dataType === 'any' || input.dataType === 'object' || depth > 4
          ? undefined
          : catalog
              .list()
              .filter((other) => other.outputs.some((port) => port.dataType === input.dataType))
              .sort((x, y) => Number(y.type.startsWith(`${namespace}/`)) - Number(x.type.startsWith(`${namespace}/`)))[0];
      if (producer === undefined) {
        edges.push({ source: 'trigger', target: id, targetHandle: input.id });
        continue;
      }
      const producerId = `${id}_${input.id.replace(/[^A-Za-z0-9_]/g, '_')}`;
      add(producer, producerId, depth + 1);
      const port = producer.outputs.find((output) => output.dataType === input.dataType)!;
      edges.push({ source: producerId, target: id, sourceHandle: port.id, targetHandle: input.id });
    }
  };
  if (definition.trigger) nodes.splice(0, 1, { id: 'example', type: definition.type, settings: definition.example ?? {} });
  else add(definition, 'example', 0);
  const workflow: CompileInput = { id: 'wf_VerifyNodePack0', version: 1, name: `Example of ${definition.type}`, description: '', nodes, edges };
  let files: Record<string, string>;
  try {
    files = compiler.compile(workflow);
  } catch (error) {
    return { status: 'fail', message: `the example settings do not export: ${(error as Error).message}` };
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'tensorify-verify-pack-'));
  try {
    await Promise.all(Object.entries(files).map(([name, text]) => writeFile(path.join(dir, name), text)));
    const sources = ['main.py', 'utils.py'].map((name) => path.join(dir, name));
    for (const [tool, args] of [
      ['py_compile', ['-m', 'py_compile', ...sources]],
      ['pyflakes', ['-m', 'pyflakes', ...sources]],
      ['black', ['-m', 'black', '--check', '--quiet', ...sources]],
    ] as const) {
      const problem = await pythonTool(python, [...args]);
      if (problem !== undefined) return { status: 'fail', message: `the exported example fails ${tool}: ${problem}` };
    }
    return { status: 'pass', message: 'the example settings export into a program that passes py_compile, pyflakes and black' };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs `python args`: undefined when it exits 0, else what it printed (paths as they were given). */
async function pythonTool(python: string, args: string[]): Promise<string | undefined> {
  try {
    await exec(python, args, { timeout: 120_000 });
    return undefined;
  } catch (error) {
    const { stdout = '', stderr = '', message } = error as { stdout?: string; stderr?: string; message: string };
    const text = `${stdout}${stderr}`.trim() || message;
    if (/No module named (pyflakes|black)/.test(text)) return `${text} (install pyflakes and black for ${python})`;
    return text;
  }
}

/** The report as a checklist: the pack, then each type's rules. */
export function formatNodePackReport(report: NodePackReport): string {
  const name = report.packageName === null ? report.packagePath : `${report.packageName}${report.packageVersion ? ` ${report.packageVersion}` : ''}`;
  const lines = [`Node pack ${name} at ${report.packagePath}, against node API ${report.nodeApiVersion}`, ''];
  for (const check of report.checks)
    lines.push(`  ${check.status === 'pass' ? 'pass' : 'FAIL'}  ${check.rule.padEnd(7)}  ${check.type ?? ''}${check.type ? ': ' : ''}${check.message}`);
  const failed = report.checks.filter((check) => check.status === 'fail').length;
  lines.push(
    '',
    `${report.checks.length - failed} passed, ${failed} failed: ${report.ok ? 'the server would load every type of this pack' : 'see the failed rules'}.`,
  );
  return lines.join('\n');
}
