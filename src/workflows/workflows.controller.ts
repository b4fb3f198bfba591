import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Put, Query, Res } from '@nestjs/common';
import { ApiExtraModels, ApiHeader, ApiNoContentResponse, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiAuthenticated, RequireScope } from '../auth/auth.decorators';
import { Auth, AuthContext } from '../auth/auth-context';
import { ApiErrors, BODY_ERRORS, ErrorDoc } from '../common/api-docs';
import { ErrorCode, ValidationError } from '../common/errors';
import { jsonBytes } from '../common/json-bytes';
import { DEFAULT_PAGE_SIZE, PageQueryDto } from '../common/pagination';
import { requestOrigin } from '../common/request-origin';
import { WorkflowExporter } from '../codegen/workflow-exporter';
import {
  ExportDto,
  ExportQueryDto,
  SavedWorkflowDto,
  ValidateWorkflowDto,
  ValidationReportDto,
  WorkflowBodyDto,
  WorkflowDto,
  WorkflowListDto,
} from './dto/workflow.dto';
import { WorkflowEntity } from './workflow.entity';
import { type SavedWorkflow, WorkflowsService } from './workflows.service';

const NOT_FOUND: ErrorDoc = { status: 404, code: ErrorCode.WORKFLOW_NOT_FOUND, message: 'Workflow wf_3mT8c0RkQ2xZp9Lb not found' };
const INVALID: ErrorDoc = {
  status: 400,
  code: ErrorCode.INVALID_WORKFLOW,
  description: 'The graph is invalid (every problem, per node), or the body fails validation (`VALIDATION_ERROR`)',
  message: 'The workflow is invalid (1 problem): Binding "{{ foo.bar }}" names node "foo", which is not in the workflow',
  details: {
    nodes: {
      out: [
        {
          code: 'UNRESOLVED_BINDING',
          message: 'Binding "{{ foo.bar }}" names node "foo", which is not in the workflow',
          path: '/nodes/2/settings/value/result',
        },
      ],
    },
    graph: [],
  },
};
const STALE: ErrorDoc = {
  status: 409,
  code: ErrorCode.CONFLICT,
  message: 'Workflow wf_3mT8c0RkQ2xZp9Lb is at version 4, not 3: fetch it again and reapply your change',
  details: { currentVersion: 4, expectedVersion: 3 },
};
const NOT_COMPILABLE: ErrorDoc = {
  ...INVALID,
  description: 'The stored graph does not compile (every problem, per node), or `format` is not `json` or `zip` (`VALIDATION_ERROR`)',
};
const BAD_IF_MATCH: ErrorDoc = {
  status: 400,
  code: ErrorCode.VALIDATION_ERROR,
  description: '`If-Match` is not a version number',
  message: 'If-Match must be the workflow version, e.g. If-Match: 3',
  details: { fields: { 'If-Match': ['must be a version number'] } },
};
const ID_PARAM = { name: 'id', example: 'wf_3mT8c0RkQ2xZp9Lb' };
/** Sent with every workflow answered whole: its version, quoted, for If-Match. */
const ETAG_HEADER = { ETag: { description: 'The version, for If-Match', required: true, schema: { type: 'string', pattern: '^"[0-9]+"$', example: '"3"' } } };

/** The content type of every JSON answer of this controller. */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** A workflow's answer to GET /v1/workflows/:id: its JSON (a WorkflowDto) as bytes, and its ETag. */
export interface WorkflowRepresentation {
  body: Buffer;
  etag: string;
}

/** Representations, kept as long as the (cached, immutable) entity they were made from. */
const representations = new WeakMap<WorkflowEntity, WorkflowRepresentation>();

/** `If-Match: 3`, `"3"` or `W/"3"` → 3; `*` or no header → undefined (no precondition). */
function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(header);
  if (!match) {
    throw new ValidationError('If-Match must be the workflow version, e.g. If-Match: 3', { 'If-Match': ['must be a version number'] });
  }
  return Number(match[1]);
}

/** The workflow's JSON and ETag, made once per cached, frozen workflow. */
export function workflowRepresentation(workflow: WorkflowEntity): WorkflowRepresentation {
  let representation = representations.get(workflow);
  if (representation === undefined) {
    const dto: Omit<WorkflowDto, 'nodes' | 'edges'> & Pick<WorkflowEntity, 'nodes' | 'edges'> = {
      id: workflow.id,
      name: workflow.name,
      description: workflow.description,
      version: workflow.version,
      nodes: workflow.nodes,
      edges: workflow.edges,
      createdAt: workflow.createdAt.toISOString(),
      updatedAt: workflow.updatedAt.toISOString(),
    };
    // The ETag is the version, quoted.
    representation = { body: jsonBytes(dto), etag: `"${workflow.version}"` };
    representations.set(workflow, representation);
  }
  return representation;
}

/**
 * The workflow's JSON, with its ETag and content type set on the reply: the answer of GET
 * /v1/workflows/:id, whichever path serves it (the controller, or the cached read of hot-read.ts,
 * whose edge writes the same headers itself).
 */
export function presentWorkflow(workflow: WorkflowEntity, reply: FastifyReply): Buffer {
  const { body, etag } = workflowRepresentation(workflow);
  reply.header('ETag', etag).type(JSON_CONTENT_TYPE);
  return body;
}

@ApiTags('Workflows')
@ApiAuthenticated()
@Controller('v1/workflows')
export class WorkflowsController {
  constructor(
    private readonly workflows: WorkflowsService,
    private readonly exporter: WorkflowExporter,
  ) {}

  @Get()
  @RequireScope('workflows:read')
  @ApiOperation({ summary: 'List workflows', description: "The caller's workspace's workflows, newest first, with cursor pagination. Needs `workflows:read`." })
  @ApiResponse({ status: 200, description: 'A page of workflow summaries, newest first', type: WorkflowListDto })
  @ApiErrors(400)
  async list(@Auth() auth: AuthContext, @Query() query: PageQueryDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<Buffer> {
    // The page's JSON (a WorkflowListDto), kept by the service until the workflows change.
    const json = await this.workflows.listJson(auth.workspace.id, query.limit ?? DEFAULT_PAGE_SIZE, query.cursor);
    reply.type(JSON_CONTENT_TYPE);
    return json;
  }

  @Post()
  @HttpCode(201)
  @RequireScope('workflows:write')
  @ApiOperation({
    summary: 'Create a workflow',
    description:
      'Stores a validated workflow as version 1. An invalid graph is refused with `INVALID_WORKFLOW` listing every problem per node. Needs `workflows:write`.',
  })
  @ApiResponse({
    status: 201,
    description: 'The stored workflow, version 1 (with `webhook` when its trigger is `webhook`)',
    type: SavedWorkflowDto,
    headers: ETAG_HEADER,
  })
  @ApiErrors(INVALID, ...BODY_ERRORS)
  async create(@Auth() auth: AuthContext, @Body() body: WorkflowBodyDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<Buffer | string> {
    return this.presentSaved(await this.workflows.create(auth.workspace.id, body, { baseUrl: requestOrigin(reply.request) }), reply);
  }

  @Post('validate')
  @HttpCode(200)
  @RequireScope('workflows:read')
  @ApiOperation({
    summary: 'Validate a workflow without storing it',
    description: 'Returns the report that create and replace would give: `valid`, and every problem per node and for the whole graph. Needs `workflows:read`.',
  })
  @ApiResponse({ status: 200, description: 'The validation report (valid or not)', type: ValidationReportDto })
  @ApiErrors(400, ...BODY_ERRORS)
  validate(@Body() body: ValidateWorkflowDto): ValidationReportDto {
    return this.workflows.validate(body);
  }

  @Get(':id')
  @RequireScope('workflows:read')
  @ApiOperation({ summary: 'Get a workflow', description: 'The full workflow with its nodes and edges. Needs `workflows:read`.' })
  @ApiParam(ID_PARAM)
  @ApiResponse({ status: 200, description: 'The workflow', type: WorkflowDto, headers: ETAG_HEADER })
  @ApiErrors(NOT_FOUND)
  async get(@Auth() auth: AuthContext, @Param('id') id: string, @Res({ passthrough: true }) reply: FastifyReply): Promise<Buffer> {
    return presentWorkflow(await this.workflows.get(auth.workspace.id, id), reply);
  }

  @Put(':id')
  @RequireScope('workflows:write')
  @ApiOperation({
    summary: 'Replace a workflow',
    description:
      'Replaces name, description, nodes and edges, and increments `version`. With `If-Match: <version>` the replace happens only if nobody changed the workflow since you read it (409 otherwise). Needs `workflows:write`.',
  })
  @ApiParam(ID_PARAM)
  // No `example`: Swagger UI's "Try it out" would send it (If-Match: 3 makes most replaces a 409).
  @ApiHeader({ name: 'If-Match', required: false, description: 'The version you last read, e.g. `3`' })
  @ApiResponse({
    status: 200,
    description: 'The replaced workflow, its version incremented (with `webhook` when this replace switched its trigger to `webhook`)',
    type: SavedWorkflowDto,
    headers: ETAG_HEADER,
  })
  @ApiErrors(INVALID, BAD_IF_MATCH, NOT_FOUND, STALE, ...BODY_ERRORS)
  async replace(
    @Auth() auth: AuthContext,
    @Param('id') id: string,
    @Body() body: WorkflowBodyDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Buffer | string> {
    return this.presentSaved(
      await this.workflows.replace(auth.workspace.id, id, body, parseIfMatch(ifMatch), { baseUrl: requestOrigin(reply.request) }),
      reply,
    );
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireScope('workflows:write')
  @ApiOperation({ summary: 'Delete a workflow', description: 'Needs `workflows:write`.' })
  @ApiParam(ID_PARAM)
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors(NOT_FOUND, ...BODY_ERRORS)
  async delete(@Auth() auth: AuthContext, @Param('id') id: string): Promise<void> {
    await this.workflows.delete(auth.workspace.id, id);
  }

  @Post(':id/export')
  @HttpCode(200)
  @RequireScope('workflows:read')
  @ApiOperation({
    summary: 'Export a workflow as Python',
    description:
      'Compiles the stored workflow into `main.py`, `utils.py` and `requirements.txt`: a program that runs with `python main.py --inputs inputs.json` ' +
      '(else `TENSORIFY_INPUTS`, else `{}`), prints a progress line per node, writes its output JSON to `TENSORIFY_OUTPUT` or prints it last, ' +
      'and exits non-zero naming the failed node. The same version always gives the same bytes. `?format=zip` returns the three files as a zip archive. ' +
      'Needs `workflows:read`.',
  })
  @ApiParam(ID_PARAM)
  @ApiResponse({
    status: 200,
    description: 'The generated files (`application/json`), or with `?format=zip` a zip archive of them (`application/zip`)',
    content: {
      'application/json': { schema: { $ref: '#/components/schemas/ExportDto' } },
      'application/zip': { schema: { type: 'string', format: 'binary' } },
    },
  })
  @ApiExtraModels(ExportDto)
  @ApiErrors(NOT_COMPILABLE, NOT_FOUND, ...BODY_ERRORS)
  async export(
    @Auth() auth: AuthContext,
    @Param('id') id: string,
    @Query() query: ExportQueryDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ExportDto | Buffer> {
    const workflow = await this.workflows.get(auth.workspace.id, id);
    if (query.format !== 'zip') return { files: this.exporter.files(workflow) };
    const archive = this.exporter.zip(workflow);
    reply.type('application/zip').header('Content-Disposition', `attachment; filename="${workflow.id}-v${workflow.version}.zip"`);
    return archive;
  }

  /** A saved workflow, with what the lifecycle's listeners added to this one response (e.g. a new webhook's secret). */
  private presentSaved({ workflow, extras }: SavedWorkflow, reply: FastifyReply): Buffer | string {
    const body = presentWorkflow(workflow, reply);
    // The extras' members appended to the workflow's object: its JSON without the closing brace, a comma, theirs without the opening one.
    return Object.keys(extras).length === 0 ? body : `${body.toString('utf8', 0, body.length - 1)},${JSON.stringify(extras).slice(1)}`;
  }
}
