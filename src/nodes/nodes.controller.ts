import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiAuthenticated, RequireScope } from '../auth/auth.decorators';
import { NodeCatalog } from './node-catalog';
import { NodePackListDto, NodeTypeListDto } from './dto/node-type.dto';

@ApiTags('Workflows')
@ApiAuthenticated()
@Controller('v1/nodes')
export class NodesController {
  constructor(private readonly catalog: NodeCatalog) {}

  @Get()
  @RequireScope('workflows:read')
  @ApiOperation({
    summary: 'The node catalogue',
    description:
      'Every node type a workflow may use — the built-in ones (bare names) and those of the node packs (`<namespace>/<type>`) — with its ' +
      'handles, settings JSON Schema, defaults, Python requirements and pack. Needs `workflows:read`.',
  })
  @ApiResponse({ status: 200, description: 'The node catalogue', type: NodeTypeListDto })
  list(): NodeTypeListDto {
    return { nodes: this.catalog.list().map((definition) => ({ ...definition, pack: this.catalog.packOf(definition.type) })) };
  }
}

@ApiTags('Workflows')
@ApiAuthenticated()
@Controller('v1/node-packs')
export class NodePacksController {
  constructor(private readonly catalog: NodeCatalog) {}

  @Get()
  @RequireScope('workflows:read')
  @ApiOperation({
    summary: 'The node packs',
    description:
      'The built-in node types and every node pack found at boot (the plugins/ folder, TENSORIFY_NODE_PACKS, installed packages), with ' +
      'version, namespace, types and `loadError` — for a pack, or a type, that did not load. Needs `workflows:read`.',
  })
  @ApiResponse({ status: 200, description: 'The node packs', type: NodePackListDto })
  list(): NodePackListDto {
    return { packs: this.catalog.packs().map((pack) => ({ ...pack, types: pack.types.map((type) => ({ ...type })) })) };
  }
}
