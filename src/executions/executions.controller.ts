import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiAuthenticated, RequireScope } from '../auth/auth.decorators';
import { Auth, AuthContext } from '../auth/auth-context';
import { ApiErrors, BODY_ERRORS, DATABASE_UNAVAILABLE, ErrorDoc } from '../common/api-docs';
import { ErrorCode, ValidationError } from '../common/errors';
import { DEFAULT_PAGE_SIZE } from '../common/pagination';
import { ExecuteDto, ExecuteResponseDto, ExecutionDto, ExecutionFilesDto, ExecutionListDto, ExecutionListQueryDto } from './dto/execution.dto';
import { ExecutionEntity, TERMINAL_STATUSES } from './execution.entity';
import { ExecutionLogs, type LogLine } from './execution-logs';
import { executionView } from './execution-view';
import { API_TRIGGER } from './execution-trigger';
import type { ExecutionRecord } from './executions.repository';
import { ExecutionsService } from './executions.service';

const EXECUTION_NOT_FOUND: ErrorDoc = { status: 404, code: ErrorCode.EXECUTION_NOT_FOUND, message: 'Execution exec_7Hq2LmV9xK3pR0Ts not found' };
const WORKFLOW_NOT_FOUND: ErrorDoc = { status: 404, code: ErrorCode.WORKFLOW_NOT_FOUND, message: 'Workflow wf_3mT8c0RkQ2xZp9Lb not found' };
const EXECUTE_INVALID: ErrorDoc = {
  status: 400,
  code: ErrorCode.GPU_UNAVAILABLE,
  description:
    'No executor has a GPU (nothing was queued); also `INVALID_WORKFLOW` (the stored graph does not compile) and `VALIDATION_ERROR` (bad body or executor)',
  message: 'No executor on this server has a GPU (GET /v1/executors shows what each one has); nothing was queued',
};
const BAD_IDEMPOTENCY_KEY: ErrorDoc = {
  status: 400,
  code: ErrorCode.VALIDATION_ERROR,
  description: '`Idempotency-Key` is not 1 to 255 printable ASCII characters',
  message: 'Idempotency-Key must be 1 to 255 printable ASCII characters',
  details: { fields: { 'Idempotency-Key': ['must be 1 to 255 printable ASCII characters'] } },
};
const BAD_LAST_EVENT_ID: ErrorDoc = {
  status: 400,
  code: ErrorCode.VALIDATION_ERROR,
  description: '`Last-Event-ID` is not the id of a log line',
  message: 'Last-Event-ID must be the id of a log line',
  details: { fields: { 'Last-Event-ID': ['must be a line index'] } },
};
const IDEMPOTENCY_CONFLICT: ErrorDoc = {
  status: 409,
  code: ErrorCode.CONFLICT,
  description: 'The Idempotency-Key was used for another request in the last 24 hours',
  message: 'Idempotency-Key "run-42" was used for another request (execution exec_7Hq2LmV9xK3pR0Ts); use a new key for a new request',
  details: { executionId: 'exec_7Hq2LmV9xK3pR0Ts' },
};
const ALREADY_FINISHED: ErrorDoc = {
  status: 409,
  code: ErrorCode.CONFLICT,
  description: 'The execution already finished',
  message: 'Execution exec_7Hq2LmV9xK3pR0Ts already finished (completed); only a queued or running execution can be cancelled',
  details: { status: 'completed' },
};
const NOT_FINISHED: ErrorDoc = {
  status: 409,
  code: ErrorCode.CONFLICT,
  description: 'The execution has not finished',
  message: 'Execution exec_7Hq2LmV9xK3pR0Ts has not finished (running); only a finished execution can be re-run',
  details: { status: 'running' },
};
const STILL_RUNNING: ErrorDoc = {
  status: 409,
  code: ErrorCode.CONFLICT,
  description: 'The execution is queued or running',
  message: 'Execution exec_7Hq2LmV9xK3pR0Ts is running; only a finished execution can be deleted (cancel it first)',
  details: { status: 'running' },
};
const EXECUTOR_DOWN: ErrorDoc = {
  status: 503,
  code: ErrorCode.EXECUTOR_UNAVAILABLE,
  description: 'The executor asked for (or every executor) failed to load',
  message: 'No executor is loaded on this server (GET /v1/executors shows why)',
};
const EXECUTION_ID = { name: 'id', example: 'exec_7Hq2LmV9xK3pR0Ts' };
const HEARTBEAT_MS = 15_000;

@ApiTags('Executions')
@ApiAuthenticated()
@Controller('v1')
export class ExecutionsController {
  constructor(
    private readonly executions: ExecutionsService,
    private readonly logs: ExecutionLogs,
  ) {}

  @Post('workflows/:id/execute')
  @HttpCode(202)
  @RequireScope('executions:run')
  @ApiOperation({
    summary: 'Execute a workflow',
    description:
      "Compiles the workflow's current version, stores a `queued` execution with the files it will run, and queues it. Poll `GET /v1/executions/{id}` or follow " +
      '`GET /v1/executions/{id}/logs`. With `Idempotency-Key`, the same request within 24 hours answers with the execution it created (`Idempotency-Replayed: true`); ' +
      'another request with that key is a 409. Needs `executions:run`.',
  })
  @ApiParam({ name: 'id', example: 'wf_3mT8c0RkQ2xZp9Lb' })
  // No `example`: Swagger UI's "Try it out" would send it, and a second try would replay the first execution.
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Up to 255 printable characters, e.g. `run-42`; honoured for 24 hours' })
  @ApiResponse({ status: 202, description: "Queued (or, replayed, the execution's current status)", type: ExecuteResponseDto })
  // Its own 503 replaces the common one of ApiAuthenticated, so both are listed here.
  @ApiErrors(EXECUTE_INVALID, BAD_IDEMPOTENCY_KEY, WORKFLOW_NOT_FOUND, IDEMPOTENCY_CONFLICT, EXECUTOR_DOWN, DATABASE_UNAVAILABLE, ...BODY_ERRORS)
  async execute(
    @Auth() auth: AuthContext,
    @Param('id') workflowId: string,
    @Body() body: ExecuteDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ExecuteResponseDto> {
    if (idempotencyKey !== undefined && !/^[\x21-\x7e][\x20-\x7e]{0,254}$/.test(idempotencyKey)) {
      throw new ValidationError('Idempotency-Key must be 1 to 255 printable ASCII characters', {
        'Idempotency-Key': ['must be 1 to 255 printable ASCII characters'],
      });
    }
    const { execution, replayed } = await this.executions.execute(auth.workspace, workflowId, body ?? {}, idempotencyKey);
    if (replayed) reply.header('Idempotency-Replayed', 'true');
    reply.header('Location', `/v1/executions/${execution.id}`);
    // A replay answers as the first request did (a new execution is always `queued`), as Stripe's
    // idempotency does and as the contract allows (`queued` or `running`); `Location` gives its state now.
    return { executionId: execution.id, status: replayed ? 'queued' : execution.status };
  }

  @Get('executions')
  @RequireScope('executions:read')
  @ApiOperation({
    summary: 'List executions',
    description: "The workspace's executions, newest first, optionally of one workflow or in one status. Needs `executions:read`.",
  })
  @ApiResponse({ status: 200, description: 'A page of executions', type: ExecutionListDto })
  @ApiErrors(400)
  async list(@Auth() auth: AuthContext, @Query() query: ExecutionListQueryDto): Promise<ExecutionListDto> {
    const page = await this.executions.list(
      auth.workspace.id,
      { workflowId: query.workflowId, status: query.status, trigger: query.trigger },
      query.limit ?? DEFAULT_PAGE_SIZE,
      query.cursor,
    );
    return {
      executions: page.items.map((execution) => ({
        id: execution.id,
        workflowId: execution.workflowId,
        workflowVersion: execution.workflowVersion,
        status: execution.status,
        executor: execution.executor,
        createdAt: execution.createdAt.toISOString(),
        startedAt: execution.startedAt?.toISOString() ?? null,
        completedAt: execution.completedAt?.toISOString() ?? null,
        trigger: execution.trigger ?? API_TRIGGER,
      })),
      nextCursor: page.nextCursor,
    };
  }

  @Get('executions/:id')
  @RequireScope('executions:read')
  @ApiOperation({ summary: 'Get an execution', description: 'Its status, times, log lines, output and error. Needs `executions:read`.' })
  @ApiParam(EXECUTION_ID)
  @ApiResponse({ status: 200, description: 'The execution', type: ExecutionDto })
  @ApiErrors(EXECUTION_NOT_FOUND)
  async get(@Auth() auth: AuthContext, @Param('id') id: string): Promise<ExecutionDto> {
    const execution = await this.executions.get(auth.workspace.id, id);
    return this.present(execution, await this.executions.logLines(execution));
  }

  @Post('executions/:id/rerun')
  @HttpCode(202)
  @RequireScope('executions:run')
  @ApiOperation({
    summary: 'Re-run an execution',
    description:
      'Queues a new execution with the files the finished one ran (its workflow version, even if the workflow changed since), its inputs, executor, GPU, time limit and ' +
      'retry policy; its `trigger` is `{"type": "rerun", "executionId": …}`. An execution that has not finished is a 409. Needs `executions:run`.',
  })
  @ApiParam(EXECUTION_ID)
  @ApiResponse({ status: 202, description: 'The new execution, queued', type: ExecuteResponseDto })
  @ApiErrors(EXECUTION_NOT_FOUND, NOT_FINISHED, ...BODY_ERRORS)
  async rerun(@Auth() auth: AuthContext, @Param('id') id: string, @Res({ passthrough: true }) reply: FastifyReply): Promise<ExecuteResponseDto> {
    const execution = await this.executions.rerun(auth.workspace, id);
    reply.header('Location', `/v1/executions/${execution.id}`);
    return { executionId: execution.id, status: execution.status };
  }

  @Post('executions/:id/cancel')
  @HttpCode(202)
  @RequireScope('executions:run')
  @ApiOperation({
    summary: 'Cancel an execution',
    description:
      'A queued execution is cancelled at once; a running one is stopped, and its status becomes `cancelled` only once the executor reports its process gone ' +
      '(follow the logs or poll). A finished execution is a 409. Needs `executions:run`.',
  })
  @ApiParam(EXECUTION_ID)
  @ApiResponse({ status: 202, description: 'The execution as it is now (`cancelled`, or still `running` while it stops)', type: ExecutionDto })
  @ApiErrors(EXECUTION_NOT_FOUND, ALREADY_FINISHED, ...BODY_ERRORS)
  async cancel(@Auth() auth: AuthContext, @Param('id') id: string): Promise<ExecutionDto> {
    const execution = await this.executions.cancel(auth.workspace.id, id);
    return this.present(execution, await this.executions.logLines(execution));
  }

  @Delete('executions/:id')
  @HttpCode(204)
  @RequireScope('executions:run')
  @ApiOperation({
    summary: 'Delete an execution',
    description:
      "Deletes a finished execution now, with its log lines and files (what the retention job does once it is older than the workspace's `retentionDays`). " +
      'A queued or running execution is a 409: cancel it first. Needs `executions:run`.',
  })
  @ApiParam(EXECUTION_ID)
  @ApiResponse({ status: 204, description: 'Deleted' })
  @ApiErrors(EXECUTION_NOT_FOUND, STILL_RUNNING, ...BODY_ERRORS)
  async delete(@Auth() auth: AuthContext, @Param('id') id: string): Promise<void> {
    await this.executions.delete(auth.workspace.id, id);
  }

  @Get('executions/:id/files')
  @RequireScope('executions:read')
  @ApiOperation({
    summary: 'Get the files an execution ran',
    description: 'Byte-identical to an export of the workflow version it ran. Needs `executions:read`.',
  })
  @ApiParam(EXECUTION_ID)
  @ApiResponse({ status: 200, description: 'The files', type: ExecutionFilesDto })
  @ApiErrors(EXECUTION_NOT_FOUND)
  async files(@Auth() auth: AuthContext, @Param('id') id: string): Promise<ExecutionFilesDto> {
    return { files: { ...(await this.executions.files(auth.workspace.id, id)) } };
  }

  @Get('executions/:id/logs')
  @RequireScope('executions:read')
  @ApiOperation({
    summary: 'Follow the logs of an execution (Server-Sent Events)',
    description:
      "One event per log line, its `id:` the line's index from 0; reconnect with `Last-Event-ID` to resume after the last line you got, without gaps or repeats. " +
      'Ends with an `end` event whose data is `{"status": …}`, also for an execution that already finished; a server-side failure after the stream started ends it with an `error` event ' +
      '(reconnect with `Last-Event-ID`). A comment line every 15 s keeps idle connections open. Needs `executions:read`.',
  })
  @ApiParam(EXECUTION_ID)
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'The id of the last line received, e.g. `41` (not sent: from the first line)' })
  @ApiResponse({
    status: 200,
    description: 'A `text/event-stream` of lines, then `end`',
    content: {
      'text/event-stream': { schema: { type: 'string' }, example: 'id: 0\ndata: [node trigger] started\n\nevent: end\ndata: {"status":"completed"}\n\n' },
    },
  })
  @ApiErrors(BAD_LAST_EVENT_ID, EXECUTION_NOT_FOUND)
  async streamLogs(
    @Auth() auth: AuthContext,
    @Param('id') id: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const execution = await this.executions.get(auth.workspace.id, id);
    let after = -1;
    if (lastEventId !== undefined && lastEventId.trim() !== '') {
      if (!/^\d{1,9}$/.test(lastEventId.trim()))
        throw new ValidationError('Last-Event-ID must be the id of a log line', { 'Last-Event-ID': ['must be a line index'] });
      after = Number(lastEventId.trim());
    }
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    let lastSent = after;
    let closed = false;
    const send = (line: LogLine) => {
      if (closed || line.seq <= lastSent) return;
      lastSent = line.seq;
      raw.write(
        `id: ${line.seq}\n${line.line
          .split(/\r\n|\r|\n/)
          .map((part) => `data: ${part}\n`)
          .join('')}\n`,
      );
    };
    const end = (status: string) => {
      if (closed) return;
      closed = true;
      raw.end(`event: end\ndata: ${JSON.stringify({ status })}\n\n`);
      cleanup();
    };
    // Subscribe before reading what is stored, so no line falls between the two.
    const buffered: LogLine[] = [];
    let replaying = true;
    let endedWith: string | undefined;
    const { unsubscribe, ready } = this.logs.subscribe(
      id,
      (line) => (replaying ? buffered.push(line) : send(line)),
      (status) => (replaying ? (endedWith = status) : end(status)),
    );
    const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
    const cleanup = () => {
      closed = true;
      clearInterval(heartbeat);
      unsubscribe();
    };
    request.raw.on('close', cleanup);
    try {
      await ready;
      for (const line of await this.logs.read(id, after)) send(line);
      replaying = false;
      buffered.forEach(send);
      const current = endedWith ?? (TERMINAL_STATUSES.has(execution.status) ? execution.status : (await this.executions.get(auth.workspace.id, id)).status);
      if (endedWith !== undefined || TERMINAL_STATUSES.has(current as ExecutionEntity['status'])) {
        for (const line of await this.logs.read(id, lastSent)) send(line);
        end(current);
      }
    } catch (error) {
      // The response has started: the error can only be told in the stream; the client may reconnect.
      if (!closed) raw.end(`event: error\ndata: ${JSON.stringify({ message: (error as Error).message })}\n\n`);
      cleanup();
    }
  }

  private async present(execution: ExecutionRecord, logs: string[]): Promise<ExecutionDto> {
    const { output, ...view } = executionView(execution, await this.executions.attempts(execution));
    return { ...view, logs, output };
  }
}
