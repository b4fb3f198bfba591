import type { ShapeRuleName } from '../../nodes/node-type';

/** The shape of one sample (no batch dimension): `[features]` or `[channels, height, width]`; null when it cannot be derived. */
export type Shape = readonly number[] | null;

/** What a layer does to the shape of what flows through it: its output, and what is wrong with its input. */
export interface LayerStep {
  shape: Shape;
  /** Why the input does not fit, phrased to follow `Layer "<id>" `. */
  problem?: string;
}

/** Where the shape arriving at a layer was last set: a layer's output, or a data set. */
export interface ShapeOrigin {
  shape: Shape;
  /** e.g. `the output of "fc1"` or `dataset "data"`. */
  from: string;
}

type Settings = Record<string, unknown>;
type LayerRule = (input: ShapeOrigin, settings: Settings) => LayerStep;

/** A positive integer setting, or undefined when the setting is not one (a binding, say). */
function count(settings: Settings, name: string): number | undefined {
  const value = settings[name];
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

export function describeShape(shape: readonly number[]): string {
  if (shape.length === 1) return `${shape[0]} feature${shape[0] === 1 ? '' : 's'}`;
  if (shape.length === 3) return `${shape.join('×')} (channels × height × width)`;
  return shape.join('×');
}

function receives(input: ShapeOrigin): string {
  return `${describeShape(input.shape!)} from ${input.from}`;
}

/** Output size of a convolution or pooling along one dimension, as PyTorch computes it. */
function slide(size: number, kernel: number, stride: number, padding: number): number {
  return Math.floor((size + 2 * padding - kernel) / stride) + 1;
}

/** The shared part of conv2d and maxpool2d: the output height and width, or the problem. */
function window(
  input: readonly number[],
  kernel: number | undefined,
  stride: number | undefined,
  padding: number | undefined,
): { height?: number; width?: number; problem?: string } {
  if (kernel === undefined || stride === undefined || padding === undefined) return {};
  const [, height, width] = input;
  const outHeight = slide(height, kernel, stride, padding);
  const outWidth = slide(width, kernel, stride, padding);
  if (outHeight < 1 || outWidth < 1) {
    return {
      problem:
        `has a ${kernel}×${kernel} window (padding ${padding}), larger than the ${height}×${width} image it receives; ` +
        'use a smaller kernelSize, more padding, or fewer pooling layers before it',
    };
  }
  return { height: outHeight, width: outWidth };
}

function needsImages(input: ShapeOrigin, layer: string): string {
  return `works on images (channels × height × width), but receives ${receives(input)}; ${layer}`;
}

export const LAYER_RULES: Partial<Record<ShapeRuleName, LayerRule>> = {
  linear(input, settings) {
    const inFeatures = count(settings, 'inFeatures');
    const outFeatures = count(settings, 'outFeatures');
    const shape = outFeatures === undefined ? null : [outFeatures];
    if (input.shape === null || inFeatures === undefined) return { shape };
    if (input.shape.length !== 1) {
      const flat = input.shape.reduce((product, size) => product * size, 1);
      return {
        shape,
        problem: `expects ${inFeatures} input features, but receives ${receives(input)}; put a flatten before it (it would give ${flat} features)`,
      };
    }
    if (input.shape[0] !== inFeatures) {
      return { shape, problem: `expects ${inFeatures} input features (inFeatures), but receives ${receives(input)}; set inFeatures to ${input.shape[0]}` };
    }
    return { shape };
  },
  conv2d(input, settings) {
    const inChannels = count(settings, 'inChannels');
    const outChannels = count(settings, 'outChannels');
    if (input.shape === null || outChannels === undefined) return { shape: null };
    if (input.shape.length !== 3) return { shape: null, problem: needsImages(input, 'give it a dataset with an imageShape') };
    const { height, width, problem } = window(input.shape, count(settings, 'kernelSize'), count(settings, 'stride'), count(settings, 'padding'));
    const shape = height === undefined || width === undefined ? null : [outChannels, height, width];
    if (problem !== undefined) return { shape: null, problem };
    if (inChannels !== undefined && input.shape[0] !== inChannels) {
      return { shape, problem: `expects ${inChannels} input channels (inChannels), but receives ${receives(input)}; set inChannels to ${input.shape[0]}` };
    }
    return { shape };
  },
  maxpool2d(input, settings) {
    if (input.shape === null) return { shape: null };
    if (input.shape.length !== 3) return { shape: null, problem: needsImages(input, 'pool before flatten, not after it') };
    const kernel = count(settings, 'kernelSize');
    const stride = settings.stride === null ? kernel : count(settings, 'stride');
    const { height, width, problem } = window(input.shape, kernel, stride, count(settings, 'padding'));
    if (problem !== undefined) return { shape: null, problem };
    return { shape: height === undefined || width === undefined ? null : [input.shape[0], height, width] };
  },
  flatten(input) {
    if (input.shape === null) return { shape: null };
    return { shape: [input.shape.reduce((product, size) => product * size, 1)] };
  },
  same(input) {
    return { shape: input.shape };
  },
  batchnorm1d(input, settings) {
    const features = count(settings, 'numFeatures');
    if (input.shape === null || features === undefined) return { shape: input.shape };
    if (input.shape.length !== 1) {
      return { shape: input.shape, problem: `normalizes ${features} features, but receives ${receives(input)}; put a flatten before it` };
    }
    if (input.shape[0] !== features) {
      return {
        shape: input.shape,
        problem: `normalizes ${features} features (numFeatures), but receives ${receives(input)}; set numFeatures to ${input.shape[0]}`,
      };
    }
    return { shape: input.shape };
  },
};

/** What the validator knows of the samples a data set (or a loader over one) gives. */
export interface DataFacts {
  /** The dataset node's id. */
  dataset: string;
  shape: Shape;
  task: 'classification' | 'regression' | undefined;
  /** Classification: the number of classes, when known. */
  classes?: number;
  /** Regression: the number of target values per sample. */
  targetWidth?: number;
}

/** The facts a dataset node's settings give, for the data shape rules. */
export const DATASET_RULES: Partial<Record<ShapeRuleName, (id: string, settings: Settings) => DataFacts>> = {
  'dataset-synthetic'(id, settings) {
    const task = settings.task === 'regression' ? 'regression' : 'classification';
    const image = settings.imageShape;
    const features = count(settings, 'features');
    const shape = Array.isArray(image) && image.every((size) => typeof size === 'number') ? (image as number[]) : features === undefined ? null : [features];
    return task === 'regression' ? { dataset: id, shape, task, targetWidth: 1 } : { dataset: id, shape, task, classes: count(settings, 'classes') };
  },
  'dataset-csv'(id, settings) {
    const columns = settings.featureColumns;
    const shape = Array.isArray(columns) && columns.length > 0 ? [columns.length] : null;
    const task = settings.task === 'regression' ? 'regression' : 'classification';
    return task === 'regression' ? { dataset: id, shape, task, targetWidth: 1 } : { dataset: id, shape, task };
  },
  'dataset-mnist'(id) {
    return { dataset: id, shape: [1, 28, 28], task: 'classification', classes: 10 };
  },
};
