import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CompileInput, WorkflowCompiler } from '../../src/codegen/workflow-compiler';
import type { WorkflowEdgeInput, WorkflowNodeInput } from '../../src/graph/graph.types';
import { example, shippedCompiler } from '../support/compiler';
import { ensureVenv, PYTHON, runProgram, runTool, usePythonTools, writeProgram } from '../support/python';

usePythonTools();

/**
 * The PyTorch node pack, compiled and run. The runs need torch (and torchvision for MNIST) from
 * the machine's package source; without one, they are skipped and the reason is printed.
 */
const TORCH = ensureVenv(['torch', 'torchvision']);
const withTorch = 'python' in TORCH ? it : it.skip;
if ('missing' in TORCH) console.warn(`SKIPPED: the PyTorch runs of pytorch.codegen-spec.ts did not run. ${TORCH.missing}`);
const torchPython = 'python' in TORCH ? TORCH.python : '';
/** torchvision installs here but may not load (a wheel built for another torch): the MNIST run says so and does not run. */
const VISION = torchPython === '' ? { status: 1, stderr: 'torch is missing' } : spawnSync(torchPython, ['-c', 'import torchvision'], { encoding: 'utf8' });
const withVision = VISION.status === 0 ? it : it.skip;
if (torchPython !== '' && VISION.status !== 0) {
  console.warn(
    `SKIPPED: the MNIST run of pytorch.codegen-spec.ts did not run: torchvision from this machine's package source does not load: ${String(VISION.stderr).trim().split('\n').pop()}`,
  );
}

/** trigger → data → loader, `layers` chained into `model`, loss/optimizer/train/eval → out. */
function pipeline(
  name: string,
  data: WorkflowNodeInput,
  layers: WorkflowNodeInput[],
  options: {
    loss?: string;
    optimizer?: string;
    optimizerSettings?: Record<string, unknown>;
    extra?: WorkflowNodeInput[];
    extraEdges?: WorkflowEdgeInput[];
    evaluate?: boolean;
    epochs?: number;
  } = {},
): CompileInput {
  const chain = layers.map((layer, index) => ({ source: layer.id, target: layers[index + 1]?.id ?? 'model' }));
  const evaluate = options.evaluate ?? true;
  return {
    id: `wf_${name
      .replace(/[^A-Za-z0-9]/g, '')
      .padEnd(16, '0')
      .slice(0, 16)}`,
    version: 1,
    name,
    description: '',
    nodes: [
      { id: 'trigger', type: 'manual', settings: {} },
      data,
      { id: 'loader', type: 'dataloader', settings: { batchSize: 16, shuffle: true } },
      ...layers,
      { id: 'model', type: 'sequential', settings: {} },
      { id: 'loss', type: options.loss ?? 'loss-cross-entropy', settings: {} },
      { id: 'opt', type: options.optimizer ?? 'optimizer-adam', settings: options.optimizerSettings ?? { lr: 0.01 } },
      { id: 'train', type: 'train', settings: { epochs: options.epochs ?? 3 } },
      ...(evaluate ? [{ id: 'eval', type: 'evaluate', settings: {} }] : []),
      ...(options.extra ?? []),
      {
        id: 'out',
        type: 'return',
        settings: {
          value: evaluate ? { accuracy: '{{ eval.accuracy }}', loss: '{{ train.loss }}' } : { loss: '{{ train.loss }}', epochs: '{{ train.epochs }}' },
        },
      },
    ],
    edges: [
      { source: 'trigger', target: data.id },
      { source: data.id, target: 'loader' },
      ...chain,
      { source: 'model', target: 'opt' },
      { source: 'model', target: 'train', targetHandle: 'model' },
      { source: 'loader', target: 'train', targetHandle: 'data' },
      { source: 'loss', target: 'train', targetHandle: 'loss' },
      { source: 'opt', target: 'train', targetHandle: 'optimizer' },
      ...(evaluate
        ? [
            { source: 'train', target: 'eval', targetHandle: 'model' },
            { source: 'loader', target: 'eval', targetHandle: 'data' },
            { source: 'eval', target: 'out' },
          ]
        : [{ source: 'train', target: 'out' }]),
      ...(options.extraEdges ?? []),
    ],
  };
}

const synthetic = (settings: Record<string, unknown>): WorkflowNodeInput => ({
  id: 'data',
  type: 'dataset-synthetic',
  settings: { samples: 256, seed: 3, ...settings },
});
const linear = (id: string, inFeatures: number, outFeatures: number): WorkflowNodeInput => ({ id, type: 'linear', settings: { inFeatures, outFeatures } });

/** One workflow per group of node types: together they use every type of the pack. */
const PROGRAMS: Record<string, CompileInput> = {
  mlp: pipeline(
    'mlp',
    synthetic({ features: 8, classes: 3 }),
    [
      linear('fc1', 8, 16),
      { id: 'norm', type: 'batchnorm1d', settings: { numFeatures: 16 } },
      { id: 'act1', type: 'relu', settings: {} },
      { id: 'drop', type: 'dropout', settings: { p: 0.1 } },
      linear('fc2', 16, 16),
      { id: 'act2', type: 'tanh', settings: {} },
      linear('fc3', 16, 16),
      { id: 'act3', type: 'sigmoid', settings: {} },
      { id: 'fc4', type: 'linear', settings: { inFeatures: 16, outFeatures: 3, bias: false } },
    ],
    { optimizer: 'optimizer-sgd', optimizerSettings: { lr: 0.05, momentum: 0.9 }, epochs: 10 },
  ),
  cnn: pipeline('cnn', synthetic({ classes: 3, imageShape: [1, 8, 8] }), [
    { id: 'conv', type: 'conv2d', settings: { inChannels: 1, outChannels: 4, kernelSize: 3, padding: 1 } },
    { id: 'act', type: 'relu', settings: {} },
    { id: 'pool', type: 'maxpool2d', settings: { kernelSize: 2 } },
    { id: 'flat', type: 'flatten', settings: {} },
    linear('fc', 64, 3),
  ]),
  regression: pipeline(
    'regression',
    { id: 'data', type: 'dataset-csv', settings: { path: '{{ inputs.csv }}', targetColumn: 'y', featureColumns: ['a', 'b'], task: 'regression' } },
    [linear('fc', 2, 1)],
    {
      loss: 'loss-mse',
      optimizerSettings: { lr: 0.1 },
      evaluate: false,
      epochs: 40,
      extra: [{ id: 'save', type: 'save-model', settings: { path: '{{ inputs.modelPath }}' } }],
      extraEdges: [{ source: 'train', target: 'save', targetHandle: 'model' }],
    },
  ),
  inference: {
    id: 'wf_inference000000',
    version: 1,
    name: 'inference',
    description: 'Loads a saved model and predicts on the inputs.',
    nodes: [
      { id: 'trigger', type: 'manual', settings: {} },
      linear('fc1', 4, 8),
      { id: 'act', type: 'relu', settings: {} },
      linear('fc2', 8, 3),
      { id: 'model', type: 'sequential', settings: {} },
      { id: 'load', type: 'load-model', settings: { path: '{{ inputs.modelPath }}' } },
      { id: 'predict', type: 'predict', settings: { samples: '{{ inputs.samples }}', sampleShape: [4] } },
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
  },
  mnist: pipeline('mnist', { id: 'data', type: 'dataset-mnist', settings: { root: '{{ inputs.root }}' } }, [
    { id: 'flat', type: 'flatten', settings: {} },
    linear('fc', 784, 10),
  ]),
};

describe('The PyTorch node pack', () => {
  let compiler: WorkflowCompiler;
  const dirs = new Map<string, string>();

  beforeAll(async () => {
    compiler = await shippedCompiler();
    for (const [name, workflow] of Object.entries(PROGRAMS)) dirs.set(name, await writeProgram(compiler.compile(workflow), `tensorify-${name}-`));
    dirs.set('classifier', await writeProgram(compiler.compile(example('classifier').workflow), 'tensorify-classifier-'));
  });

  it('uses every node type of the pack in these programs', async () => {
    const catalog = (await import('../../src/nodes/node-catalog')).NodeCatalog;
    const types = (await catalog.load((await import('../../src/nodes/node-catalog')).defaultTemplatesDir())).list().map((definition) => definition.type);
    const used = new Set(Object.values(PROGRAMS).flatMap((workflow) => workflow.nodes.map((node) => node.type)));
    const pack = types.filter((type) => !['manual', 'webhook', 'schedule', 'transform', 'code', 'if', 'return', 'http-request', 'openai-chat'].includes(type));
    expect(pack.filter((type) => !used.has(type))).toEqual([]);
  });

  it.each([...Object.keys(PROGRAMS), 'classifier'])('%s passes py_compile, pyflakes and black --check', (name) => {
    const dir = dirs.get(name)!;
    const compiled = spawnSync(PYTHON, ['-m', 'py_compile', 'main.py', 'utils.py'], { cwd: dir, encoding: 'utf8' });
    expect(compiled.stderr).toBe('');
    const flakes = runTool('pyflakes', ['main.py', 'utils.py'], dir);
    expect(flakes.stdout + flakes.stderr).toBe('');
    const black = runTool('black', ['--check', '--diff', '--quiet', 'main.py', 'utils.py'], dir);
    expect(black.stdout + black.stderr).toBe('');
  });

  it('builds the model with nn.Sequential in chain order and lists torch with a lower bound', () => {
    const files = compiler.compile(example('classifier').workflow);
    expect(files['main.py']).toContain('return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))');
    expect(files['requirements.txt']).toMatch(/^torch>=2\.\d+$/m);
    // Without numpy, torch warns "Failed to initialize NumPy" on stderr at every run.
    expect(files['requirements.txt']).toMatch(/^numpy>=1\.\d+$/m);
    const mnist = compiler.compile(PROGRAMS.mnist);
    expect(mnist['requirements.txt']).toMatch(/^torchvision>=0\.\d+$/m);
  });

  withTorch(
    'trains the classifier example to accuracy above 0.8, one log line per epoch',
    async () => {
      const { inputs } = example('classifier');
      const run = await runProgram(dirs.get('classifier')!, { inputs, python: torchPython, timeoutMs: 120_000 });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      const output = run.output as { accuracy: number; finalLoss: number };
      expect(output.accuracy).toBeGreaterThan(0.8);
      expect(Number.isFinite(output.finalLoss)).toBe(true);
      const epochs = run.stdout.split('\n').filter((line) => /^epoch \d+\/5: loss \d+\.\d+$/.test(line));
      expect(epochs.map((line) => line.split(':')[0])).toEqual(['epoch 1/5', 'epoch 2/5', 'epoch 3/5', 'epoch 4/5', 'epoch 5/5']);
    },
    180_000,
  );

  withTorch(
    'runs a CNN (conv2d → relu → maxpool2d → flatten → linear) on synthetic images, and the MLP of every flat layer type',
    async () => {
      for (const name of ['cnn', 'mlp']) {
        const run = await runProgram(dirs.get(name)!, { python: torchPython, timeoutMs: 120_000 });
        expect(run.stderr).toBe('');
        expect(run.status).toBe(0);
        expect((run.output as { accuracy: number }).accuracy).toBeGreaterThan(0.5);
      }
    },
    180_000,
  );

  withTorch(
    'fits a regression from a CSV file with MSE and saves a state dict torch can load',
    async () => {
      const dir = dirs.get('regression')!;
      const rows = [
        'a,b,y',
        ...Array.from({ length: 64 }, (_, index) => {
          const a = (index % 8) / 4;
          const b = Math.floor(index / 8) / 4;
          return `${a},${b},${2 * a - b + 0.5}`;
        }),
      ];
      const csv = path.join(dir, 'points.csv');
      await writeFile(csv, `${rows.join('\n')}\n`);
      const modelPath = path.join(dir, 'out', 'model.pt');
      const run = await runProgram(dir, { inputs: { csv, modelPath }, python: torchPython, timeoutMs: 120_000 });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      expect((run.output as { loss: number }).loss).toBeLessThan(0.5);
      expect(existsSync(modelPath)).toBe(true);
      const load = spawnSync(torchPython, ['-c', `import torch; print(sorted(torch.load(${JSON.stringify(modelPath)}).keys()))`], { encoding: 'utf8' });
      expect(load.stdout.trim()).toBe("['0.bias', '0.weight']");
    },
    180_000,
  );

  withTorch(
    'loads a saved model and predicts on the inputs: outputs and classes as torch computes them, shape errors named',
    async () => {
      const dir = dirs.get('inference')!;
      const modelPath = path.join(dir, 'saved', 'model.pt');
      const save = spawnSync(
        torchPython,
        [
          '-c',
          [
            'import os, sys, torch',
            'from torch import nn',
            'torch.manual_seed(0)',
            'model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))',
            'os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True)',
            'torch.save(model.state_dict(), sys.argv[1])',
            'x = torch.tensor([[1.0, 2.0, 3.0, 4.0], [0.5, -1.0, 0.0, 2.0]])',
            'print(model(x).argmax(dim=1).tolist())',
          ].join('\n'),
          modelPath,
        ],
        { encoding: 'utf8' },
      );
      expect(save.status).toBe(0);
      const samples = [
        [1, 2, 3, 4],
        [0.5, -1, 0, 2],
      ];
      const run = await runProgram(dir, { inputs: { modelPath, samples }, python: torchPython, timeoutMs: 120_000 });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      const output = run.output as { outputs: number[][]; classes: number[] };
      expect(output.outputs).toHaveLength(2);
      expect(output.outputs.every((row) => row.length === 3)).toBe(true);
      expect(JSON.stringify(output.classes)).toBe(save.stdout.trim().replace(/ /g, ''));
      // One sample alone is a batch of one.
      const one = await runProgram(dir, { inputs: { modelPath, samples: [1, 2, 3, 4] }, python: torchPython, timeoutMs: 120_000 });
      expect((one.output as { classes: number[] }).classes).toEqual([output.classes[0]]);

      const wrong = await runProgram(dir, { inputs: { modelPath, samples: [[1, 2, 3]] }, python: torchPython, timeoutMs: 120_000 });
      expect(wrong.status).toBe(1);
      expect(wrong.stderr.trimEnd().split('\n').pop()).toBe(
        'Node "predict" failed: ValueError: the model takes samples of shape [4], but the samples have shape [1, 3] (a list of samples, or one sample)',
      );
      const other = path.join(dir, 'saved', 'other.pt');
      spawnSync(torchPython, [
        '-c',
        'import sys, torch; from torch import nn; torch.save(nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3)).state_dict(), sys.argv[1])',
        other,
      ]);
      const mismatch = await runProgram(dir, { inputs: { modelPath: other, samples }, python: torchPython, timeoutMs: 120_000 });
      expect(mismatch.status).toBe(1);
      expect(mismatch.stderr.trimEnd().split('\n').pop()).toMatch(
        /^Node "load" failed: ValueError: .*other\.pt: 0\.weight has shape \[5, 4\] in the file but \[8, 4\] in the model; give the model the layers it was saved from$/,
      );
      const missing = await runProgram(dir, { inputs: { modelPath: path.join(dir, 'nowhere.pt'), samples }, python: torchPython, timeoutMs: 120_000 });
      expect(missing.stderr.trimEnd().split('\n').pop()).toMatch(/^Node "load" failed: FileNotFoundError: no saved model at .*nowhere\.pt$/);
    },
    180_000,
  );

  withTorch(
    'names the CSV node and the missing column when the file lacks it',
    async () => {
      const dir = dirs.get('regression')!;
      const csv = path.join(dir, 'wrong.csv');
      await writeFile(csv, 'a,c,y\n1,2,3\n');
      const run = await runProgram(dir, { inputs: { csv, modelPath: path.join(dir, 'never.pt') }, python: torchPython, timeoutMs: 120_000 });
      expect(run.status).toBe(1);
      const last = run.stderr.trimEnd().split('\n').pop();
      expect(last).toMatch(/^Node "data" failed: ValueError: .*wrong\.csv has no column 'b'; its header is a, c, y$/);
    },
    180_000,
  );

  withVision(
    "reads MNIST from torchvision's files (a small set written here in its IDX format)",
    async () => {
      const dir = dirs.get('mnist')!;
      const root = path.join(dir, 'mnist-data');
      await writeIdx(path.join(root, 'MNIST', 'raw'), 120);
      const run = await runProgram(dir, { inputs: { root }, python: torchPython, timeoutMs: 120_000 });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      expect((run.output as { accuracy: number }).accuracy).toBeGreaterThan(0.5);
    },
    180_000,
  );

  withTorch(
    'takes its device from TENSORIFY_DEVICE: "cuda" on a machine without CUDA fails in train, naming it',
    async () => {
      const { inputs } = example('classifier');
      const run = await runProgram(dirs.get('classifier')!, { inputs, python: torchPython, env: { TENSORIFY_DEVICE: 'cuda' }, timeoutMs: 120_000 });
      expect(run.status).toBe(1);
      expect(run.stderr.trimEnd().split('\n').pop()).toMatch(/^Node "train" failed: (AssertionError|RuntimeError): .*(CUDA|NVIDIA|cuda)/);
    },
    180_000,
  );
});

/**
 * MNIST's four files in the IDX format torchvision reads: `count` 28×28 images whose class is
 * drawn as a bright square at one of ten positions (learnable), with labels, train and test alike.
 */
async function writeIdx(dir: string, count: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const header = (magic: number, dims: number[]) => {
    const buffer = Buffer.alloc(4 + 4 * dims.length);
    buffer.writeUInt32BE(magic, 0);
    dims.forEach((dim, index) => buffer.writeUInt32BE(dim, 4 + 4 * index));
    return buffer;
  };
  const labels = Buffer.from(Array.from({ length: count }, (_, index) => index % 10));
  const pixels = Buffer.alloc(count * 28 * 28);
  for (let image = 0; image < count; image++) {
    const label = image % 10;
    const top = 2 + Math.floor(label / 5) * 12;
    const left = 1 + (label % 5) * 5;
    for (let y = top; y < top + 8; y++) for (let x = left; x < left + 4; x++) pixels[image * 784 + y * 28 + x] = 255;
  }
  for (const prefix of ['train', 't10k']) {
    await writeFile(path.join(dir, `${prefix}-images-idx3-ubyte`), Buffer.concat([header(2051, [count, 28, 28]), pixels]));
    await writeFile(path.join(dir, `${prefix}-labels-idx1-ubyte`), Buffer.concat([header(2049, [count]), labels]));
  }
}
