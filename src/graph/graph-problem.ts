export const GraphProblemCode = {
  INVALID_NODE_ID: 'INVALID_NODE_ID',
  DUPLICATE_NODE_ID: 'DUPLICATE_NODE_ID',
  RESERVED_NODE_ID: 'RESERVED_NODE_ID',
  UNKNOWN_NODE_TYPE: 'UNKNOWN_NODE_TYPE',
  INVALID_SETTINGS: 'INVALID_SETTINGS',
  UNKNOWN_EDGE_SOURCE: 'UNKNOWN_EDGE_SOURCE',
  UNKNOWN_EDGE_TARGET: 'UNKNOWN_EDGE_TARGET',
  UNKNOWN_SOURCE_HANDLE: 'UNKNOWN_SOURCE_HANDLE',
  UNKNOWN_TARGET_HANDLE: 'UNKNOWN_TARGET_HANDLE',
  /** An edge without a handle at a node whose type has several, or no, outputs (inputs). */
  AMBIGUOUS_HANDLE: 'AMBIGUOUS_HANDLE',
  CYCLE: 'CYCLE',
  /** Graph-level: the workflow does not have exactly one trigger node. */
  TRIGGER_COUNT: 'TRIGGER_COUNT',
  INVALID_BINDING: 'INVALID_BINDING',
  /** A binding names no node, its own node, or a node that is not upstream. */
  UNRESOLVED_BINDING: 'UNRESOLVED_BINDING',
  /** A setting in the condition language (`if`'s condition) that does not parse. */
  INVALID_EXPRESSION: 'INVALID_EXPRESSION',
  /** A node reached through too many different combinations of branches to emit. */
  TOO_MANY_BRANCH_PATHS: 'TOO_MANY_BRANCH_PATHS',
  /** An input that takes a value of one type (a model, a data loader…) has no edge bringing one. */
  MISSING_INPUT: 'MISSING_INPUT',
  /** An input that takes a value of one type has edges bringing it from more than one node. */
  TOO_MANY_INPUTS: 'TOO_MANY_INPUTS',
  /** An edge brings a value of one type into an input that takes another. */
  INPUT_TYPE_MISMATCH: 'INPUT_TYPE_MISMATCH',
  /** Layer nodes that do not form one straight chain ending in a sequential node. */
  LAYER_CHAIN: 'LAYER_CHAIN',
  /** Tensor sizes that do not fit where a layer, loss or evaluation meets them. */
  SHAPE_MISMATCH: 'SHAPE_MISMATCH',
  DUPLICATE_EDGE_ID: 'DUPLICATE_EDGE_ID',
  SELF_LOOP: 'SELF_LOOP',
} as const;
export type GraphProblemCode = (typeof GraphProblemCode)[keyof typeof GraphProblemCode];

export interface GraphProblem {
  code: GraphProblemCode;
  /** A sentence a user can act on, naming the node, edge or binding. */
  message: string;
  /** JSON pointer into the workflow body, e.g. `/nodes/2/settings/prompt` or `/edges/0/sourceHandle`. */
  path?: string;
  /** The edge's id, or its index in `edges` when it has none. */
  edge?: number | string;
}

export interface GraphReport {
  valid: boolean;
  errors: {
    /** Problems keyed by node id; an edge's problems sit on its source node (else its target node). */
    nodes: Record<string, GraphProblem[]>;
    graph: GraphProblem[];
  };
}
