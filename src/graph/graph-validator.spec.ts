import { performance } from 'node:perf_hooks';
import { defaultTemplatesDir, NodeCatalog } from '../nodes/node-catalog';
import type { WorkflowEdgeInput, WorkflowGraphInput, WorkflowNodeInput } from './graph.types';
import { GraphProblemCode, type GraphReport } from './graph-problem';
import { GraphValidator } from './graph-validator';

/** The graphs of the example workflows (the contract's request bodies), nodes and edges verbatim. */
const examples = {
  hello: {
    nodes: [
      { id: 'trigger', type: 'manual', settings: {} },
      { id: 'greeting', type: 'transform', settings: { value: { message: 'Hello, {{ trigger.name }}!' } } },
      { id: 'out', type: 'return', settings: { value: { result: '{{ greeting.message }}' } } },
    ],
    edges: [
      { source: 'trigger', target: 'greeting' },
      { source: 'greeting', target: 'out' },
    ],
  },
  codeBranch: {
    nodes: [
      { id: 'trigger', type: 'manual', settings: {} },
      { id: 'score', type: 'code', settings: { code: 'values = input["numbers"]\nreturn {"total": sum(values), "count": len(values)}' } },
      { id: 'check', type: 'if', settings: { condition: '{{ score.total }} > 10' } },
      { id: 'big', type: 'return', settings: { value: { verdict: 'big', total: '{{ score.total }}' } } },
      { id: 'small', type: 'return', settings: { value: { verdict: 'small', total: '{{ score.total }}' } } },
    ],
    edges: [
      { source: 'trigger', target: 'score' },
      { source: 'score', target: 'check' },
      { source: 'check', sourceHandle: 'true', target: 'big' },
      { source: 'check', sourceHandle: 'false', target: 'small' },
    ],
  },
  summarize: {
    nodes: [
      { id: 'trigger', type: 'manual', settings: {} },
      {
        id: 'llm',
        type: 'openai-chat',
        settings: {
          model: 'gpt-4o-mini',
          system: 'You are a concise assistant.',
          prompt: 'Summarize in one sentence: {{ trigger.prompt }}',
          temperature: 0.2,
          baseUrl: '{{ env.OPENAI_BASE_URL }}',
          apiKey: '{{ env.OPENAI_API_KEY }}',
        },
      },
      { id: 'out', type: 'return', settings: { value: { result: '{{ llm.text }}' } } },
    ],
    edges: [
      { source: 'trigger', target: 'llm' },
      { source: 'llm', target: 'out' },
    ],
  },
  classifier: {
    nodes: [
      { id: 'trigger', type: 'manual', settings: {} },
      { id: 'data', type: 'dataset-synthetic', settings: { samples: 512, features: 8, classes: 2, seed: 7 } },
      { id: 'loader', type: 'dataloader', settings: { batchSize: 32, shuffle: true } },
      { id: 'fc1', type: 'linear', settings: { inFeatures: 8, outFeatures: 16 } },
      { id: 'act', type: 'relu', settings: {} },
      { id: 'fc2', type: 'linear', settings: { inFeatures: 16, outFeatures: 2 } },
      { id: 'model', type: 'sequential', settings: {} },
      { id: 'loss', type: 'loss-cross-entropy', settings: {} },
      { id: 'opt', type: 'optimizer-adam', settings: { lr: '{{ trigger.lr }}' } },
      { id: 'train', type: 'train', settings: { epochs: 5 } },
      { id: 'eval', type: 'evaluate', settings: {} },
      { id: 'out', type: 'return', settings: { value: { accuracy: '{{ eval.accuracy }}', finalLoss: '{{ train.loss }}' } } },
    ],
    edges: [
      { source: 'trigger', target: 'data' },
      { source: 'data', target: 'loader' },
      { source: 'fc1', target: 'act' },
      { source: 'act', target: 'fc2' },
      { source: 'fc2', target: 'model' },
      { source: 'model', target: 'opt' },
      { source: 'trigger', target: 'opt' },
      { source: 'model', sourceHandle: 'model', target: 'train', targetHandle: 'model' },
      { source: 'loader', target: 'train', targetHandle: 'data' },
      { source: 'loss', target: 'train', targetHandle: 'loss' },
      { source: 'opt', target: 'train', targetHandle: 'optimizer' },
      { source: 'train', target: 'eval', targetHandle: 'model' },
      { source: 'loader', target: 'eval', targetHandle: 'data' },
      { source: 'eval', target: 'out' },
    ],
  },
} satisfies Record<string, WorkflowGraphInput>;

/** Stand-ins for node types not shipped yet: their handles as the examples use them, settings loosely typed. */
const VALID: GraphReport = { valid: true, errors: { nodes: {}, graph: [] } };

const trigger: WorkflowNodeInput = { id: 'trigger', type: 'manual', settings: {} };

function transform(id: string, value: unknown = id): WorkflowNodeInput {
  return { id, type: 'transform', settings: { value } };
}

function edge(source: string, target: string, extra: Partial<WorkflowEdgeInput> = {}): WorkflowEdgeInput {
  return { source, target, ...extra };
}

function codesByNode(report: GraphReport): Record<string, string[]> {
  return Object.fromEntries(Object.entries(report.errors.nodes).map(([id, problems]) => [id, problems.map((problem) => problem.code)]));
}

/** The shortest of `runs` timings, in milliseconds: the cost of the code once warm, not of a busy machine. */
function fastestOf(runs: number, work: () => unknown): number {
  let fastest = Infinity;
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    work();
    fastest = Math.min(fastest, performance.now() - started);
  }
  return fastest;
}

describe(GraphValidator.name, () => {
  let validator: GraphValidator;

  beforeAll(async () => {
    validator = new GraphValidator(await NodeCatalog.load(defaultTemplatesDir()));
  });

  /** Validates trigger → …nodes, where `edges` connect the given nodes (the trigger feeds the first one). */
  function validateAfterTrigger(nodes: WorkflowNodeInput[], edges: WorkflowEdgeInput[] = []): GraphReport {
    const first = nodes[0]?.id;
    return validator.validate({ nodes: [trigger, ...nodes], edges: first ? [edge('trigger', first), ...edges] : edges });
  }

  describe('the example workflows', () => {
    it('accepts hello', () => {
      expect(validator.validate(examples.hello)).toEqual(VALID);
    });

    it('accepts code-branch', () => {
      expect(validator.validate(examples.codeBranch)).toEqual(VALID);
    });

    it('accepts summarize', () => {
      expect(validator.validate(examples.summarize)).toEqual(VALID);
    });

    it('accepts classifier, with its named handles and its layer nodes without incoming edges', () => {
      expect(validator.validate(examples.classifier)).toEqual(VALID);
    });
  });

  describe('a valid graph', () => {
    it('may leave out settings', () => {
      const report = validator.validate({
        nodes: [
          { id: 'trigger', type: 'manual' },
          { id: 'out', type: 'return' },
        ],
        edges: [edge('trigger', 'out')],
      });
      expect(report).toEqual(VALID);
    });

    it('may hold a node without incoming edges', () => {
      expect(validateAfterTrigger([transform('first'), transform('lonely')])).toEqual(VALID);
    });

    it('may lead several edges into the same input', () => {
      const report = validateAfterTrigger([transform('a'), transform('b'), transform('join')], [edge('trigger', 'b'), edge('a', 'join'), edge('b', 'join')]);
      expect(report).toEqual(VALID);
    });

    it('may pin a node type to its major version', () => {
      expect(validator.validate({ nodes: [{ ...trigger, type: 'manual@1' }], edges: [] })).toEqual(VALID);
    });

    it('may name the single handles explicitly', () => {
      const report = validateAfterTrigger([transform('a'), transform('b')], [edge('a', 'b', { sourceHandle: 'out', targetHandle: 'in' })]);
      expect(report).toEqual(VALID);
    });

    it('reads null handles as absent', () => {
      const report = validateAfterTrigger([transform('a'), transform('b')], [edge('a', 'b', { sourceHandle: null, targetHandle: null })]);
      expect(report).toEqual(VALID);
    });

    it('may bind inputs and env anywhere', () => {
      const report = validateAfterTrigger([transform('a', { list: ['{{ inputs.items[0] }}', { key: '{{ env.API_KEY }}' }] })]);
      expect(report).toEqual(VALID);
    });

    it("takes a code node's Python as written, braces and all, without reading bindings in it", () => {
      const code = { id: 'py', type: 'code', settings: { code: 'label = f"{{literal}} {input}"\nreturn {"label": label, "pair": {{1, 2}} == {{1, 2}}}' } };
      expect(validateAfterTrigger([code])).toEqual(VALID);
    });

    it('may bind a node upstream through several edges', () => {
      const report = validateAfterTrigger([transform('a'), transform('b'), transform('c', '{{ trigger.name }} {{ a }}')], [edge('a', 'b'), edge('b', 'c')]);
      expect(report).toEqual(VALID);
    });
  });

  describe('node ids', () => {
    it.each(['Upper', '1st', '', 'with-dash', 'a'.repeat(65)])('reports INVALID_NODE_ID for "%s"', (id) => {
      const report = validateAfterTrigger([transform(id)]);
      expect(report.errors.nodes[id]).toEqual([
        {
          code: GraphProblemCode.INVALID_NODE_ID,
          message: `Node id "${id}" is not valid: use 1 to 64 lowercase letters, digits and underscores, not starting with a digit.`,
          path: '/nodes/1/id',
        },
      ]);
    });

    it('accepts an id of 64 characters', () => {
      expect(validateAfterTrigger([transform('a'.repeat(64))])).toEqual(VALID);
    });

    it('reports DUPLICATE_NODE_ID on the repeated node, naming both positions', () => {
      const report = validateAfterTrigger([transform('twin'), transform('twin')]);
      expect(report.errors.nodes.twin).toEqual([
        {
          code: GraphProblemCode.DUPLICATE_NODE_ID,
          message: 'Node id "twin" is used by more than one node (at indexes 1 and 2); give each node its own id.',
          path: '/nodes/2/id',
        },
      ]);
    });

    it.each(['inputs', 'env'])('reports RESERVED_NODE_ID for "%s"', (id) => {
      expect(validateAfterTrigger([transform(id)]).errors.nodes[id]).toEqual([
        {
          code: GraphProblemCode.RESERVED_NODE_ID,
          message: `Node id "${id}" is reserved for the bindings {{ inputs.… }} and {{ env.… }}; choose another id.`,
          path: '/nodes/1/id',
        },
      ]);
    });

    it('keeps an id such as "__proto__" as an ordinary key of the report', () => {
      const report = validateAfterTrigger([{ id: '__proto__', type: 'nothing' }]);
      expect(Object.keys(report.errors.nodes)).toEqual(['__proto__']);
      expect(report.errors.nodes['__proto__'][0].code).toBe(GraphProblemCode.UNKNOWN_NODE_TYPE);
    });
  });

  describe('node types', () => {
    it('reports UNKNOWN_NODE_TYPE for a type the catalogue lacks', () => {
      expect(validateAfterTrigger([{ id: 'llm', type: 'gpt', settings: { anything: 1 } }]).errors.nodes.llm).toEqual([
        {
          code: GraphProblemCode.UNKNOWN_NODE_TYPE,
          message: 'Node "llm" has type "gpt", which is not in the node catalogue (GET /v1/nodes lists the types).',
          path: '/nodes/1/type',
        },
      ]);
    });

    it('reports UNKNOWN_NODE_TYPE for a pin to another major version, naming the available one', () => {
      expect(validateAfterTrigger([{ id: 'score', type: 'code@2', settings: { code: 'return {}' } }]).errors.nodes.score).toEqual([
        {
          code: GraphProblemCode.UNKNOWN_NODE_TYPE,
          message: 'Node "score" pins type "code@2", but the catalogue has "code" version 1.0.0; use "code" or "code@1".',
          path: '/nodes/1/type',
        },
      ]);
    });
  });

  describe('settings', () => {
    it('reports INVALID_SETTINGS with the path of the setting', () => {
      expect(validateAfterTrigger([{ id: 'score', type: 'code', settings: {} }]).errors.nodes.score).toEqual([
        { code: GraphProblemCode.INVALID_SETTINGS, message: 'Node "score": Setting "/code" is required.', path: '/nodes/1/settings/code' },
      ]);
    });

    it('reports every bad setting of a node', () => {
      const report = validateAfterTrigger([{ id: 'score', type: 'code@1', settings: { code: 42, language: 'python' } }]);
      expect(report.errors.nodes.score.map((problem) => problem.path).sort()).toEqual(['/nodes/1/settings/code', '/nodes/1/settings/language']);
    });

    it('checks settings with the defaults merged in', () => {
      expect(validateAfterTrigger([{ id: 'out', type: 'return', settings: {} }])).toEqual(VALID);
    });
  });

  describe('edges', () => {
    it('reports UNKNOWN_EDGE_SOURCE on the target node, naming the edge by id', () => {
      const report = validateAfterTrigger([transform('a')], [edge('ghost', 'a', { id: 'e9' })]);
      expect(report.errors.nodes.a).toEqual([
        { code: GraphProblemCode.UNKNOWN_EDGE_SOURCE, message: 'Edge "e9" starts at node "ghost", which does not exist.', path: '/edges/1/source', edge: 'e9' },
      ]);
    });

    it('reports UNKNOWN_EDGE_TARGET on the source node, naming the edge by index when it has no id', () => {
      const report = validateAfterTrigger([transform('a')], [edge('a', 'ghost')]);
      expect(report.errors.nodes.a).toEqual([
        {
          code: GraphProblemCode.UNKNOWN_EDGE_TARGET,
          message: 'Edge at index 1 ends at node "ghost", which does not exist.',
          path: '/edges/1/target',
          edge: 1,
        },
      ]);
    });

    it('reports an edge between two unknown nodes at graph level', () => {
      const report = validateAfterTrigger([transform('a')], [edge('x', 'y')]);
      expect(report.errors.graph.map((problem) => [problem.code, problem.edge])).toEqual([
        [GraphProblemCode.UNKNOWN_EDGE_SOURCE, 1],
        [GraphProblemCode.UNKNOWN_EDGE_TARGET, 1],
      ]);
    });

    it('reports UNKNOWN_SOURCE_HANDLE, listing the outputs of the type', () => {
      const check = { id: 'check', type: 'if', settings: { condition: 'true' } };
      const report = validateAfterTrigger([check, transform('a')], [edge('check', 'a', { sourceHandle: 'maybe' })]);
      expect(report.errors.nodes.check).toEqual([
        {
          code: GraphProblemCode.UNKNOWN_SOURCE_HANDLE,
          message: 'Edge at index 1 leaves node "check" through output "maybe", but type "if" has the outputs "true", "false".',
          path: '/edges/1/sourceHandle',
          edge: 1,
        },
      ]);
    });

    it('reports UNKNOWN_TARGET_HANDLE on the source node, listing the inputs of the type', () => {
      const report = validateAfterTrigger([transform('a'), transform('b')], [edge('a', 'b', { targetHandle: 'side' })]);
      expect(report.errors.nodes.a).toEqual([
        {
          code: GraphProblemCode.UNKNOWN_TARGET_HANDLE,
          message: 'Edge at index 1 enters node "b" through input "side", but type "transform" has the inputs "in".',
          path: '/edges/1/targetHandle',
          edge: 1,
        },
      ]);
    });

    it('reports AMBIGUOUS_HANDLE for an edge leaving an if without a handle', () => {
      const check = { id: 'check', type: 'if', settings: { condition: 'true' } };
      const report = validateAfterTrigger([check, transform('a')], [edge('check', 'a', { id: 'e2' })]);
      expect(report.errors.nodes.check).toEqual([
        {
          code: GraphProblemCode.AMBIGUOUS_HANDLE,
          message: 'Edge "e2" leaves node "check" without a sourceHandle, but type "if" has the outputs "true", "false"; set sourceHandle to one of them.',
          path: '/edges/1/sourceHandle',
          edge: 'e2',
        },
      ]);
    });

    it('reports AMBIGUOUS_HANDLE for an edge entering a node type without inputs', () => {
      const report = validateAfterTrigger([transform('a'), transform('b')], [edge('b', 'trigger')]);
      expect(report.errors.nodes.b).toEqual([
        expect.objectContaining({
          code: GraphProblemCode.AMBIGUOUS_HANDLE,
          message: 'Edge at index 1 enters node "trigger", but type "manual" has no inputs.',
          path: '/edges/1/targetHandle',
        }),
      ]);
    });

    it('reports AMBIGUOUS_HANDLE for an edge leaving a node type without outputs', () => {
      const report = validateAfterTrigger([{ id: 'out', type: 'return' }, transform('after')], [edge('out', 'after')]);
      expect(report.errors.nodes.out).toEqual([
        expect.objectContaining({ code: GraphProblemCode.AMBIGUOUS_HANDLE, message: 'Edge at index 1 leaves node "out", but type "return" has no outputs.' }),
      ]);
    });

    it('reports UNKNOWN_SOURCE_HANDLE for a named handle on a node type without outputs', () => {
      const report = validateAfterTrigger([{ id: 'out', type: 'return' }, transform('after')], [edge('out', 'after', { sourceHandle: 'out' })]);
      expect(report.errors.nodes.out).toEqual([
        expect.objectContaining({ code: GraphProblemCode.UNKNOWN_SOURCE_HANDLE, message: expect.stringContaining('but type "return" has no outputs.') }),
      ]);
    });

    it('reports SELF_LOOP, and no cycle for it', () => {
      const report = validateAfterTrigger([transform('a')], [edge('a', 'a', { id: 'loop' })]);
      expect(report.errors.nodes.a).toEqual([
        {
          code: GraphProblemCode.SELF_LOOP,
          message: 'Edge "loop" connects node "a" to itself; a node cannot feed its own input.',
          path: '/edges/1',
          edge: 'loop',
        },
      ]);
    });

    it('reports DUPLICATE_EDGE_ID on the later edge', () => {
      const report = validateAfterTrigger([transform('a'), transform('b')], [edge('trigger', 'b', { id: 'e1' }), edge('a', 'b', { id: 'e1' })]);
      expect(report.errors.nodes.a).toEqual([
        {
          code: GraphProblemCode.DUPLICATE_EDGE_ID,
          message: 'Edge id "e1" is used by more than one edge (at indexes 1 and 2); give each edge its own id.',
          path: '/edges/2/id',
          edge: 'e1',
        },
      ]);
    });
  });

  describe('cycles', () => {
    it('reports CYCLE on every node of a cycle, naming the cycle from that node', () => {
      const report = validateAfterTrigger([transform('a'), transform('b'), transform('c')], [edge('a', 'b'), edge('b', 'c'), edge('c', 'a')]);
      expect(report.errors.nodes).toEqual({
        a: [{ code: GraphProblemCode.CYCLE, message: 'Node "a" is on a cycle: a → b → c → a. Remove one of its edges.', path: '/nodes/1' }],
        b: [{ code: GraphProblemCode.CYCLE, message: 'Node "b" is on a cycle: b → c → a → b. Remove one of its edges.', path: '/nodes/2' }],
        c: [{ code: GraphProblemCode.CYCLE, message: 'Node "c" is on a cycle: c → a → b → c. Remove one of its edges.', path: '/nodes/3' }],
      });
    });

    it('names the shortest cycle through a node', () => {
      const edges = [edge('a', 'b'), edge('b', 'c'), edge('c', 'a'), edge('b', 'a')];
      const report = validateAfterTrigger([transform('a'), transform('b'), transform('c')], edges);
      expect(report.errors.nodes.a[0].message).toBe('Node "a" is on a cycle: a → b → a. Remove one of its edges.');
    });

    it('spares the nodes downstream of a cycle', () => {
      const report = validateAfterTrigger([transform('a'), transform('b'), transform('after')], [edge('a', 'b'), edge('b', 'a'), edge('b', 'after')]);
      expect(Object.keys(report.errors.nodes)).toEqual(['a', 'b']);
    });

    it('shortens the path of a long cycle', () => {
      const nodes = Array.from({ length: 20 }, (_, index) => transform(`n${index}`));
      const edges = nodes.map((node, index) => edge(node.id, nodes[(index + 1) % nodes.length].id));
      const report = validateAfterTrigger(nodes, edges);
      expect(report.errors.nodes.n0[0].message).toBe(
        'Node "n0" is on a cycle: n0 → n1 → n2 → n3 → n4 → n5 → n6 → n7 → … (12 more) → n0. Remove one of its edges.',
      );
    });
  });

  describe('schedule triggers', () => {
    const schedule = (settings: Record<string, unknown>): WorkflowNodeInput => ({ id: 'trigger', type: 'schedule', settings });

    it('accepts a 5-field cron in the default time zone and a 6-field one in Europe/Berlin', () => {
      expect(validator.validate({ nodes: [schedule({ cron: '30 2 * * *' })], edges: [] })).toEqual(VALID);
      expect(validator.validate({ nodes: [schedule({ cron: '*/2 * * * * *', timezone: 'Europe/Berlin' })], edges: [] })).toEqual(VALID);
    });

    it('reports an invalid cron on the node, with the reason and the path of the setting', () => {
      const report = validator.validate({ nodes: [schedule({ cron: '0 25 * * *' })], edges: [] });
      expect(report.errors.nodes.trigger).toEqual([
        {
          code: GraphProblemCode.INVALID_SETTINGS,
          message: expect.stringMatching(/^Node "trigger": Setting "\/cron" \("0 25 \* \* \*"\) is not a valid cron expression: .*hour.*25/),
          path: '/nodes/0/settings/cron',
        },
      ]);
    });

    it('reports an unknown time zone on the node', () => {
      const report = validator.validate({ nodes: [schedule({ cron: '* * * * *', timezone: 'Europe/Atlantis' })], edges: [] });
      expect(report.errors.nodes.trigger).toEqual([
        {
          code: GraphProblemCode.INVALID_SETTINGS,
          message: 'Node "trigger": Setting "/timezone" ("Europe/Atlantis") is not an IANA time zone name; use one such as "UTC" or "Europe/Berlin".',
          path: '/nodes/0/settings/timezone',
        },
      ]);
    });

    it('leaves a cron that fails the settings schema to the schema', () => {
      const report = validator.validate({ nodes: [schedule({ cron: 5 })], edges: [] });
      expect(report.errors.nodes.trigger.map((problem) => problem.path)).toEqual(['/nodes/0/settings/cron']);
    });
  });

  describe('trigger nodes', () => {
    it('reports TRIGGER_COUNT at graph level when there is none', () => {
      expect(validator.validate({ nodes: [transform('a')], edges: [] }).errors.graph).toEqual([
        {
          code: GraphProblemCode.TRIGGER_COUNT,
          message: 'The workflow has no trigger node; add exactly one node of a trigger type ("manual", "schedule", "webhook").',
        },
      ]);
    });

    it('reports TRIGGER_COUNT at graph level when there are several, naming them', () => {
      const report = validator.validate({ nodes: [trigger, { id: 'again', type: 'manual@1' }], edges: [] });
      expect(report.errors.graph).toEqual([
        { code: GraphProblemCode.TRIGGER_COUNT, message: 'The workflow has 2 trigger nodes ("trigger", "again"); keep exactly one.' },
      ]);
    });

    it('reports TRIGGER_COUNT for an empty workflow', () => {
      expect(validator.validate({ nodes: [], edges: [] }).errors.graph.map((problem) => problem.code)).toEqual([GraphProblemCode.TRIGGER_COUNT]);
    });
  });

  describe('bindings', () => {
    it('reports INVALID_BINDING with the path of its string', () => {
      const report = validateAfterTrigger([transform('a', { list: ['ok', 'Hi {{ trigger..name }}'] })]);
      expect(report.errors.nodes.a).toEqual([
        {
          code: GraphProblemCode.INVALID_BINDING,
          message: expect.stringContaining('Binding "{{ trigger..name }}" is not valid: expected a field name after "trigger.", found "."'),
          path: '/nodes/1/settings/value/list/1',
        },
      ]);
    });

    it('reports INVALID_BINDING for an opening without a closing', () => {
      const report = validateAfterTrigger([transform('a', 'Hi {{ trigger.name')]);
      expect(report.errors.nodes.a).toEqual([
        {
          code: GraphProblemCode.INVALID_BINDING,
          message: 'Binding "{{ trigger.name" opens with "{{" but never closes with "}}".',
          path: '/nodes/1/settings/value',
        },
      ]);
    });

    it('reports UNRESOLVED_BINDING for a binding that names no node', () => {
      expect(validateAfterTrigger([transform('a', '{{ ghost.name }}')]).errors.nodes.a).toEqual([
        {
          code: GraphProblemCode.UNRESOLVED_BINDING,
          message: 'Binding "{{ ghost.name }}" names node "ghost", which does not exist; a binding starts with a node id, "inputs" or "env".',
          path: '/nodes/1/settings/value',
        },
      ]);
    });

    it('reports UNRESOLVED_BINDING for a binding that names its own node', () => {
      expect(validateAfterTrigger([transform('a', { again: '{{ a.again }}' })]).errors.nodes.a).toEqual([
        {
          code: GraphProblemCode.UNRESOLVED_BINDING,
          message: 'Binding "{{ a.again }}" names node "a" itself; a node can only read the outputs of its upstream nodes.',
          path: '/nodes/1/settings/value/again',
        },
      ]);
    });

    it('reports UNRESOLVED_BINDING for a binding that names a node that is not upstream', () => {
      const foo = transform('foo');
      const out = { id: 'out', type: 'return', settings: { value: '{{ foo.bar }}' } };
      expect(validateAfterTrigger([foo, out], [edge('trigger', 'out')]).errors.nodes.out).toEqual([
        {
          code: GraphProblemCode.UNRESOLVED_BINDING,
          message: 'Binding "{{ foo.bar }}" names node "foo", which is not upstream of "out"; connect "foo" to "out" through edges, or remove the binding.',
          path: '/nodes/2/settings/value',
        },
      ]);
    });

    it('reports UNRESOLVED_BINDING for a binding that names a downstream node', () => {
      const report = validateAfterTrigger([transform('a', '{{ b }}'), transform('b')], [edge('a', 'b')]);
      expect(report.errors.nodes.a.map((problem) => problem.code)).toEqual([GraphProblemCode.UNRESOLVED_BINDING]);
    });

    it('checks bindings in the condition of an if', () => {
      const check = { id: 'check', type: 'if', settings: { condition: '{{ later.total }} > 10' } };
      expect(validateAfterTrigger([check]).errors.nodes.check.map((problem) => problem.code)).toEqual([GraphProblemCode.UNRESOLVED_BINDING]);
    });

    it('checks bindings of a node whose type is unknown', () => {
      const report = validateAfterTrigger([{ id: 'x', type: 'mystery', settings: { deep: [{ text: '{{ nobody }}' }] } }]);
      expect(report.errors.nodes.x.map((problem) => problem.code)).toEqual([GraphProblemCode.UNKNOWN_NODE_TYPE, GraphProblemCode.UNRESOLVED_BINDING]);
    });
  });

  it('reports every problem of a graph at once', () => {
    const report = validator.validate({
      nodes: [
        { id: 'Bad', type: 'transform', settings: { value: 1 } },
        { id: 'twin', type: 'transform', settings: { value: 1 } },
        { id: 'twin', type: 'transform', settings: { value: 1 } },
        { id: 'env', type: 'transform', settings: { value: 1 } },
        { id: 'mystery', type: 'nothing' },
        { id: 'score', type: 'code', settings: {} },
        { id: 'check', type: 'if', settings: { condition: '{{ check..x }}' } },
        { id: 'a', type: 'transform', settings: { value: '{{ c.x }} {{ ghost }}' } },
        { id: 'b', type: 'transform', settings: { value: 1 } },
        { id: 'c', type: 'transform', settings: { value: 1 } },
      ],
      edges: [
        { id: 'e1', source: 'a', target: 'b' },
        { id: 'e1', source: 'b', target: 'a' },
        { source: 'nowhere', target: 'c' },
        { source: 'c', target: 'gone' },
        { source: 'check', target: 'c' },
        { source: 'c', target: 'score', targetHandle: 'side' },
        { source: 'check', sourceHandle: 'perhaps', target: 'score' },
        { source: 'c', target: 'c' },
      ],
    });
    expect(report.valid).toBe(false);
    expect(codesByNode(report)).toEqual({
      Bad: [GraphProblemCode.INVALID_NODE_ID],
      twin: [GraphProblemCode.DUPLICATE_NODE_ID],
      env: [GraphProblemCode.RESERVED_NODE_ID],
      mystery: [GraphProblemCode.UNKNOWN_NODE_TYPE],
      score: [GraphProblemCode.INVALID_SETTINGS],
      check: [GraphProblemCode.AMBIGUOUS_HANDLE, GraphProblemCode.UNKNOWN_SOURCE_HANDLE, GraphProblemCode.INVALID_EXPRESSION],
      a: [GraphProblemCode.CYCLE, GraphProblemCode.UNRESOLVED_BINDING, GraphProblemCode.UNRESOLVED_BINDING],
      b: [GraphProblemCode.DUPLICATE_EDGE_ID, GraphProblemCode.CYCLE],
      c: [GraphProblemCode.UNKNOWN_EDGE_SOURCE, GraphProblemCode.UNKNOWN_EDGE_TARGET, GraphProblemCode.UNKNOWN_TARGET_HANDLE, GraphProblemCode.SELF_LOOP],
    });
    expect(report.errors.graph.map((problem) => problem.code)).toEqual([GraphProblemCode.TRIGGER_COUNT]);
  });

  describe('at scale', () => {
    /** trigger → n1 → … → n{count-1}, every node also fed by the one two before, binding both and the trigger. */
    function bigChain(count: number): { nodes: WorkflowNodeInput[]; edges: WorkflowEdgeInput[] } {
      const ids = ['trigger', ...Array.from({ length: count - 1 }, (_, index) => `n${index + 1}`)];
      const nodes = ids.map((id, index) =>
        index === 0 ? trigger : transform(id, { previous: `{{ ${ids[index - 1]}.value }}`, first: '{{ trigger.name }}', input: '{{ inputs.x[0] }}' }),
      );
      const edges = ids.slice(1).map((id, index) => edge(ids[index], id));
      edges.push(...ids.slice(2).map((id, index) => edge(ids[index], id)));
      return { nodes, edges };
    }

    it('validates 1,000 nodes, 2,000 edges and 3,000 bindings well under 100 ms', () => {
      const graph = bigChain(1_000);
      graph.edges.push(edge('trigger', 'n10'), edge('trigger', 'n20'), edge('trigger', 'n30'));
      expect(graph.edges).toHaveLength(2_000);
      expect(validator.validate(graph)).toEqual(VALID);
      expect(fastestOf(5, () => validator.validate(graph))).toBeLessThan(100);
    });

    it('validates a 50,000-node chain without overflowing the stack', () => {
      const nodes = Array.from({ length: 50_000 }, (_, index) => transform(`n${index}`, '{{ trigger.name }}'));
      const edges = nodes.slice(1).map((node, index) => edge(nodes[index].id, node.id));
      expect(validateAfterTrigger(nodes, edges)).toEqual(VALID);
    });

    it('reports a 1,000-node cycle without overflowing the stack', () => {
      const nodes = Array.from({ length: 1_000 }, (_, index) => transform(`n${index}`));
      const edges = nodes.map((node, index) => edge(node.id, nodes[(index + 1) % nodes.length].id));
      const report = validateAfterTrigger(nodes, edges);
      expect(Object.keys(report.errors.nodes)).toHaveLength(1_000);
    });
  });
});
