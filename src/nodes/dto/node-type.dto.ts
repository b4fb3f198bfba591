import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { SHAPE_RULES } from '../node-type';

/** One input or output handle of a node type (NodePort). */
export class NodePortDto {
  @ApiProperty({ example: 'in' }) id!: string;
  @ApiProperty({ description: 'What flows through it: `any`, `object`, `dataset`, `module`, `layer`…', example: 'any' }) dataType!: string;
  @ApiProperty({ example: 'Upstream output' }) description!: string;
  @ApiPropertyOptional({ description: "Outputs only: the edges leaving it carry the result's `[field]`", example: 'model' }) field?: string;
}

/** How the node's function is generated (NodePythonOptions). */
export class NodePythonOptionsDto {
  @ApiPropertyOptional({
    type: [String],
    description: 'Parameters besides the upstream outputs: `input`, `ctx` or an input port id',
    example: ['input', 'ctx'],
  })
  parameters?: string[];
  @ApiPropertyOptional({ description: 'The return annotation', example: 'dict' }) returns?: string;
  @ApiPropertyOptional({
    enum: ['dict', 'list', 'str', 'int', 'float', 'bool'],
    description: 'The type the result must have, checked at run time',
    example: 'dict',
  })
  resultType?: string;
  @ApiPropertyOptional({ enum: ['step', 'branch', 'return', 'layer', 'sequence'], example: 'step' }) role?: string;
  @ApiPropertyOptional({ type: [String], description: "Functions of the type's helpers.py that its template calls", example: ['train_loop'] })
  helpers?: string[];
}

/** The pack of a node type: its package name and version. */
export class NodeTypePackDto {
  @ApiProperty({ example: 'tensorify-nodes-sklearn' }) name!: string;
  @ApiProperty({ example: '1.0.0' }) version!: string;
}

/** A node type of the catalogue, as `codegen-templates/nodes/<type>/node.json` states it (NodeTypeDefinition). */
export class NodeTypeDto {
  @ApiProperty({ example: 'transform' }) type!: string;
  @ApiProperty({ example: '1.0.0' }) version!: string;
  @ApiProperty({ example: 'automation' }) category!: string;
  @ApiProperty({ example: 'Transform' }) displayName!: string;
  @ApiProperty({ example: 'Builds a value from JSON whose strings may hold bindings.' }) description!: string;
  @ApiProperty({ description: 'Whether the node starts a run (a workflow has exactly one trigger)', example: false }) trigger!: boolean;
  @ApiProperty({ type: [NodePortDto] }) inputs!: NodePortDto[];
  @ApiProperty({ type: [NodePortDto] }) outputs!: NodePortDto[];
  @ApiProperty({
    type: Object,
    description: "A JSON Schema (draft-07) of the node's settings",
    example: { type: 'object', properties: { value: { description: 'Any JSON' } }, required: ['value'], additionalProperties: false },
  })
  settingsSchema!: Record<string, unknown>;
  @ApiProperty({ type: Object, description: "Merged under a node's settings before they are validated", example: {} }) defaults!: Record<string, unknown>;
  @ApiProperty({ type: [String], description: 'pip requirement strings', example: ['openai>=1.0.0'] }) requirements!: string[];
  @ApiProperty({ type: [String], description: "Python import lines the node's code needs", example: ['import json'] }) imports!: string[];
  @ApiPropertyOptional({ type: [String], description: 'Settings taken as written, never scanned for `{{ bindings }}`', example: ['code'] })
  verbatimSettings?: string[];
  @ApiPropertyOptional({ type: [String], description: 'Settings written in the condition language', example: ['condition'] }) expressionSettings?: string[];
  @ApiPropertyOptional({ type: NodePythonOptionsDto }) python?: NodePythonOptionsDto;
  @ApiPropertyOptional({ enum: SHAPE_RULES, description: 'How tensor sizes flow through it', example: 'linear' }) shape?: string;
  @ApiPropertyOptional({
    type: Object,
    description: "Settings that show the type at work (required of a pack's types; `plugins verify` exports and runs them)",
    example: { trees: 20 },
  })
  example?: Record<string, unknown>;
  @ApiProperty({ type: NodeTypePackDto, description: 'The node pack the type comes from (`tensorify-server` for the built-in types)' })
  pack!: NodeTypePackDto;
}

export class NodeTypeListDto {
  @ApiProperty({
    type: [NodeTypeDto],
    description: 'Every node type: type, version, category, description, inputs, outputs, settings schema, defaults, Python requirements',
  })
  nodes!: NodeTypeDto[];
}

/** One type of a node pack: its version when it loaded, its loadError when it did not. */
export class NodePackTypeDto {
  @ApiProperty({ description: 'The full type name, `<namespace>/<type>` for a pack type', example: 'sklearn/random-forest' }) type!: string;
  @ApiPropertyOptional({ description: 'Its version, when it loaded', example: '1.0.0' }) version?: string;
  @ApiPropertyOptional({
    description: 'Why it did not load, naming the file and line',
    example: 'Template nodes/metrics/metrics.py.hbs is refused: line 2: write values as {{py value}} or {{body setting}}, not {{settings.name…}}',
  })
  loadError?: string;
}

/** A node pack: the built-in types, or an npm package of node types (NodePackInfo). */
export class NodePackDto {
  @ApiProperty({ description: 'The package name; `tensorify-server` for the built-in types', example: 'tensorify-nodes-sklearn' }) name!: string;
  @ApiProperty({ description: 'The package version (empty when unknown)', example: '1.0.0' }) version!: string;
  @ApiProperty({ type: String, nullable: true, description: "The prefix of its types' names; null for the built-in types", example: 'sklearn' })
  namespace!: string | null;
  @ApiProperty({ enum: ['builtin', 'first-party', 'configured', 'installed'], example: 'configured' }) source!: string;
  @ApiProperty({ type: String, nullable: true, description: 'Where the package is; null when a configured pack was not found', example: '/srv/packs/sklearn' })
  path!: string | null;
  @ApiProperty({ type: [NodePackTypeDto] }) types!: NodePackTypeDto[];
  @ApiPropertyOptional({
    description: 'Why the whole pack was refused',
    example: 'package.json declares tensorify.nodeApiVersion 2, but this server speaks nodeApiVersion 1: install a release of the pack made for node API 1',
  })
  loadError?: string;
}

export class NodePackListDto {
  @ApiProperty({ type: [NodePackDto], description: 'The built-in pack first, then the packs in the order they were loaded' }) packs!: NodePackDto[];
}
