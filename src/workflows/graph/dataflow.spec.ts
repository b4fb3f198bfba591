import { readFileSync } from 'node:fs';
import path from 'node:path';
import { defaultTemplatesDir, NodeCatalog } from '../../nodes/node-catalog';
import type { GraphProblem } from './graph-problem';
import { GraphValidator } from './graph-validator';
import type { WorkflowEdgeInput, WorkflowGraphInput, WorkflowNodeInput } from './graph.types';

const CLASSIFIER: WorkflowGraphInput = JSON.parse(
  readFileSync(path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'examples', 'classifier.json'), 'utf8'),
);

/** The classifier with some nodes' settings replaced (merged), nodes added and edges added or removed. */
function classifier(
  changes: {
    settings?: Record<string, Record<string, unknown>>;
    nodes?: WorkflowNodeInput[];
    edges?: WorkflowEdgeInput[];
    without?: (edge: WorkflowEdgeInput) => boolean;
    remove?: string[];
  } = {},
): WorkflowGraphInput {
  const removed = new Set(changes.remove ?? []);
  return {
    nodes: [
      ...CLASSIFIER.nodes.filter((node) => !removed.has(node.id)).map((node) => ({ ...node, settings: { ...node.settings, ...changes.settings?.[node.id] } })),
      ...(changes.nodes ?? []),
    ],
    edges: [...CLASSIFIER.edges.filter((edge) => !removed.has(edge.source) && !removed.has(edge.target) && !changes.without?.(edge)), ...(changes.edges ?? [])],
  };
}

/** trigger → images → loader → train/eval with a chain of the given layers into `model`. */
function cnn(layers: WorkflowNodeInput[], imageShape: number[] | null = [1, 8, 8]): WorkflowGraphInput {
  const chain: WorkflowEdgeInput[] = layers.map((layer, index) => ({ source: layer.id, target: layers[index + 1]?.id ?? 'model' }));
  return {
    nodes: [
      { id: 'trigger', type: 'manual', settings: {} },
      { id: 'data', type: 'dataset-synthetic', settings: { samples: 64, features: 8, classes: 3, imageShape } },
      { id: 'loader', type: 'dataloader', settings: {} },
      ...layers,
      { id: 'model', type: 'sequential', settings: {} },
      { id: 'loss', type: 'loss-cross-entropy', settings: {} },
      { id: 'opt', type: 'optimizer-sgd', settings: {} },
      { id: 'train', type: 'train', settings: { epochs: 1 } },
    ],
    edges: [
      { source: 'trigger', target: 'data' },
      { source: 'data', target: 'loader' },
      ...chain,
      { source: 'model', target: 'opt' },
      { source: 'model', target: 'train', targetHandle: 'model' },
      { source: 'loader', target: 'train', targetHandle: 'data' },
      { source: 'loss', target: 'train', targetHandle: 'loss' },
      { source: 'opt', target: 'train', targetHandle: 'optimizer' },
    ],
  };
}

describe('Dataflow checks of the PyTorch node types', () => {
  let validator: GraphValidator;

  beforeAll(async () => {
    validator = new GraphValidator(await NodeCatalog.load(defaultTemplatesDir()));
  });

  /** Every problem, as `<node>: <code>: <message>`. */
  function problems(graph: WorkflowGraphInput): string[] {
    const report = validator.validate(graph);
    const lines = Object.entries(report.errors.nodes).flatMap(([node, list]) =>
      list.map((problem: GraphProblem) => `${node}: ${problem.code}: ${problem.message}`),
    );
    return [...lines, ...report.errors.graph.map((problem) => `(graph): ${problem.code}: ${problem.message}`)];
  }

  it('accepts the classifier example as it is', () => {
    expect(problems(CLASSIFIER)).toEqual([]);
  });

  describe('shapes', () => {
    it('names the first layer when the data has other feature counts than its inFeatures', () => {
      expect(problems(classifier({ settings: { fc1: { inFeatures: 10 } } }))).toEqual([
        'fc1: SHAPE_MISMATCH: Layer "fc1" expects 10 input features (inFeatures), but receives 8 features from dataset "data"; set inFeatures to 8.',
      ]);
    });

    it('names a layer whose inFeatures differ from the layer before it (through an activation), with or without data', () => {
      const expected =
        'fc2: SHAPE_MISMATCH: Layer "fc2" expects 12 input features (inFeatures), but receives 16 features from the output of "fc1"; set inFeatures to 16.';
      expect(problems(classifier({ settings: { fc2: { inFeatures: 12 } } }))).toEqual([expected]);
      const unused = classifier({ remove: ['train', 'eval', 'opt', 'out'] });
      expect(
        problems({ ...unused, nodes: unused.nodes.map((node) => (node.id === 'fc2' ? { ...node, settings: { inFeatures: 12, outFeatures: 2 } } : node)) }),
      ).toEqual([expected]);
    });

    it('names the last layer when its outputs do not match the classes', () => {
      expect(problems(classifier({ settings: { fc2: { outFeatures: 3 } } }))).toEqual([
        'fc2: SHAPE_MISMATCH: Layer "fc2" ends the model with 3 features per sample, but "train" needs one score per class (dataset "data" has 2 classes); make it give 2.',
        'fc2: SHAPE_MISMATCH: Layer "fc2" ends the model with 3 features per sample, but "eval" needs one score per class (dataset "data" has 2 classes); make it give 2.',
      ]);
    });

    it('runs images through conv2d, maxpool2d and flatten into linear', () => {
      const layers = (inFeatures: number): WorkflowNodeInput[] => [
        { id: 'conv', type: 'conv2d', settings: { inChannels: 1, outChannels: 4, kernelSize: 3, padding: 1 } },
        { id: 'act', type: 'relu', settings: {} },
        { id: 'pool', type: 'maxpool2d', settings: { kernelSize: 2 } },
        { id: 'flat', type: 'flatten', settings: {} },
        { id: 'fc', type: 'linear', settings: { inFeatures, outFeatures: 3 } },
      ];
      expect(problems(cnn(layers(64)))).toEqual([]);
      expect(problems(cnn(layers(60)))).toEqual([
        'fc: SHAPE_MISMATCH: Layer "fc" expects 60 input features (inFeatures), but receives 64 features from the output of "flat"; set inFeatures to 64.',
      ]);
    });

    it('names conv2d when the images have other channel counts than its inChannels', () => {
      const layers: WorkflowNodeInput[] = [
        { id: 'conv', type: 'conv2d', settings: { inChannels: 3, outChannels: 2, kernelSize: 3 } },
        { id: 'flat', type: 'flatten', settings: {} },
        { id: 'fc', type: 'linear', settings: { inFeatures: 72, outFeatures: 3 } },
      ];
      expect(problems(cnn(layers))).toEqual([
        'conv: SHAPE_MISMATCH: Layer "conv" expects 3 input channels (inChannels), but receives 1×8×8 (channels × height × width) from dataset "data"; set inChannels to 1.',
      ]);
    });

    it('asks for a flatten between images and linear, and for images before conv2d', () => {
      expect(problems(cnn([{ id: 'fc', type: 'linear', settings: { inFeatures: 64, outFeatures: 3 } }]))).toEqual([
        'fc: SHAPE_MISMATCH: Layer "fc" expects 64 input features, but receives 1×8×8 (channels × height × width) from dataset "data"; put a flatten before it (it would give 64 features).',
      ]);
      const flat = problems(
        cnn(
          [
            { id: 'conv', type: 'conv2d', settings: { inChannels: 1, outChannels: 2 } },
            { id: 'flat', type: 'flatten', settings: {} },
            { id: 'fc', type: 'linear', settings: { inFeatures: 2, outFeatures: 3 } },
          ],
          null,
        ),
      );
      expect(flat[0]).toBe(
        'conv: SHAPE_MISMATCH: Layer "conv" works on images (channels × height × width), but receives 8 features from dataset "data"; give it a dataset with an imageShape.',
      );
    });

    it('names a pooling window larger than the image', () => {
      const layers: WorkflowNodeInput[] = [
        { id: 'pool', type: 'maxpool2d', settings: { kernelSize: 5 } },
        { id: 'flat', type: 'flatten', settings: {} },
        { id: 'fc', type: 'linear', settings: { inFeatures: 1, outFeatures: 3 } },
      ];
      expect(problems(cnn(layers, [1, 4, 4]))).toEqual([
        'pool: SHAPE_MISMATCH: Layer "pool" has a 5×5 window (padding 0), larger than the 4×4 image it receives; use a smaller kernelSize, more padding, or fewer pooling layers before it.',
      ]);
    });

    it('names batchnorm1d when its numFeatures differ from its input', () => {
      const graph = classifier({
        nodes: [{ id: 'norm', type: 'batchnorm1d', settings: { numFeatures: 15 } }],
        without: (edge) => edge.source === 'act',
        edges: [
          { source: 'act', target: 'norm' },
          { source: 'norm', target: 'fc2' },
        ],
      });
      expect(problems(graph)).toEqual([
        'norm: SHAPE_MISMATCH: Layer "norm" normalizes 15 features (numFeatures), but receives 16 features from the output of "fc1"; set numFeatures to 16.',
      ]);
    });

    it('names the loss when it does not suit the targets, and evaluate on regression data', () => {
      const mse = classifier({
        nodes: [{ id: 'mse', type: 'loss-mse', settings: {} }],
        remove: ['loss'],
        edges: [{ source: 'mse', target: 'train', targetHandle: 'loss' }],
      });
      expect(problems(mse)).toEqual([
        'mse: SHAPE_MISMATCH: Loss "mse" (mean squared error) needs regression targets, but dataset "data" has class labels; use loss-cross-entropy, or set the dataset\'s task to "regression".',
      ]);
      expect(problems(classifier({ settings: { data: { task: 'regression' } } }))).toEqual([
        'loss: SHAPE_MISMATCH: Loss "loss" (cross-entropy) needs class labels, but dataset "data" has regression targets; use loss-mse.',
        'eval: SHAPE_MISMATCH: Node "eval" measures a classifier\'s accuracy, but dataset "data" has regression targets.',
      ]);
      const regression = {
        ...mse,
        nodes: mse.nodes.map((node) => (node.id === 'data' ? { ...node, settings: { ...node.settings, task: 'regression' } } : node)),
      };
      expect(
        problems({
          ...regression,
          nodes: regression.nodes.filter((node) => node.id !== 'eval' && node.id !== 'out'),
          edges: regression.edges.filter((edge) => edge.target !== 'eval' && edge.target !== 'out' && edge.source !== 'eval'),
        }),
      ).toEqual([
        'fc2: SHAPE_MISMATCH: Layer "fc2" ends the model with 2 features per sample, but "train" needs 1 value per sample, like the targets of dataset "data"; make it give 1.',
      ]);
    });

    it('checks nothing it cannot derive: CSV data without featureColumns', () => {
      const graph = classifier({
        nodes: [{ id: 'csv', type: 'dataset-csv', settings: { path: 'data.csv', targetColumn: 'label' } }],
        remove: ['data'],
        edges: [
          { source: 'trigger', target: 'csv' },
          { source: 'csv', target: 'loader' },
        ],
        settings: { fc1: { inFeatures: 123 } },
      });
      expect(problems(graph)).toEqual([]);
    });
  });

  describe('typed inputs', () => {
    it('names a missing input of train', () => {
      expect(problems(classifier({ without: (edge) => edge.targetHandle === 'optimizer' }))).toEqual([
        'train: MISSING_INPUT: Node "train" has no optimizer on its input "optimizer": connect a node that gives one (a node of type "optimizer-adam" or "optimizer-sgd").',
      ]);
    });

    it('names two models on one input', () => {
      const graph = classifier({
        nodes: [
          { id: 'other_fc', type: 'linear', settings: { inFeatures: 8, outFeatures: 2 } },
          { id: 'other', type: 'sequential', settings: {} },
        ],
        edges: [
          { source: 'other_fc', target: 'other' },
          { source: 'other', target: 'train', targetHandle: 'model' },
        ],
      });
      expect(problems(graph)).toEqual([
        'train: TOO_MANY_INPUTS: Node "train" receives a module on its input "model" from 2 nodes ("model", "other"); keep one of those edges.',
      ]);
    });

    it('names an edge that brings the wrong kind of value into a named input', () => {
      const graph = classifier({ edges: [{ source: 'loader', target: 'train', targetHandle: 'loss' }] });
      expect(problems(graph)).toContain(
        'loader: INPUT_TYPE_MISMATCH: Edge at index 14 brings a dataloader from "loader" into input "loss" of "train", which takes a loss.',
      );
    });
  });

  describe('layer chains', () => {
    it('names a layer that reaches no sequential node', () => {
      const graph = classifier({ nodes: [{ id: 'extra', type: 'relu', settings: {} }] });
      expect(problems(graph)).toEqual(['extra: LAYER_CHAIN: Layer "extra" is not part of a model: connect it, or the chain it ends, to a sequential node.']);
    });

    it('names a layer feeding two nodes, and the node receiving two layers', () => {
      const graph = classifier({
        nodes: [{ id: 'side', type: 'relu', settings: {} }],
        edges: [
          { source: 'fc1', target: 'side' },
          { source: 'side', target: 'fc2' },
        ],
      });
      expect(problems(graph)).toEqual([
        'fc1: LAYER_CHAIN: Layer "fc1" feeds 2 nodes ("act", "side"); a layer belongs to one chain.',
        'fc2: LAYER_CHAIN: Node "fc2" receives layers from 2 nodes ("act", "side"); chain layers one after another.',
      ]);
    });

    it('names a sequential node without layers and a layer wired to a node that takes none', () => {
      const graph = classifier({ without: (edge) => edge.source === 'fc2', edges: [{ source: 'fc2', target: 'train', targetHandle: 'loss' }] });
      expect(problems(graph)).toEqual([
        'fc2: LAYER_CHAIN: Layer "fc2" connects to input "loss" of "train", which does not take layers; a layer connects only to the next layer or to a sequential node.',
        'fc2: LAYER_CHAIN: Layer "fc2" is not part of a model: connect it, or the chain it ends, to a sequential node.',
        'model: LAYER_CHAIN: Sequential node "model" has no layers: chain layer nodes (linear, relu…) into its input.',
      ]);
    });

    it('refuses a binding to a layer, which has no output of its own', () => {
      const graph = classifier({ settings: { out: { value: { size: '{{ fc1.out_features }}' } } }, edges: [{ source: 'fc1', target: 'out' }] });
      expect(problems(graph)).toContain(
        'out: UNRESOLVED_BINDING: Binding "{{ fc1.out_features }}" names layer "fc1", which has no output of its own: it is part of the model its sequential node builds.',
      );
    });
  });

  describe('settings that take a number or a binding', () => {
    it.each([
      [{ lr: 'fast' }, 'opt: INVALID_SETTINGS: Node "opt": Setting "/lr" must be a number or a binding such as "{{ trigger.value }}".'],
      [{ lr: -1 }, 'opt: INVALID_SETTINGS: Node "opt": Setting "/lr" must be > 0 (or be a binding).'],
      [{ lr: true }, 'opt: INVALID_SETTINGS: Node "opt": Setting "/lr" must be a number or a binding such as "{{ trigger.value }}".'],
    ])('describes %j in one sentence', (settings, expected) => {
      expect(problems(classifier({ settings: { opt: settings } }))).toEqual([expected]);
    });

    it('accepts a number or a binding', () => {
      expect(problems(classifier({ settings: { opt: { lr: 0.5 } } }))).toEqual([]);
      expect(problems(classifier({ settings: { opt: { lr: '{{ trigger.rate }}' }, train: { epochs: '{{ inputs.epochs }}' } } }))).toEqual([]);
    });
  });
});
