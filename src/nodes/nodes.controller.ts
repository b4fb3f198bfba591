import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiProperty, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiAuthenticated, RequireScope } from '../auth/auth.decorators';
import { NodeCatalog } from './node-catalog';
import type { NodeTypeDefinition } from './node-type';

class NodeTypeListDto {
  @ApiProperty({
    description: 'Every node type: type, version, category, description, inputs, outputs, settings schema, defaults, Python requirements',
    example: [
      {
        type: 'transform',
        version: '1.0.0',
        category: 'automation',
        displayName: 'Transform',
        description: 'Builds a value from JSON whose strings may hold bindings.',
        trigger: false,
        inputs: [{ id: 'in', dataType: 'any', description: 'Upstream output' }],
        outputs: [{ id: 'out', dataType: 'any', description: 'The evaluated value' }],
        settingsSchema: { type: 'object', properties: { value: { description: 'Any JSON' } }, required: ['value'], additionalProperties: false },
        defaults: {},
        requirements: [],
        imports: [],
      },
    ],
  })
  nodes!: NodeTypeDefinition[];
}

@ApiTags('Workflows')
@ApiAuthenticated()
@Controller('v1/nodes')
export class NodesController {
  constructor(private readonly catalog: NodeCatalog) {}

  @Get()
  @RequireScope('workflows:read')
  @ApiOperation({
    summary: 'The node catalogue',
    description: 'Every node type a workflow may use, with its handles, settings JSON Schema, defaults and Python requirements. Needs `workflows:read`.',
  })
  @ApiResponse({ status: 200, description: 'The node catalogue', type: NodeTypeListDto })
  list(): NodeTypeListDto {
    return { nodes: this.catalog.list() };
  }
}
