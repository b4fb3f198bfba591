import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { IsIn, IsObject, IsOptional, IsString, MaxLength } from 'class-validator';
import { IsObjectListOf, IsOmittable } from '../../common/body-shape.validators';
import { IsDisplayName } from '../../common/text.validators';

const HELLO_NODES = [
  { id: 'trigger', type: 'manual', settings: {}, position: { x: 0, y: 0 } },
  { id: 'greeting', type: 'transform', settings: { value: { message: 'Hello, {{ trigger.name }}!' } }, position: { x: 240, y: 0 } },
  { id: 'out', type: 'return', settings: { value: { result: '{{ greeting.message }}' } }, position: { x: 480, y: 0 } },
];
const HELLO_EDGES = [
  { id: 'e1', source: 'trigger', target: 'greeting' },
  { id: 'e2', source: 'greeting', target: 'out' },
];

export class WorkflowNodeDto {
  // No `$` followed by ` ' & or a digit in any text of the document: @nestjs/swagger 11 inlines it into swagger-ui-init.js with
  // String.replace, which expands those (nestjs/swagger#4119) and breaks the Swagger UI page.
  @ApiProperty({
    description: 'Unique in the workflow: a lowercase letter or `_`, then up to 63 lowercase letters, digits or `_`; the namespace of its output in bindings',
    pattern: '^[a-z_][a-z0-9_]{0,63}$',
    example: 'greeting',
  })
  @IsString()
  @MaxLength(200)
  id!: string;

  @ApiProperty({ description: 'A node type of `GET /v1/nodes`, optionally pinned as `type@<major>`', example: 'transform' })
  @IsString()
  @MaxLength(100)
  type!: string;

  @ApiPropertyOptional({
    description: "Settings, checked against the type's JSON Schema; strings may hold `{{ bindings }}`",
    type: Object,
    example: { value: { message: 'Hello, {{ trigger.name }}!' } },
  })
  @IsOmittable()
  @IsObject()
  settings?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'Kept verbatim for editors', type: Object, example: { x: 240, y: 0 } })
  @IsOmittable()
  @IsObject()
  position?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'Kept verbatim for editors', type: Object })
  @IsOmittable()
  @IsObject()
  ui?: Record<string, unknown>;
}

export class WorkflowEdgeDto {
  @ApiPropertyOptional({ example: 'e1' })
  @IsOmittable()
  @IsString()
  @MaxLength(200)
  id?: string;

  @ApiProperty({ example: 'trigger' })
  @IsString()
  @MaxLength(200)
  source!: string;

  @ApiProperty({ example: 'greeting' })
  @IsString()
  @MaxLength(200)
  target!: string;

  @ApiPropertyOptional({
    description: "Output handle; absent or null means the type's single output (an `if` names `true` or `false`)",
    example: 'true',
    type: String,
    nullable: true,
  })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  sourceHandle?: string | null;

  @ApiPropertyOptional({ description: "Input handle; absent or null means the type's single input", example: 'model', type: String, nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  targetHandle?: string | null;
}

export class WorkflowGraphDto {
  @ApiProperty({ type: [WorkflowNodeDto], example: HELLO_NODES })
  @IsObjectListOf(() => WorkflowNodeDto)
  nodes!: WorkflowNodeDto[];

  @ApiProperty({ type: [WorkflowEdgeDto], example: HELLO_EDGES })
  @IsObjectListOf(() => WorkflowEdgeDto)
  edges!: WorkflowEdgeDto[];
}

export class WorkflowBodyDto extends WorkflowGraphDto {
  @ApiProperty({ description: '1-200 characters', example: 'Hello' })
  @IsDisplayName()
  name!: string;

  @ApiPropertyOptional({ description: 'Up to 10,000 characters', example: 'Greets whoever is named in the inputs.', default: '' })
  @IsOptional()
  @IsString()
  @MaxLength(10_000)
  description?: string;
}

/** The body of `POST /v1/workflows/validate`: the same as a create body, but name and description may be left out. */
export class ValidateWorkflowDto extends WorkflowGraphDto {
  @ApiPropertyOptional({ example: 'Hello' })
  @IsOptional()
  @IsDisplayName()
  name?: string;

  @ApiPropertyOptional({ example: '' })
  @IsOptional()
  @IsString()
  @MaxLength(10_000)
  description?: string;
}

export class WorkflowSummaryDto {
  @ApiProperty({ example: 'wf_3mT8c0RkQ2xZp9Lb' }) id!: string;
  @ApiProperty({ example: 'Hello' }) name!: string;
  @ApiProperty({ example: '2026-11-28T13:37:35.123Z' }) createdAt!: string;
  @ApiProperty({ example: '2026-11-28T13:40:02.456Z' }) updatedAt!: string;
}

export class WorkflowListDto {
  @ApiProperty({ type: [WorkflowSummaryDto] }) workflows!: WorkflowSummaryDto[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as `cursor` for the next page; null on the last page', example: null })
  nextCursor!: string | null;
}

export class WorkflowDto {
  @ApiProperty({ example: 'wf_3mT8c0RkQ2xZp9Lb' }) id!: string;
  @ApiProperty({ example: 'Hello' }) name!: string;
  @ApiProperty({ example: 'Greets whoever is named in the inputs.' }) description!: string;
  @ApiProperty({ description: 'Starts at 1, +1 on every replace; send it as If-Match to replace safely', example: 1 }) version!: number;
  @ApiProperty({ type: [WorkflowNodeDto], example: HELLO_NODES }) nodes!: WorkflowNodeDto[];
  @ApiProperty({ type: [WorkflowEdgeDto], example: HELLO_EDGES }) edges!: WorkflowEdgeDto[];
  @ApiProperty({ example: '2026-11-28T13:37:35.123Z' }) createdAt!: string;
  @ApiProperty({ example: '2026-11-28T13:37:35.123Z' }) updatedAt!: string;
}

/** A webhook's address and secret: in the save that gave the workflow its hook, and in a rotation; the secret is shown only there. */
export class WebhookSecretDto {
  @ApiProperty({ description: 'Where deliveries go (any method the trigger allows)', example: 'https://tensorify.example.com/v1/hooks/hk_4fV9sQ1LmZ8xT2Rb' })
  url!: string;
  @ApiProperty({ pattern: '^hk_[0-9A-Za-z]{16}$', example: 'hk_4fV9sQ1LmZ8xT2Rb' }) hookId!: string;
  @ApiProperty({
    description: 'The HMAC key of the signatures (`whsec_` + 40 letters and digits); shown this once, stored encrypted',
    pattern: '^whsec_[0-9A-Za-z]{32,}$',
    example: 'whsec_6q0Lk2VwX9bN3rT8yPzA1cD4eF7gH5jK0mS2uW4x',
  })
  secret!: string;
}

/** A created or replaced workflow: the workflow, plus its new hook when this save gave it one. */
export class SavedWorkflowDto extends WorkflowDto {
  @ApiPropertyOptional({
    type: WebhookSecretDto,
    description:
      "Only in the save that gave the workflow its hook (its trigger became `webhook`): the hook's URL and secret, which is never shown again (`POST /v1/workflows/{id}/webhook/rotate` makes a new one)",
  })
  webhook?: WebhookSecretDto;
}

class GraphProblemDto {
  @ApiProperty({ example: 'UNRESOLVED_BINDING' }) code!: string;
  @ApiProperty({ example: 'Binding "{{ foo.bar }}" names node "foo", which is not upstream of "out"' }) message!: string;
  @ApiPropertyOptional({ example: '/nodes/2/settings/value/result' }) path?: string;
  @ApiPropertyOptional({
    oneOf: [{ type: 'string' }, { type: 'integer' }],
    description: "The edge's id, or its index in `edges` when it has none",
    example: 'e2',
  })
  edge?: string | number;
}

class GraphErrorsDto {
  @ApiProperty({
    description: 'Problems keyed by node id',
    type: 'object',
    additionalProperties: { type: 'array', items: { $ref: getSchemaPath(GraphProblemDto) } },
    example: {
      out: [
        {
          code: 'UNRESOLVED_BINDING',
          message: 'Binding "{{ foo.bar }}" names node "foo", which is not upstream of "out"',
          path: '/nodes/2/settings/value/result',
        },
      ],
    },
  })
  nodes!: Record<string, GraphProblemDto[]>;
  @ApiProperty({ type: [GraphProblemDto], example: [] }) graph!: GraphProblemDto[];
}

export class ValidationReportDto {
  @ApiProperty({ example: false }) valid!: boolean;
  @ApiProperty({ type: GraphErrorsDto }) errors!: GraphErrorsDto;
}

export const EXPORT_FORMATS = ['json', 'zip'] as const;

export class ExportQueryDto {
  @ApiPropertyOptional({
    description: '`json` (default): the files in a JSON object; `zip`: the same files as a zip archive',
    enum: EXPORT_FORMATS,
    default: 'json',
  })
  @IsOptional()
  @IsIn(EXPORT_FORMATS)
  format?: (typeof EXPORT_FORMATS)[number];
}

class GeneratedFilesDto {
  @ApiProperty({
    description: 'The program: one function per node, `run()` calling them in order, `main()`',
    example: '"""Hello: workflow wf_3mT8c0RkQ2xZp9Lb, version 1.\n…',
  })
  'main.py'!: string;
  @ApiProperty({
    description: 'Run context, progress lines, inputs/output handling and the helpers the nodes call',
    example: '"""Helpers of the generated workflow program…',
  })
  'utils.py'!: string;
  @ApiProperty({
    description: 'pip requirements, merged and sorted',
    example: '# Python packages the workflow needs: pip install -r requirements.txt\nopenai>=1.0.0\n',
  })
  'requirements.txt'!: string;
}

export class ExportDto {
  @ApiProperty({ type: GeneratedFilesDto }) files!: GeneratedFilesDto;
}
