import { Controller, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { ApiAuthenticated, RequireScope } from '../auth/auth.decorators';
import { Auth, AuthContext } from '../auth/auth-context';
import { ApiErrors, BODY_ERRORS, ErrorDoc } from '../common/api-docs';
import { ErrorCode } from '../common/errors';
import { requestOrigin } from '../common/request-origin';
import { WebhookSecretDto } from '../workflows/dto/workflow.dto';
import { WebhookDto } from './dto/webhook.dto';
import { WebhooksService } from './webhooks.service';

const WORKFLOW_NOT_FOUND: ErrorDoc = { status: 404, code: ErrorCode.WORKFLOW_NOT_FOUND, message: 'Workflow wf_3mT8c0RkQ2xZp9Lb not found' };
const NO_WEBHOOK: ErrorDoc = {
  status: 404,
  code: ErrorCode.NOT_FOUND,
  description: "The workflow's trigger is not a `webhook` node",
  message: 'Workflow wf_3mT8c0RkQ2xZp9Lb has no webhook: its trigger is not a "webhook" node',
};
const ID_PARAM = { name: 'id', example: 'wf_3mT8c0RkQ2xZp9Lb' };

/** A webhook-triggered workflow's hook: its URL and settings, and a new secret on demand. */
@ApiTags('Webhooks')
@ApiAuthenticated()
@Controller('v1/workflows/:id/webhook')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Get()
  @RequireScope('workflows:read')
  @ApiOperation({
    summary: "Get a workflow's webhook",
    description: "The hook's URL and id, and the trigger's signature scheme, methods and response mode; never the secret. Needs `workflows:read`.",
  })
  @ApiParam(ID_PARAM)
  @ApiResponse({ status: 200, description: 'The webhook', type: WebhookDto })
  @ApiErrors(WORKFLOW_NOT_FOUND, NO_WEBHOOK)
  get(@Auth() auth: AuthContext, @Param('id') id: string, @Req() request: FastifyRequest): Promise<WebhookDto> {
    return this.webhooks.describe(auth.workspace.id, id, { baseUrl: requestOrigin(request) });
  }

  @Post('rotate')
  @HttpCode(200)
  @RequireScope('workflows:write')
  @ApiOperation({
    summary: "Rotate a workflow's webhook",
    description:
      'A new hook id (so a new URL) and a new secret, shown only in this response; the old URL answers 404 from now on. ' +
      'Also makes the hook of a webhook-triggered workflow that has none (a save that failed half-way). Needs `workflows:write`.',
  })
  @ApiParam(ID_PARAM)
  @ApiResponse({ status: 200, description: 'The new URL, hook id and secret', type: WebhookSecretDto })
  @ApiErrors(WORKFLOW_NOT_FOUND, NO_WEBHOOK, ...BODY_ERRORS)
  rotate(@Auth() auth: AuthContext, @Param('id') id: string, @Req() request: FastifyRequest): Promise<WebhookSecretDto> {
    return this.webhooks.rotate(auth.workspace.id, id, { baseUrl: requestOrigin(request) });
  }
}
