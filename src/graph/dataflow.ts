import { LAYER_DATA_TYPE } from '../nodes/node-catalog';
import type { NodePort, NodeTypeDefinition } from '../nodes/node-type';
import { type GraphProblem, GraphProblemCode } from './graph-problem';
import type { WorkflowEdgeInput, WorkflowNodeInput } from './graph.types';
import { DATASET_RULES, type DataFacts, describeShape, LAYER_RULES, type Shape, type ShapeOrigin } from './shapes';

const ANY = 'any';

/** The output an edge leaves its source through: its sourceHandle, else the type's only output. */
export function sourcePortOf(definition: NodeTypeDefinition, edge: WorkflowEdgeInput): NodePort | undefined {
  return portOf(definition.outputs, edge.sourceHandle);
}

/** The input an edge enters its target through: its targetHandle, else the type's only input. */
export function targetPortOf(definition: NodeTypeDefinition, edge: WorkflowEdgeInput): NodePort | undefined {
  return portOf(definition.inputs, edge.targetHandle);
}

function portOf(ports: NodePort[], handle: string | null | undefined): NodePort | undefined {
  if (handle !== undefined && handle !== null) return ports.find((port) => port.id === handle);
  return ports.length === 1 ? ports[0] : undefined;
}

/**
 * Whether an edge from output `source` brings a value into input `target`: the same data type,
 * or either side `any` (but layers chain only into layer inputs). Other edges only order the run.
 */
export function carriesValue(source: NodePort, target: NodePort): boolean {
  if (source.dataType === LAYER_DATA_TYPE || target.dataType === LAYER_DATA_TYPE) return source.dataType === target.dataType;
  return source.dataType === target.dataType || source.dataType === ANY || target.dataType === ANY;
}

/** A node's input ports its function takes as parameters. */
function portParameters(definition: NodeTypeDefinition): NodePort[] {
  const parameters = definition.python?.parameters ?? [];
  return definition.inputs.filter((port) => parameters.includes(port.id));
}

export interface FlowGraph {
  nodes: readonly WorkflowNodeInput[];
  /** Every node's type, resolved (the checks run only when all resolve). */
  definitions: readonly NodeTypeDefinition[];
  edges: readonly WorkflowEdgeInput[];
  indexById: ReadonlyMap<string, number>;
  /** The node types with an output of this data type, for the messages. */
  producers(dataType: string): string[];
}

export interface FlowProblem {
  nodeId: string;
  problem: GraphProblem;
}

interface ValueEdge {
  edgeIndex: number;
  source: number;
  port: NodePort;
}

/**
 * The checks of typed inputs (a model, a data loader…), layer chains and tensor shapes: what a
 * workflow of the PyTorch node types needs besides a sound graph.
 */
export class DataflowCheck {
  private readonly problems: FlowProblem[] = [];
  private readonly seen = new Set<string>();
  /** Per node, per input port id: the edges bringing it a value. */
  private readonly values: Map<string, ValueEdge[]>[];
  /** Per node: the edges leaving it, with their ports. */
  private readonly outgoing: { edgeIndex: number; target: number; from: NodePort; to: NodePort }[][];

  constructor(private readonly graph: FlowGraph) {
    this.values = graph.nodes.map(() => new Map<string, ValueEdge[]>());
    this.outgoing = graph.nodes.map(() => []);
    graph.edges.forEach((edge, edgeIndex) => {
      const source = graph.indexById.get(edge.source);
      const target = graph.indexById.get(edge.target);
      if (source === undefined || target === undefined || source === target) return;
      const from = sourcePortOf(graph.definitions[source], edge);
      const to = targetPortOf(graph.definitions[target], edge);
      if (from === undefined || to === undefined) return;
      this.outgoing[source].push({ edgeIndex, target, from, to });
      if (!carriesValue(from, to)) return;
      const list = this.values[target].get(to.id) ?? [];
      list.push({ edgeIndex, source, port: from });
      this.values[target].set(to.id, list);
    });
  }

  /** Typed inputs and layer chains; the shapes only when those hold (they follow the same edges). */
  run(withShapes: boolean): FlowProblem[] {
    this.graph.nodes.forEach((_, index) => this.checkInputs(index));
    this.graph.nodes.forEach((_, index) => this.checkChainLinks(index));
    if (withShapes && this.problems.length === 0) this.checkShapes();
    return this.problems;
  }

  private add(index: number, code: GraphProblemCode, message: string, path = `/nodes/${index}`): void {
    const nodeId = this.graph.nodes[index].id;
    const key = `${nodeId}\u0000${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.problems.push({ nodeId, problem: { code, message, path } });
  }

  private id(index: number): string {
    return this.graph.nodes[index].id;
  }

  // ---- typed inputs ---------------------------------------------------------------------------

  private checkInputs(index: number): void {
    const definition = this.graph.definitions[index];
    for (const port of portParameters(definition)) {
      if (port.dataType === ANY) continue;
      const sources = this.values[index].get(port.id) ?? [];
      if (sources.length === 0) {
        this.add(
          index,
          GraphProblemCode.MISSING_INPUT,
          `Node "${this.id(index)}" has no ${port.dataType} on its input "${port.id}": connect a node that gives one` +
            `${suggest(this.graph.producers(port.dataType))}.`,
        );
      } else if (sources.length > 1) {
        const names = sources.map(({ source }) => `"${this.id(source)}"`).join(', ');
        this.add(
          index,
          GraphProblemCode.TOO_MANY_INPUTS,
          `Node "${this.id(index)}" receives a ${port.dataType} on its input "${port.id}" from ${sources.length} nodes (${names}); keep one of those edges.`,
        );
      }
    }
    for (const { edgeIndex, target, from, to } of this.outgoing[index]) {
      const edge = this.graph.edges[edgeIndex];
      const explicit = edge.targetHandle !== undefined && edge.targetHandle !== null;
      if (from.dataType === LAYER_DATA_TYPE || to.dataType === LAYER_DATA_TYPE || !explicit || carriesValue(from, to)) continue;
      this.add(
        index,
        GraphProblemCode.INPUT_TYPE_MISMATCH,
        `Edge at index ${edgeIndex} brings a ${from.dataType} from "${this.id(index)}" into input "${to.id}" of "${this.id(target)}", which takes a ${to.dataType}.`,
        `/edges/${edgeIndex}`,
      );
    }
  }

  // ---- layer chains ---------------------------------------------------------------------------

  private role(index: number): string {
    return this.graph.definitions[index].python?.role ?? 'step';
  }

  private checkChainLinks(index: number): void {
    const role = this.role(index);
    if (role !== 'layer' && role !== 'sequence') return;
    const layers = this.values[index].get(this.graph.definitions[index].inputs[0].id) ?? [];
    if (layers.length > 1) {
      const names = layers.map(({ source }) => `"${this.id(source)}"`).join(', ');
      this.add(
        index,
        GraphProblemCode.LAYER_CHAIN,
        `Node "${this.id(index)}" receives layers from ${layers.length} nodes (${names}); chain layers one after another.`,
      );
    }
    if (role === 'sequence') {
      if (layers.length === 0) {
        this.add(index, GraphProblemCode.LAYER_CHAIN, `Sequential node "${this.id(index)}" has no layers: chain layer nodes (linear, relu…) into its input.`);
      }
      return;
    }
    const out = this.outgoing[index];
    const chained = out.filter(({ from, to }) => from.dataType === LAYER_DATA_TYPE && to.dataType === LAYER_DATA_TYPE);
    for (const { target, to } of out.filter((link) => !chained.includes(link))) {
      this.add(
        index,
        GraphProblemCode.LAYER_CHAIN,
        `Layer "${this.id(index)}" connects to input "${to.id}" of "${this.id(target)}", which does not take layers; ` +
          'a layer connects only to the next layer or to a sequential node.',
      );
    }
    if (chained.length === 0) {
      this.add(
        index,
        GraphProblemCode.LAYER_CHAIN,
        `Layer "${this.id(index)}" is not part of a model: connect it, or the chain it ends, to a sequential node.`,
      );
    } else if (chained.length > 1) {
      const names = chained.map(({ target }) => `"${this.id(target)}"`).join(', ');
      this.add(index, GraphProblemCode.LAYER_CHAIN, `Layer "${this.id(index)}" feeds ${chained.length} nodes (${names}); a layer belongs to one chain.`);
    }
  }

  /** The layers a sequence node builds its model of, first to last. */
  chainOf(sequence: number): number[] {
    const chain: number[] = [];
    let current = sequence;
    for (;;) {
      const [link] = this.values[current].get(this.graph.definitions[current].inputs[0].id) ?? [];
      if (link === undefined || this.role(link.source) !== 'layer' || chain.includes(link.source)) break;
      chain.unshift(link.source);
      current = link.source;
    }
    return chain;
  }

  // ---- shapes ---------------------------------------------------------------------------------

  private settings(index: number): Record<string, unknown> {
    return { ...this.graph.definitions[index].defaults, ...this.graph.nodes[index].settings };
  }

  private valueSource(index: number, port: string): number | undefined {
    return this.values[index].get(port)?.[0]?.source;
  }

  private checkShapes(): void {
    this.graph.definitions.forEach((definition, index) => {
      if (definition.python?.role === 'sequence') this.propagate(this.chainOf(index), { shape: null, from: '' });
    });
    this.graph.definitions.forEach((definition, index) => {
      if (definition.shape === 'train' || definition.shape === 'evaluate') this.checkFit(index, definition.shape);
      if (definition.shape === 'predict') this.checkPredict(index);
    });
  }

  /** Runs a sample shape through a chain of layers; returns the shape it ends with and the layer that set it. */
  private propagate(chain: number[], input: ShapeOrigin): { shape: Shape; setBy?: number } {
    let current = input;
    let setBy: number | undefined;
    for (const layer of chain) {
      const rule = LAYER_RULES[this.graph.definitions[layer].shape ?? 'same'] ?? LAYER_RULES.same!;
      const step = rule(current, this.settings(layer));
      if (step.problem !== undefined) this.add(layer, GraphProblemCode.SHAPE_MISMATCH, `Layer "${this.id(layer)}" ${step.problem}.`);
      if (step.shape !== current.shape) {
        current = { shape: step.shape, from: `the output of "${this.id(layer)}"` };
        setBy = layer;
      }
    }
    return { shape: current.shape, setBy };
  }

  private dataFacts(index: number | undefined, depth = 0): DataFacts | undefined {
    if (index === undefined || depth > this.graph.nodes.length) return undefined;
    const definition = this.graph.definitions[index];
    if (definition.shape === 'dataloader') return this.dataFacts(this.valueSource(index, definition.inputs[0]?.id), depth + 1);
    const rule = definition.shape === undefined ? undefined : DATASET_RULES[definition.shape];
    return rule?.(this.id(index), this.settings(index));
  }

  private modelChain(index: number | undefined, depth = 0): number[] | undefined {
    if (index === undefined || depth > this.graph.nodes.length) return undefined;
    const definition = this.graph.definitions[index];
    if (definition.python?.role === 'sequence') return this.chainOf(index);
    if (definition.shape === 'train' || definition.shape === 'load-model') return this.modelChain(this.valueSource(index, 'model'), depth + 1);
    return undefined;
  }

  /** Where a model meets the samples of a predict node: its sampleShape through the layers. */
  private checkPredict(index: number): void {
    const sampleShape = this.settings(index).sampleShape;
    if (!Array.isArray(sampleShape) || !sampleShape.every((size) => Number.isInteger(size) && size > 0)) return;
    const chain = this.modelChain(this.valueSource(index, 'model'));
    if (chain === undefined) return;
    this.propagate(chain, { shape: sampleShape as number[], from: `the samples of "${this.id(index)}" (sampleShape)` });
  }

  /** Where a model meets data (train, evaluate): the data through the layers, then the output against the targets. */
  private checkFit(index: number, kind: 'train' | 'evaluate'): void {
    const data = this.dataFacts(this.valueSource(index, 'data'));
    const chain = this.modelChain(this.valueSource(index, 'model'));
    if (data === undefined || chain === undefined) return;
    const output = this.propagate(chain, { shape: data.shape, from: `dataset "${data.dataset}"` });
    const lossIndex = kind === 'train' ? this.valueSource(index, 'loss') : undefined;
    const loss = kind === 'evaluate' ? 'cross-entropy' : lossIndex === undefined ? undefined : this.graph.definitions[lossIndex].shape;
    const user = `"${this.id(index)}"`;
    if (loss === 'cross-entropy' && data.task === 'regression') {
      if (kind === 'evaluate') {
        this.add(
          index,
          GraphProblemCode.SHAPE_MISMATCH,
          `Node ${user} measures a classifier's accuracy, but dataset "${data.dataset}" has regression targets.`,
        );
      } else {
        this.add(
          lossIndex!,
          GraphProblemCode.SHAPE_MISMATCH,
          `Loss "${this.id(lossIndex!)}" (cross-entropy) needs class labels, but dataset "${data.dataset}" has regression targets; use loss-mse.`,
        );
      }
      return;
    }
    if (loss === 'mse' && data.task === 'classification') {
      this.add(
        lossIndex!,
        GraphProblemCode.SHAPE_MISMATCH,
        `Loss "${this.id(lossIndex!)}" (mean squared error) needs regression targets, but dataset "${data.dataset}" has class labels; ` +
          'use loss-cross-entropy, or set the dataset\'s task to "regression".',
      );
      return;
    }
    const width = loss === 'cross-entropy' ? data.classes : loss === 'mse' ? data.targetWidth : undefined;
    if (output.shape === null || output.setBy === undefined || width === undefined) return;
    const per =
      loss === 'cross-entropy'
        ? `one score per class (dataset "${data.dataset}" has ${width} classes)`
        : `${width} value${width === 1 ? '' : 's'} per sample, like the targets of dataset "${data.dataset}"`;
    const layer = `Layer "${this.id(output.setBy)}"`;
    if (output.shape.length !== 1) {
      this.add(
        output.setBy,
        GraphProblemCode.SHAPE_MISMATCH,
        `${layer} ends the model with ${describeShape(output.shape)} per sample, but ${user} needs ${per}: add flatten and linear layers after it.`,
      );
    } else if (output.shape[0] !== width) {
      this.add(
        output.setBy,
        GraphProblemCode.SHAPE_MISMATCH,
        `${layer} ends the model with ${describeShape(output.shape)} per sample, but ${user} needs ${per}; make it give ${width}.`,
      );
    }
  }
}

function suggest(types: string[]): string {
  if (types.length === 0) return '';
  const quoted = types.map((type) => `"${type}"`);
  return ` (a node of type ${quoted.length === 1 ? quoted[0] : `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`})`;
}
