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
}

/** A setting that does not match its node type's schema. */
export interface SettingsProblem {
  /** JSON pointer into the settings, e.g. `/temperature`; `` for the settings object itself. */
  path: string;
  message: string;
}
