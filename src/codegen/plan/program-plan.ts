import type { ConditionNode } from '../../graph/condition';
import type { NodeTypeDefinition } from '../../nodes/node-type';
import type { Literal } from '../branch-conditions';
import type { PyExpr } from '../python/py-expr';
import type { WorkflowEdgeInput, WorkflowNodeInput } from '../../graph/graph.types';

/** A stored workflow version: what an export compiles. */
export interface CompileInput {
  id: string;
  version: number;
  name: string;
  description: string;
  nodes: readonly WorkflowNodeInput[];
  edges: readonly WorkflowEdgeInput[];
}

/** What a node's function is to run(): a plain step, a branch (`if`), the `return`, a layer of a sequence. */
export type NodeRole = 'step' | 'branch' | 'return' | 'layer' | 'sequence';

/** One node of the workflow with every decision made about it: its names, what it reads, whether run() calls it. */
export interface NodePlan {
  readonly id: string;
  readonly definition: NodeTypeDefinition;
  /** The type's defaults overlaid with the node's own settings. */
  readonly settings: Readonly<Record<string, unknown>>;
  readonly role: NodeRole;
  /** Names in main.py: the function, its output variable, and (branches) the bool it returned. */
  readonly function: string;
  readonly variable: string;
  readonly passed: string;
  /** `input` and the input ports the function takes, in the manifest's order. */
  readonly ports: readonly string[];
  /** Output variables of the upstream nodes its bindings read, in order of first appearance: parameters after the ports. */
  readonly boundVariables: readonly string[];
  /** Whether the function takes `ctx` (last). */
  readonly needsContext: boolean;
  /** Its expression settings (an `if`'s condition), parsed. */
  readonly conditions: ReadonlyMap<string, ConditionNode>;
  /** A sequence's layers, first to last; empty for other nodes. */
  readonly chain: readonly NodePlan[];
  /** Whether run() calls it (not after a `return` that always happens first). */
  readonly emitted: boolean;
  /** Whether a later statement reads its output variable / its `passed` variable. */
  readonly outputRead: boolean;
  readonly passedRead: boolean;
  /** Whether its variable is set to None before the nodes run (read where it may not have run). */
  readonly preset: boolean;
}

/** A statement of run(): a node's call, `return {}`, or an `if` on branch results. */
export type RunStatement =
  | { readonly kind: 'node'; readonly node: NodePlan; readonly call: PyExpr }
  | { readonly kind: 'return-empty' }
  | {
      readonly kind: 'if';
      readonly test: PyExpr;
      readonly body: readonly RunStatement[];
      readonly orelse?: readonly RunStatement[];
      readonly literal?: Literal;
    };

/** The program a workflow version compiles to, decided and not yet written: what the Python emitter prints. */
export interface ProgramPlan {
  readonly workflow: CompileInput;
  /** Every node, in compile (stable topological) order. */
  readonly nodes: readonly NodePlan[];
  /** The output variable of each node id, for the bindings that read it. */
  readonly variables: ReadonlyMap<string, string>;
  /** The body of run(). */
  readonly run: readonly RunStatement[];
  /** The node types whose code the program holds (run() calls them, or a sequence holds them), sorted. */
  readonly usedTypes: readonly string[];
}
