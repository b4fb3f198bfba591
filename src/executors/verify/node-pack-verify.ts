import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { GraphValidator } from '../../graph/graph-validator';
import type { WorkflowEdgeInput, WorkflowNodeInput } from '../../graph/graph.types';
import { defaultTemplatesDir, NodeCatalog } from '../../nodes/node-catalog';
import { NODE_API_VERSION } from '../../nodes/node-pack-loader';
import type { NodeTypeDefinition } from '../../nodes/node-type';
import type { ProgramFiles } from '@tensorify/executor-sdk';
import semver from 'semver';
import { errorMessage, readPackageJson } from '../plugin-loader';
import { DEFAULT_PIP_ARGS, type ExampleRunOptions, runExamples } from './node-pack-run';
import { NPM_NAME, type Target, withTarget } from './verify-target';
import { defaultCodegenRoot, TemplateSet } from '../../codegen/template-set';
import { type CompileInput, WorkflowCompiler } from '../../codegen/workflow-compiler';

/** One rule of a node pack: `package` and `pack` for the pack as a whole (`requirements` and `run` too, without a type), else about one type. */
export interface NodePackCheck {
  rule: 'package' | 'pack' | 'requirements' | 'load' | 'helpers' | 'example' | 'run';
  type?: string;
  /** `skip`: not checked (`run` without `--run`). */
  status: 'pass' | 'fail' | 'skip';
  message: string;
  /** For `run`: the exit code, the output and the last lines the example logged. */
  details?: unknown;
}

/** What `tensorify-server plugins verify` found in a node pack; `--json` prints it as is. */
export interface NodePackReport {
  kind: 'node-pack';
  /** The argument, as given. */
  target: string;
  /** How it was read: a directory, a packed tarball (extracted to a temporary directory, removed afterwards), or an installed package. */
  from: Target['kind'];
  packagePath: string;
  packageName: string | null;
  packageVersion: string | null;
  nodeApiVersion: number;
  ok: boolean;
  checks: NodePackCheck[];
}

export interface NodePackVerifyOptions extends ExampleRunOptions {
  /** The Python that runs py_compile, pyflakes and black (they must be installed for it); default `python3`. */
  python?: string;
  /** Also run each type's example through the local executor, in a virtualenv with the pack's requirements. */
  run?: boolean;
  /** Where a relative path and a package name are resolved from (default: the working directory). */
  cwd?: string;
}

const exec = promisify(execFile);

/**
 * Checks a node pack as the server loads it (node-pack-loader.ts, through the same NodeCatalog:
 * manifest, API version, each type's schema, template gate, helpers.py compiling), then what the
 * server does not enforce: the package's name and version, pyflakes on each helpers.py, and each
 * type's `example` settings exported into a small workflow (manual trigger → the node, with
 * producers of its typed inputs → return) whose main.py and utils.py pass py_compile, pyflakes and
 * black; with `run`, that program is run through the local executor.
 *
 * `target` is a pack directory, a `.tgz` made by npm pack (extracted to a temporary directory), or
 * the name of a pack installed in a node_modules of `cwd` or a parent, as for executor plugins.
 * Throws {@link VerifyUsageError} when it names none of these.
 */
export async function verifyNodePack(target: string, options: NodePackVerifyOptions = {}): Promise<NodePackReport> {
  return withTarget(target, options.cwd ?? process.cwd(), (resolved) => verifyResolvedNodePack(target, resolved, options));
}

/** {@link verifyNodePack} of a target already found (and unpacked); the caller cleans it up. */
export async function verifyResolvedNodePack(target: string, resolved: Target, options: NodePackVerifyOptions = {}): Promise<NodePackReport> {
  const python = options.python ?? 'python3';
  const { packagePath } = resolved;
  const checks: NodePackCheck[] = [];
  const typeChecks: NodePackCheck[] = [];
  let packageJson: Record<string, unknown> | undefined;
  const report = (): NodePackReport => {
    const all = [...checks, ...typeChecks];
    return {
      kind: 'node-pack',
      target,
      from: resolved.kind,
      packagePath,
      packageName: typeof packageJson?.name === 'string' ? packageJson.name : null,
      packageVersion: typeof packageJson?.version === 'string' ? packageJson.version : null,
      nodeApiVersion: NODE_API_VERSION,
      ok: all.every((check) => check.status !== 'fail'),
      checks: all,
    };
  };
  try {
    packageJson = await readPackageJson(packagePath);
  } catch (error) {
    checks.push({ rule: 'package', status: 'fail', message: `cannot read package.json: ${errorMessage(error)}` });
    return report();
  }
  checks.push(packageCheck(packageJson));

  const catalog = await NodeCatalog.loadPacks(defaultTemplatesDir(), { extra: [packagePath], python });
  const pack = catalog.packs()[1];
  if (pack.loadError !== undefined) {
    const hint =
      resolved.kind === 'tarball' && /folder .* cannot be read \(ENOENT\)/.test(pack.loadError) ? ' (is the folder in the "files" of package.json?)' : '';
    checks.push({ rule: 'pack', status: 'fail', message: `${pack.loadError}${hint}` });
    return report();
  }
  if (pack.types.length === 0) {
    checks.push({ rule: 'pack', status: 'fail', message: `namespace "${pack.namespace}", but its node types folder holds no type (a folder per type)` });
    return report();
  }
  const count = `${pack.types.length} type${pack.types.length === 1 ? '' : 's'}`;
  checks.push({ rule: 'pack', status: 'pass', message: `node API ${NODE_API_VERSION}, namespace "${pack.namespace}", ${count}` });
  const templates = await TemplateSet.load(defaultCodegenRoot(), catalog);
  const compiler = new WorkflowCompiler(catalog, templates, new GraphValidator(catalog));
  const programs: { type: string; files: ProgramFiles }[] = [];
  for (const status of pack.types) {
    if (status.loadError !== undefined) {
      typeChecks.push({ rule: 'load', type: status.type, status: 'fail', message: status.loadError });
      continue;
    }
    typeChecks.push({ rule: 'load', type: status.type, status: 'pass', message: 'manifest, settings schema, template and helpers.py load' });
    const definition = catalog.resolve(status.type)!;
    const { helpersFile } = catalog.filesOf(status.type);
    if (helpersFile !== undefined) {
      const problem = await pythonTool(python, ['-m', 'pyflakes', helpersFile]);
      typeChecks.push({ rule: 'helpers', type: status.type, status: problem === undefined ? 'pass' : 'fail', message: problem ?? 'pyflakes finds nothing' });
    }
    const example = await checkExample(catalog, compiler, definition, python);
    typeChecks.push({ rule: 'example', type: status.type, status: example.status, message: example.message });
    if (example.files !== undefined) programs.push({ type: status.type, files: example.files });
  }

  if (!options.run) {
    typeChecks.push({ rule: 'run', status: 'skip', message: "not checked: add --run to run each type's example through the local executor" });
    return report();
  }
  const runs = await runExamples(programs, options);
  const installFailure = runs.find((run) => run.installProblem !== undefined);
  const requirements = [...new Set(pack.types.flatMap((status) => catalog.resolve(status.type)?.requirements ?? []))];
  if (installFailure !== undefined) {
    checks.push({ rule: 'requirements', status: 'fail', message: `cannot be installed here: ${installFailure.installProblem!}` });
  } else if (runs.length > 0) {
    const pip = (options.pipArgs ?? DEFAULT_PIP_ARGS).join(' ');
    const what = requirements.length === 0 ? 'none declared' : `${requirements.join(', ')}: installed with pip${pip ? ` ${pip}` : ''}`;
    checks.push({ rule: 'requirements', status: 'pass', message: what });
  }
  for (const run of runs) {
    // After the type's own checks, in the order the report lists a type's rules.
    const at = typeChecks.map((check) => check.type).lastIndexOf(run.type) + 1;
    typeChecks.splice(at, 0, { rule: 'run', type: run.type, status: run.status, message: run.message, ...(run.details ? { details: run.details } : {}) });
  }
  return report();
}

const SEMVER_HINT = 'a semantic version such as 1.0.0';

/** Rule `package`: the name and version npm and `GET /v1/node-packs` show, as npm requires them. */
function packageCheck(packageJson: Record<string, unknown>): NodePackCheck {
  const { name, version } = packageJson;
  const problems: string[] = [];
  if (typeof name !== 'string' || !NPM_NAME.test(name) || name.length > 214)
    problems.push(`"name" ${JSON.stringify(name) ?? 'is missing'}${name === undefined ? '' : ' is not a valid npm package name'}`);
  if (typeof version !== 'string' || semver.valid(version) !== version)
    problems.push(`"version" ${version === undefined ? `is missing (${SEMVER_HINT})` : `${JSON.stringify(version)} is not ${SEMVER_HINT}`}`);
  if (problems.length > 0) return { rule: 'package', status: 'fail', message: `package.json: ${problems.join('; ')}` };
  return { rule: 'package', status: 'pass', message: `${String(name)}@${String(version)}` };
}

/**
 * The type's `example` exported into a workflow of that one node between a manual trigger and a
 * return node — plus, for each typed input (a model, a split), a node of a type that gives one (of
 * its own pack first), with its own example settings — checked with py_compile, pyflakes and
 * black. The program's files come back with the verdict whenever the workflow exported.
 */
async function checkExample(
  catalog: NodeCatalog,
  compiler: WorkflowCompiler,
  definition: NodeTypeDefinition,
  python: string,
): Promise<{ status: 'pass' | 'fail'; message: string; files?: ProgramFiles }> {
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
  nodes.push({ id: 'result', type: 'return', settings: {} });
  edges.push({ source: 'example', target: 'result' });
  const workflow: CompileInput = { id: 'wf_VerifyNodePack0', version: 1, name: `Example of ${definition.type}`, description: '', nodes, edges };
  let files: ProgramFiles;
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
      if (problem !== undefined) return { status: 'fail', message: `the exported example fails ${tool}: ${problem}`, files };
    }
    return { status: 'pass', message: 'the example settings export into a program that passes py_compile, pyflakes and black', files };
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

const NODE_PACK_MARKS: Record<NodePackCheck['status'], string> = { pass: 'pass', fail: 'FAIL', skip: 'skip' };

/** The report as a checklist: the package and the pack, then each type's rules. */
export function formatNodePackReport(report: NodePackReport): string {
  const name = report.packageName === null ? report.target : `${report.packageName}${report.packageVersion ? ` ${report.packageVersion}` : ''}`;
  const from = report.from === 'tarball' ? ` (extracted from ${report.target})` : '';
  const lines = [`Node pack ${name} at ${report.packagePath}${from}, against node API ${report.nodeApiVersion}`, ''];
  const width = Math.max(...report.checks.map((check) => check.rule.length));
  for (const check of report.checks)
    lines.push(`  ${NODE_PACK_MARKS[check.status]}  ${check.rule.padEnd(width)}  ${check.type ?? ''}${check.type ? ': ' : ''}${check.message}`);
  const count = (status: NodePackCheck['status']) => report.checks.filter((check) => check.status === status).length;
  const ran = report.checks.some((check) => check.rule === 'run' && check.type !== undefined);
  const verdict = !report.ok
    ? 'see the failed rules'
    : ran
      ? "the server would load every type of this pack, and each type's example runs"
      : 'the server would load every type of this pack';
  lines.push('', `${count('pass')} passed, ${count('fail')} failed, ${count('skip')} skipped: ${verdict}.`);
  return lines.join('\n');
}
