import { applyDecorators, Controller, Delete, Get, Param, Patch, Post, Put, Req, Res } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiBody, ApiHeader, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../auth/auth.decorators';
import { ApiErrors, DATABASE_UNAVAILABLE, ErrorDoc } from '../common/api-docs';
import { ErrorCode } from '../common/errors';
import { RAW_BODY_ROUTE } from '../common/json-body';
import { HookAcceptedDto } from './dto/webhook.dto';
import { HookDeliveries } from './hook-deliveries';
import { SIGNATURE_TOLERANCE_SECONDS } from './hook-signature';

/** The route of deliveries (also how WebhooksModule recognises them for metrics). */
export const HOOK_ROUTE = '/v1/hooks/:hookId';

const ERRORS: ErrorDoc[] = [
  {
    status: 400,
    code: ErrorCode.VALIDATION_ERROR,
    description:
      'A JSON body that does not parse (`INVALID_JSON`), a malformed `Idempotency-Key`, or what cannot be stored (a NUL character); nothing is queued',
    message: 'idempotency-key must be 1 to 200 printable ASCII characters',
    details: { fields: { 'idempotency-key': ['must be 1 to 200 printable ASCII characters'] } },
  },
  {
    status: 401,
    code: ErrorCode.UNAUTHORIZED,
    description: 'The signature is missing, malformed, wrong, or (`tensorify`) more than 300 s old; nothing is queued',
    message: 'Tensorify-Signature does not match "<t>.<body>": wrong secret, or the body changed on the way',
  },
  {
    status: 404,
    code: ErrorCode.NOT_FOUND,
    description: 'No such hook: never made, rotated away, or its workflow was deleted or left the webhook trigger',
    message: 'No hook hk_4fV9sQ1LmZ8xT2Rb: it never existed, was rotated, or its workflow was deleted or changed its trigger',
  },
  {
    status: 405,
    code: ErrorCode.METHOD_NOT_ALLOWED,
    description: "The trigger's `methods` do not include this one (the `Allow` header lists them)",
    message: 'This hook takes POST, not GET',
    details: { allowed: ['POST'] },
  },
  {
    status: 409,
    code: ErrorCode.CONFLICT,
    description: 'The delivery key was used in the last 24 hours for a delivery with another body',
    message: 'Idempotency-Key "hook:hk_4fV9sQ1LmZ8xT2Rb:d-1" was used for another request (execution exec_7Hq2LmV9xK3pR0Ts); use a new key for a new request',
    details: { executionId: 'exec_7Hq2LmV9xK3pR0Ts' },
  },
  { status: 413, code: ErrorCode.PAYLOAD_TOO_LARGE, message: 'Request body exceeds the limit of 1048576 bytes (TENSORIFY_BODY_LIMIT)' },
  {
    status: 415,
    code: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    description: 'A `Content-Encoding` other than identity, gzip, deflate or br (any `Content-Type` is taken)',
    message: 'Unsupported Content-Encoding "compress": send identity, gzip, deflate or br',
  },
  {
    status: 429,
    code: ErrorCode.RATE_LIMITED,
    description: "The workflow's workspace reached its plan's rate limit, or this IP failed too often; see Retry-After",
    message: 'Rate limit of 60 requests per minute reached for workspace ws_8Kd2Lq0Vn4Rt6Yz1; retry in 42 s',
  },
  {
    status: 500,
    code: ErrorCode.INTERNAL_ERROR,
    description: 'Unexpected error; the log has the details under the request id',
    message: 'Internal server error',
  },
  {
    status: 502,
    code: ErrorCode.EXECUTION_FAILED,
    description: '`wait` mode: the execution failed, timed out or was cancelled',
    message: "The workflow's execution exec_7Hq2LmV9xK3pR0Ts ended failed (EXECUTION_FAILED); GET /v1/executions/exec_7Hq2LmV9xK3pR0Ts tells more",
    details: { executionId: 'exec_7Hq2LmV9xK3pR0Ts', status: 'failed', errorCode: 'EXECUTION_FAILED' },
  },
  DATABASE_UNAVAILABLE,
];

const DESCRIPTION =
  "Starts the workflow whose `webhook` trigger owns this hook; no API key. The trigger's settings decide the rest. " +
  '`signature: tensorify`: header `Tensorify-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the secret>`, ' +
  `refused more than ${SIGNATURE_TOLERANCE_SECONDS} s from the server's clock. ` +
  '`signature: github`: header `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>` (a GitHub repository webhook). `none`: the URL is the secret. ' +
  'Any body is taken (JSON is parsed, anything else kept as text); the execution\'s inputs are `{"body", "headers", "query", "method", "path"}`, ' +
  'header names lower-case, the signature header left out. `responseMode: ack`: 202 at once. `wait`: 200 with the output when the run completes within ' +
  '`waitSeconds`, 502 `EXECUTION_FAILED` when it fails, 202 when it still runs. `Idempotency-Key` or `X-GitHub-Delivery`: a redelivery within 24 hours ' +
  "answers with the first delivery's execution, never runs again. Counts against the workflow's workspace's rate limit.";

function DeliveryRoute(method: string): MethodDecorator {
  return applyDecorators(
    RouteConfig(RAW_BODY_ROUTE),
    ApiOperation({ summary: `Deliver to a webhook (${method})`, description: DESCRIPTION }),
    ApiParam({ name: 'hookId', example: 'hk_4fV9sQ1LmZ8xT2Rb' }),
    ApiHeader({ name: 'Tensorify-Signature', required: false, description: '`signature: tensorify`: `t=<unix seconds>,v1=<hex HMAC-SHA256>`' }),
    ApiHeader({ name: 'X-Hub-Signature-256', required: false, description: '`signature: github`: `sha256=<hex HMAC-SHA256 of the body>`' }),
    ApiHeader({ name: 'Idempotency-Key', required: false, description: 'A delivery id: a redelivery within 24 hours answers with the first execution' }),
    ApiHeader({ name: 'X-GitHub-Delivery', required: false, description: "GitHub's delivery id, used like Idempotency-Key" }),
    ...(method === 'GET'
      ? []
      : [
          ApiBody({
            required: false,
            description: 'Anything: JSON is parsed, any other type kept as text',
            schema: { description: 'Any JSON (or text of another type)', example: { action: 'opened', number: 7 } },
          }),
        ]),
    ApiResponse({
      status: 200,
      description: "`wait` mode: the workflow's output, as it returned it",
      content: { 'application/json': { schema: { description: "The workflow's output (any JSON)" }, example: { result: 'Hello, world!' } } },
    }),
    ApiResponse({ status: 202, description: '`ack` mode, or `wait` still running at the deadline: the execution', type: HookAcceptedDto }),
    ApiErrors(...ERRORS),
  );
}

/** `/v1/hooks/:hookId`: webhook deliveries, without an API key (see HookDeliveries); served by serveDeliveriesDirectly unless the app is built without it. */
@ApiTags('Webhooks')
@Public()
@Controller('v1/hooks')
export class HooksController {
  constructor(private readonly deliveries: HookDeliveries) {}

  @Get(':hookId')
  @DeliveryRoute('GET')
  get(@Param('hookId') hookId: string, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    return this.deliver(hookId, request, reply);
  }

  @Post(':hookId')
  @DeliveryRoute('POST')
  post(@Param('hookId') hookId: string, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    return this.deliver(hookId, request, reply);
  }

  @Put(':hookId')
  @DeliveryRoute('PUT')
  put(@Param('hookId') hookId: string, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    return this.deliver(hookId, request, reply);
  }

  @Patch(':hookId')
  @DeliveryRoute('PATCH')
  patch(@Param('hookId') hookId: string, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    return this.deliver(hookId, request, reply);
  }

  @Delete(':hookId')
  @DeliveryRoute('DELETE')
  delete(@Param('hookId') hookId: string, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    return this.deliver(hookId, request, reply);
  }

  private deliver(hookId: string, request: FastifyRequest, reply: FastifyReply): Promise<string> {
    return this.deliveries.answer(hookId, request, reply);
  }
}
