import type { GeneratedFiles, WorkflowCompiler } from '../../src/codegen/workflow-compiler';
import type { WorkflowEdgeInput, WorkflowNodeInput } from '../../src/workflows/graph/graph.types';
import { shippedCompiler } from '../support/compiler';
import { runProgram, runTool, writeProgram } from '../support/python';

const trigger: WorkflowNodeInput = { id: 'trigger', type: 'manual', settings: {} };
const branch = (id: string, condition: string): WorkflowNodeInput => ({ id, type: 'if', settings: { condition } });
const ret = (id: string, value: unknown): WorkflowNodeInput => ({ id, type: 'return', settings: { value } });
const transform = (id: string, value: unknown): WorkflowNodeInput => ({ id, type: 'transform', settings: { value } });
const code = (id: string, body: string): WorkflowNodeInput => ({ id, type: 'code', settings: { code: body } });
const edge = (source: string, target: string, sourceHandle?: 'true' | 'false'): WorkflowEdgeInput => ({ source, target, sourceHandle });

describe('Generated programs: branches, merges, returns and names', () => {
  let compiler: WorkflowCompiler;
  const dirs: string[] = [];

  beforeAll(async () => {
    compiler = await shippedCompiler();
  });

  async function build(nodes: WorkflowNodeInput[], edges: WorkflowEdgeInput[]): Promise<{ files: GeneratedFiles; dir: string }> {
    const files = compiler.compile({ id: 'wf_Branching000000001', version: 1, name: 'Branching', description: '', nodes, edges });
    const dir = await writeProgram(files);
    dirs.push(dir);
    return { files, dir };
  }

  async function outputOf(dir: string, inputs: unknown, env?: Record<string, string>): Promise<unknown> {
    const run = await runProgram(dir, { inputs, env });
    if (run.status !== 0) throw new Error(`exit ${run.status}: ${run.stderr}`);
    return run.output;
  }

  it('nests an if inside a branch of another; after a side that returns, the other side simply follows', async () => {
    const { files, dir } = await build(
      [trigger, branch('sign', '{{ trigger.x }} > 0'), branch('second', '{{ trigger.y }} > 0'), ret('pp', 'pp'), ret('pn', 'pn'), ret('neg', 'n')],
      [edge('trigger', 'sign'), edge('sign', 'second', 'true'), edge('second', 'pp', 'true'), edge('second', 'pn', 'false'), edge('sign', 'neg', 'false')],
    );
    expect(files['main.py']).toContain(
      [
        '    sign_passed = sign(trigger_output)',
        '    if sign_passed:',
        '        second_passed = second(trigger_output)',
        '        if second_passed:',
        '            return pp()',
        '        return pn()',
        '    return neg()',
      ].join('\n'),
    );
    expect(await outputOf(dir, { x: 1, y: 1 })).toBe('pp');
    expect(await outputOf(dir, { x: 1, y: -1 })).toBe('pn');
    expect(await outputOf(dir, { x: -1, y: 1 })).toBe('n');
  });

  it('uses else: when the first side of a branch does not return', async () => {
    const { files, dir } = await build(
      [trigger, branch('check', '{{ trigger.flag }}'), transform('yes', 'y'), transform('no', 'n'), ret('out', ['{{ yes }}', '{{ no }}'])],
      [edge('trigger', 'check'), edge('check', 'yes', 'true'), edge('check', 'no', 'false'), edge('yes', 'out'), edge('no', 'out')],
    );
    expect(files['main.py']).toContain(
      '    if check_passed:\n        yes_output = yes()\n    else:\n        no_output = no()\n    return out(yes_output, no_output)\n',
    );
    expect(await outputOf(dir, { flag: false })).toEqual([null, 'n']);
  });

  it('keeps a long chain of guarded steps flat: each branch that returns becomes a guard clause', async () => {
    const nodes: WorkflowNodeInput[] = [trigger];
    const edges: WorkflowEdgeInput[] = [];
    let previous = 'trigger';
    for (let index = 0; index < 150; index++) {
      nodes.push(branch(`c${index}`, `{{ trigger.n }} > ${index}`), ret(`stop${index}`, index), transform(`s${index}`, index));
      edges.push(edge(previous, `c${index}`), edge(`c${index}`, `stop${index}`, 'false'), edge(`c${index}`, `s${index}`, 'true'));
      previous = `s${index}`;
    }
    const { files, dir } = await build(nodes, edges);
    const runBody = files['main.py'].slice(files['main.py'].indexOf('def run('));
    expect(Math.max(...runBody.split('\n').map((line) => line.length - line.trimStart().length))).toBe(8);
    expect(await outputOf(dir, { n: 7 })).toBe(7);
    expect(await outputOf(dir, { n: 1000 })).toEqual({});
  });

  it('tests the deeper branches of a node together once nesting would pass 8 levels', async () => {
    const nodes: WorkflowNodeInput[] = [trigger];
    const edges: WorkflowEdgeInput[] = [];
    let previous = 'trigger';
    for (let index = 0; index < 20; index++) {
      nodes.push(branch(`c${index}`, `{{ trigger.n }} > ${index}`), transform(`s${index}`, index));
      edges.push(edge(previous, `c${index}`), edge(`c${index}`, `s${index}`, 'true'));
      previous = `s${index}`;
    }
    nodes.push(ret('out', '{{ s19 }}'));
    edges.push(edge('s19', 'out'));
    const { files, dir } = await build(nodes, edges);
    expect(files['main.py']).toContain(`${' '.repeat(4 * 9)}if c8_passed:\n`);
    expect(files['main.py']).toContain(`${' '.repeat(4 * 9)}if c8_passed and c9_passed and c10_passed:\n`);
    expect(files['main.py']).not.toContain(`${' '.repeat(4 * 10)}if `);
    expect(await outputOf(dir, { n: 100 })).toBe(19);
    expect(await outputOf(dir, { n: 18 })).toEqual({});
  });

  it('runs a node fed by both branches once, with the input of the branch that ran', async () => {
    const { files, dir } = await build(
      [
        trigger,
        branch('check', '{{ trigger.flag }}'),
        transform('yes', 'took true'),
        transform('no', 'took false'),
        code('merge', 'return {"got": input}'),
        ret('out', '{{ merge }}'),
      ],
      [edge('trigger', 'check'), edge('check', 'yes', 'true'), edge('check', 'no', 'false'), edge('yes', 'merge'), edge('no', 'merge'), edge('merge', 'out')],
    );
    expect(files['main.py']).toContain('    merge_output = merge(first_value(no_output, yes_output), ctx)');
    expect(await outputOf(dir, { flag: true })).toEqual({ got: 'took true' });
    expect(await outputOf(dir, { flag: false })).toEqual({ got: 'took false' });
  });

  it('gives None for the output of a node on the branch not taken', async () => {
    const { files, dir } = await build(
      [trigger, branch('check', '{{ trigger.flag }}'), transform('yes', 'y'), transform('no', 'n'), ret('out', { yes: '{{ yes }}', no: '{{ no }}' })],
      [edge('trigger', 'check'), edge('check', 'yes', 'true'), edge('check', 'no', 'false'), edge('yes', 'out'), edge('no', 'out')],
    );
    expect(files['main.py']).toContain('    yes_output = None\n    no_output = None\n    trigger_output = trigger(ctx)\n');
    expect(await outputOf(dir, { flag: true })).toEqual({ yes: 'y', no: null });
    expect(await outputOf(dir, { flag: false })).toEqual({ yes: null, no: 'n' });
  });

  it('tests an or of branch paths where a node is reached through branches that do not merge', async () => {
    const { files, dir } = await build(
      [
        trigger,
        branch('first', '{{ trigger.a }}'),
        branch('second', '{{ trigger.b }}'),
        transform('shared', 'shared'),
        ret('out', '{{ shared }}'),
        ret('none', 'none'),
      ],
      [
        edge('trigger', 'first'),
        edge('first', 'shared', 'true'),
        edge('first', 'second', 'false'),
        edge('second', 'shared', 'true'),
        edge('second', 'none', 'false'),
        edge('shared', 'out'),
      ],
    );
    expect(files['main.py']).toContain('    if first_passed or not first_passed and second_passed:\n');
    expect(await outputOf(dir, { a: true, b: false })).toBe('shared');
    expect(await outputOf(dir, { a: false, b: true })).toBe('shared');
    expect(await outputOf(dir, { a: false, b: false })).toBe('none');
  });

  it('collapses a chain of diamonds back to unconditional code', async () => {
    const nodes: WorkflowNodeInput[] = [trigger];
    const edges: WorkflowEdgeInput[] = [];
    let previous = 'trigger';
    for (let index = 0; index < 12; index++) {
      nodes.push(
        branch(`c${index}`, `{{ trigger.n }} > ${index}`),
        transform(`t${index}`, index),
        transform(`f${index}`, -index),
        code(`m${index}`, 'return {"v": input}'),
      );
      edges.push(
        edge(previous, `c${index}`),
        edge(`c${index}`, `t${index}`, 'true'),
        edge(`c${index}`, `f${index}`, 'false'),
        edge(`t${index}`, `m${index}`),
        edge(`f${index}`, `m${index}`),
      );
      previous = `m${index}`;
    }
    nodes.push(ret('out', `{{ ${previous}.v }}`));
    edges.push(edge(previous, 'out'));
    const { files, dir } = await build(nodes, edges);
    expect(files['main.py']).not.toContain(' or ');
    expect(files['main.py']).toContain('\n    return out(m11_output)\n');
    expect(await outputOf(dir, { n: 20 })).toBe(11);
    expect(await outputOf(dir, { n: 5 })).toBe(-11);
  });

  it('ends the run at the first return reached: nodes after an unconditional return are left out', async () => {
    const { files, dir } = await build(
      [trigger, ret('out', 'first'), transform('later', 'never'), ret('late', 'late')],
      [edge('trigger', 'out'), edge('trigger', 'later'), edge('later', 'late')],
    );
    expect(files['main.py']).not.toContain('def later(');
    expect(files['main.py']).not.toContain('def late(');
    expect(await outputOf(dir, {})).toBe('first');
  });

  it('outputs {} when no return is reached', async () => {
    const { files, dir } = await build([trigger, transform('step', 'x')], [edge('trigger', 'step')]);
    expect(files['main.py']).toContain('    trigger(ctx)\n    step()\n    return {}\n');
    expect(files['main.py']).not.toContain('step_output =');
    expect(await outputOf(dir, {})).toEqual({});
  });

  it('names functions after node ids, and renames ids that would shadow keywords, builtins or program names', async () => {
    const ids = ['if', 'print', 'text', 'run', 'main', 'ctx', 'os', 'node', 'run_program', 'if_node', 'sum'];
    const nodes = [trigger, ...ids.map((id, index) => transform(id, index === 0 ? '{{ trigger.v }}' : `{{ ${ids[index - 1]} }}`))];
    nodes.push(ret('out', { last: '{{ sum }}', length: '{{ text }}' }));
    const edges = [edge('trigger', 'if'), ...ids.slice(1).map((id, index) => edge(ids[index], id)), edge('sum', 'out')];
    const { files, dir } = await build(nodes, edges);
    // Names are given in workflow order: "if" takes if_node first, so the node "if_node" gets if_node_node.
    for (const name of [
      'def if_node(',
      'def if_node_node(',
      'def print_node(',
      'def text_node(',
      'def run_node(',
      'def main_node(',
      'def ctx_node(',
      'def os_node(',
      'def node_node(',
      'def run_program_node(',
      'def sum_node(',
    ]) {
      expect(files['main.py']).toContain(name);
    }
    expect(await outputOf(dir, { v: 'through' })).toEqual({ last: 'through', length: 'through' });
  });

  it('reads {{ inputs.… }} from the run context and {{ env.… }} when the node runs', async () => {
    const { dir } = await build(
      [
        trigger,
        transform('step', { input: '{{ inputs.who }}', env: 'home={{ env.TENSORIFY_TEST_VALUE }}', unset: '{{ env.TENSORIFY_UNSET }}' }),
        ret('out', '{{ step }}'),
      ],
      [edge('trigger', 'step'), edge('step', 'out')],
    );
    expect(await outputOf(dir, { who: 'me' }, { TENSORIFY_TEST_VALUE: 'x y' })).toEqual({ input: 'me', env: 'home=x y', unset: null });
  });

  it('keeps the type of a lone binding and writes other values as JSON inside longer strings', async () => {
    const { dir } = await build(
      [
        trigger,
        ret('out', { alone: '{{ trigger.value }}', inside: 'v={{ trigger.value }} n={{ trigger.none }} s={{ trigger.s }}', braces: '{x} {{ "{{" }}y}}' }),
      ],
      [edge('trigger', 'out')],
    );
    expect(await outputOf(dir, { value: { a: [1, true] }, none: null, s: 'é' })).toEqual({
      alone: { a: [1, true] },
      inside: 'v={"a": [1, true]} n= s=é',
      braces: '{x} {{y}}',
    });
  });

  // Last, so it sees every program the tests above built.
  it('gives programs that pass pyflakes and black --check', () => {
    expect(dirs.length).toBeGreaterThan(10);
    const flakes = runTool(
      'pyflakes',
      dirs.map((dir) => `${dir}/main.py`),
    );
    expect(flakes.stdout + flakes.stderr).toBe('');
    const black = runTool('black', ['--check', '--diff', '--quiet', ...dirs.map((dir) => `${dir}/main.py`)]);
    expect(black.stdout + black.stderr).toBe('');
    expect(black.status).toBe(0);
  });
});
