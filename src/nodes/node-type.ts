/** A JSON Schema (draft-07) object, as written in a manifest. */
export type JsonSchema = Record<string, unknown>;

/** The settings schema of a node type: an object schema whose every property is described. */
export interface SettingsSchema extends JsonSchema {
  type: 'object';
  properties: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties: false;
}

/** One input or output handle of a node type; edges name it as `targetHandle` / `sourceHandle`. */
export interface NodePort {
  id: string;
  /**
   * What flows through it, e.g. `any`, `object`, `dataset`, `module`. An input of a type other
   * than `any` takes its value from the one edge whose output has the same type (or `any`);
   * edges of other types into it only order the run.
   */
  dataType: string;
  description: string;
  /** Outputs only: the edges leaving it carry the node's result's `[field]` instead of the whole result. */
  field?: string;
}

/**
 * A node type of the catalogue, exactly as its `codegen-templates/nodes/<type>/node.json` states it
 * and as `GET /v1/nodes` serves it.
 */
export interface NodeTypeDefinition {
  type: string;
  /** Semantic version; a workflow may pin the major with `type@<major>`. */
  version: string;
  category: string;
  displayName: string;
  description: string;
  /** Whether the node starts a run; a valid workflow has exactly one trigger node. */
  trigger: boolean;
  inputs: NodePort[];
  outputs: NodePort[];
  settingsSchema: SettingsSchema;
  /** Values merged under a node's settings before they are validated and compiled. */
  defaults: Record<string, unknown>;
  /** pip requirement strings, e.g. `openai>=1.0.0`. */
  requirements: string[];
  /** Python import lines the node's code needs, e.g. `import torch`. */
  imports: string[];
  /**
   * Settings taken as written, never scanned for `{{ bindings }}`: a `code` node's Python may
   * well contain `{{` (f-strings, set literals) and reads its data from `input` instead.
   */
  verbatimSettings?: string[];
  /** Settings written in the condition language (`if`): parsed at validation, emitted as a Python expression. */
  expressionSettings?: string[];
  /** How the node's function is generated; every field has a default. */
  python?: NodePythonOptions;
  /** The shape rule the validator applies to it (shapes.ts): how tensor sizes flow through it. */
  shape?: ShapeRuleName;
  /** Settings that show the type at work; required of a pack's type, which `plugins verify` exports and runs with them. */
  example?: Record<string, unknown>;
}

/** The shape rules of shapes.ts a manifest may name. */
export const SHAPE_RULES = [
  'linear',
  'conv2d',
  'maxpool2d',
  'flatten',
  'same',
  'batchnorm1d',
  'dataset-synthetic',
  'dataset-csv',
  'dataset-mnist',
  'dataloader',
  'train',
  'evaluate',
  'load-model',
  'predict',
  'cross-entropy',
  'mse',
] as const;
export type ShapeRuleName = (typeof SHAPE_RULES)[number];

/** Code generation options of a node type (`python` in its manifest). */
export interface NodePythonOptions {
  /**
   * Parameters the function takes besides the upstream outputs its bindings read, in order:
   * `input` (the output of the node(s) feeding its inputs), `ctx` (the run context), or the id of
   * one of its input ports (the value arriving there; the template reads it as `params.<id>`).
   * Default none.
   */
  parameters?: string[];
  /** The return annotation, default `Any`. */
  returns?: string;
  /** A type the node's result must have, checked at run time (a `code` node must return a dict). */
  resultType?: 'dict' | 'list' | 'str' | 'int' | 'float' | 'bool';
  /**
   * `step` (default): its result is its output. `branch`: returns a bool choosing the output
   * `true` or `false`, and passes its input on. `return`: its result is the run's output and ends
   * the run. `layer`: no function of its own; its template is one expression (a module) that the
   * `sequence` node its chain of layers ends in receives, in chain order, as `layers`.
   */
  role?: 'step' | 'branch' | 'return' | 'layer' | 'sequence';
  /** Functions of the type's `helpers.py` that its template calls; the file joins utils.py when the type is used. */
  helpers?: string[];
}

/** A setting that does not match its node type's schema. */
export interface SettingsProblem {
  /** JSON pointer into the settings, e.g. `/temperature`; `` for the settings object itself. */
  path: string;
  message: string;
}
