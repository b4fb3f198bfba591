import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiAuthenticated, RequireScope } from '../auth/auth.decorators';
import { ApiErrors, BODY_ERRORS, ErrorDoc } from '../common/api-docs';
import { ErrorCode } from '../common/errors';
import { DEFAULT_PAGE_SIZE, PageQueryDto } from '../common/pagination';
import { CreateWorkspaceDto, UpdateWorkspaceDto, WorkspaceDto, WorkspaceListDto } from './dto/workspace.dto';
import { WorkspacesService } from './workspaces.service';

const NOT_FOUND: ErrorDoc = { status: 404, code: ErrorCode.WORKSPACE_NOT_FOUND, message: 'Workspace ws_8Hq2LmZx0PaR4tYc not found' };
const NAME_TAKEN: ErrorDoc = {
  status: 409,
  code: ErrorCode.CONFLICT,
  message: 'A workspace named "ml-research" already exists',
  details: { field: 'name' },
};

@ApiTags('Workspaces')
@ApiAuthenticated()
@RequireScope('admin')
@Controller('v1/workspaces')
export class WorkspacesController {
  constructor(private readonly workspaces: WorkspacesService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({
    summary: 'Create a workspace',
    description:
      'Creates a workspace with a plan. Workflows and keys belong to one workspace, and each workspace has its own rate limit. Needs the `admin` scope.',
  })
  @ApiResponse({ status: 201, description: 'The new workspace', type: WorkspaceDto })
  @ApiErrors(400, NAME_TAKEN, ...BODY_ERRORS)
  async create(@Body() body: CreateWorkspaceDto): Promise<WorkspaceDto> {
    return this.workspaces.toDto(await this.workspaces.create(body));
  }

  @Get()
  @ApiOperation({ summary: 'List workspaces', description: 'All workspaces of this server, newest first, with cursor pagination. Needs the `admin` scope.' })
  @ApiResponse({ status: 200, description: 'A page of workspaces, newest first', type: WorkspaceListDto })
  @ApiErrors(400)
  async list(@Query() query: PageQueryDto): Promise<WorkspaceListDto> {
    const page = await this.workspaces.list(query.limit ?? DEFAULT_PAGE_SIZE, query.cursor);
    return { workspaces: page.items.map((w) => this.workspaces.toDto(w)), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a workspace', description: 'Needs the `admin` scope.' })
  @ApiParam({ name: 'id', example: 'ws_8Hq2LmZx0PaR4tYc' })
  @ApiResponse({ status: 200, description: 'The workspace', type: WorkspaceDto })
  @ApiErrors(NOT_FOUND)
  async get(@Param('id') id: string): Promise<WorkspaceDto> {
    return this.workspaces.toDto(await this.workspaces.get(id));
  }

  @Patch(':id')
  @ApiOperation({
    summary: 'Change a workspace',
    description:
      'Renames a workspace or changes its plan; `rateLimitPerMinute` (enterprise only) sets its own limit, `null` returns to the default. The new limit applies from the next request. Needs the `admin` scope.',
  })
  @ApiParam({ name: 'id', example: 'ws_8Hq2LmZx0PaR4tYc' })
  @ApiResponse({ status: 200, description: 'The changed workspace', type: WorkspaceDto })
  @ApiErrors(400, NOT_FOUND, NAME_TAKEN, ...BODY_ERRORS)
  async update(@Param('id') id: string, @Body() body: UpdateWorkspaceDto): Promise<WorkspaceDto> {
    return this.workspaces.toDto(await this.workspaces.update(id, body));
  }
}
