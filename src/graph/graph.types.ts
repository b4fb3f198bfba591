/** A node as the workflow body holds it, after the HTTP layer's shape check. */
export interface WorkflowNodeInput {
  id: string;
  /** `name` or `name@<major>` of a catalogue node type. */
  type: string;
  /** Absent means `{}`. */
  settings?: Record<string, unknown>;
  /** Kept verbatim for editors. */
  position?: unknown;
  /** Kept verbatim for editors. */
  ui?: unknown;
}

/** An edge as the workflow body holds it; an absent (or null) handle means the type's single output/input. */
export interface WorkflowEdgeInput {
  id?: string;
  source: string;
  target: string;
  sourceHandle?: string | null;
  targetHandle?: string | null;
}

export interface WorkflowGraphInput {
  nodes: readonly WorkflowNodeInput[];
  edges: readonly WorkflowEdgeInput[];
}
