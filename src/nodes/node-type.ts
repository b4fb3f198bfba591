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
  dataType: string;
  description: string;
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
}

/** Code generation options of a node type (`python` in its manifest). */
export interface NodePythonOptions {
  /**
   * Parameters the function takes besides the upstream outputs its bindings read: `input` (the
   * output of the node feeding its input) and `ctx` (the run context). Default none.
   */
  parameters?: ('input' | 'ctx')[];
  /** The return annotation, default `Any`. */
  returns?: string;
  /** A type the node's result must have, checked at run time (a `code` node must return a dict). */
  resultType?: 'dict' | 'list' | 'str' | 'int' | 'float' | 'bool';
  /**
   * `step` (default): its result is its output. `branch`: returns a bool choosing the output
   * `true` or `false`, and passes its input on. `return`: its result is the run's output and ends the run.
   */
  role?: 'step' | 'branch' | 'return';
  /** Functions of the type's `helpers.py` that its template calls; the file joins utils.py when the type is used. */
  helpers?: string[];
}

/** A setting that does not match its node type's schema. */
export interface SettingsProblem {
  /** JSON pointer into the settings, e.g. `/temperature`; `` for the settings object itself. */
  path: string;
  message: string;
}
