import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiAuthenticated, RequireScope } from '../auth/auth.decorators';
import { NodeCatalog } from './node-catalog';
import { NodeTypeListDto } from './dto/node-type.dto';

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
