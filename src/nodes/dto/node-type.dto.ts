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
}

export class NodeTypeListDto {
  @ApiProperty({
    type: [NodeTypeDto],
    description: 'Every node type: type, version, category, description, inputs, outputs, settings schema, defaults, Python requirements',
  })
  nodes!: NodeTypeDto[];
}
