import { defaultTemplatesDir, NodeCatalog } from '../nodes/node-catalog';
import type { GraphProblem } from './graph-problem';
import { GraphValidator } from './graph-validator';
import type { WorkflowGraphInput } from './graph.types';

/** trigger; fc1 → act → fc2 → model → load-model → predict → out: a saved model's inference. */
function inference(settings: { fc1?: Record<string, unknown>; predict?: Record<string, unknown> } = {}): WorkflowGraphInput {
  return {
    nodes: [
      { id: 'trigger', type: 'manual', settings: {} },
      { id: 'fc1', type: 'linear', settings: { inFeatures: 4, outFeatures: 8, ...settings.fc1 } },
      { id: 'act', type: 'relu', settings: {} },
      { id: 'fc2', type: 'linear', settings: { inFeatures: 8, outFeatures: 3 } },
      { id: 'model', type: 'sequential', settings: {} },
      { id: 'load', type: 'load-model', settings: { path: '{{ inputs.modelPath }}' } },
      { id: 'predict', type: 'predict', settings: { samples: '{{ inputs.samples }}', sampleShape: [4], ...settings.predict } },
      { id: 'out', type: 'return', settings: { value: '{{ predict }}' } },
    ],
    edges: [
      { source: 'fc1', target: 'act' },
      { source: 'act', target: 'fc2' },
      { source: 'fc2', target: 'model' },
      { source: 'model', target: 'load', targetHandle: 'model' },
      { source: 'load', target: 'predict', targetHandle: 'model' },
      { source: 'predict', target: 'out' },
    ],
  };
}

describe('Shape checks of load-model and predict', () => {
  let validator: GraphValidator;

  beforeAll(async () => {
    validator = new GraphValidator(await NodeCatalog.load(defaultTemplatesDir()));
  });

  function problems(graph: WorkflowGraphInput): string[] {
    const report = validator.validate(graph);
    return [
      ...Object.entries(report.errors.nodes).flatMap(([node, list]) => list.map((problem: GraphProblem) => `${node}: ${problem.code}: ${problem.message}`)),
      ...report.errors.graph.map((problem) => `(graph): ${problem.code}: ${problem.message}`),
    ];
  }

  it('accepts a saved model loaded into the same layers, predicting on samples of its input shape', () => {
    expect(problems(inference())).toEqual([]);
    expect(problems(inference({ predict: { sampleShape: null } }))).toEqual([]);
  });

  it("names the first layer when predict's sampleShape does not fit it, through load-model", () => {
    expect(problems(inference({ predict: { sampleShape: [5] } }))).toEqual([
      'fc1: SHAPE_MISMATCH: Layer "fc1" expects 4 input features (inFeatures), but receives 5 features from the samples of "predict" (sampleShape); set inFeatures to 5.',
    ]);
    expect(problems(inference({ predict: { sampleShape: [1, 2, 2] } }))).toEqual([
      'fc1: SHAPE_MISMATCH: Layer "fc1" expects 4 input features, but receives 1×2×2 (channels × height × width) from the samples of "predict" (sampleShape); put a flatten before it (it would give 4 features).',
    ]);
  });

  it('refuses settings of the wrong kind', () => {
    expect(problems(inference({ predict: { sampleShape: [0] } })).join('\n')).toMatch(/^predict: /);
    expect(problems(inference({ predict: { task: 'ranking' } })).join('\n')).toMatch(/^predict: /);
  });
});
