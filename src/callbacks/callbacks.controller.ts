import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Auth, type AuthContext } from '../auth/auth-context';
import { ApiAuthenticated, RequireScope } from '../auth/auth.decorators';
import { ApiErrors, BODY_ERRORS, ErrorDoc } from '../common/api-docs';
import { ErrorCode } from '../common/errors';
import { ExecutionsService } from '../executions/executions.service';
import { WorkspacesService } from '../workspaces/workspaces.service';
import { CallbacksRepository } from './callbacks.repository';
import { ExecutionCallbacksDto, SigningSecretDto } from './dto/callback.dto';
import { SigningSecrets } from './signing-secrets';

const EXECUTION_NOT_FOUND: ErrorDoc = { status: 404, code: ErrorCode.EXECUTION_NOT_FOUND, message: 'Execution exec_7Hq2LmV9xK3pR0Ts not found' };
const WORKSPACE_NOT_FOUND: ErrorDoc = { status: 404, code: ErrorCode.WORKSPACE_NOT_FOUND, message: 'Workspace ws_8Hq2LmZx0PaR4tYc not found' };

@ApiTags('Callbacks')
@ApiAuthenticated()
@Controller('v1')
export class CallbacksController {
  constructor(
    private readonly executions: ExecutionsService,
    private readonly workspaces: WorkspacesService,
    private readonly repository: CallbacksRepository,
    private readonly secrets: SigningSecrets,
  ) {}

  @Get('executions/:id/callbacks')
  @RequireScope('executions:read')
  @ApiOperation({
    summary: "List an execution's completion callback attempts",
    description: 'The delivery of the `execution.finished` callback to its `callbackUrl` and each attempt, oldest first. Needs `executions:read`.',
  })
  @ApiParam({ name: 'id', example: 'exec_7Hq2LmV9xK3pR0Ts' })
  @ApiResponse({ status: 200, description: 'The delivery and its attempts', type: ExecutionCallbacksDto })
  @ApiErrors(EXECUTION_NOT_FOUND)
  async list(@Auth() auth: AuthContext, @Param('id') id: string): Promise<ExecutionCallbacksDto> {
    const execution = await this.executions.get(auth.workspace.id, id);
    const [delivery, attempts] = await Promise.all([this.repository.findDelivery(id), this.repository.listAttempts(id)]);
    return {
      executionId: execution.id,
      callbackUrl: execution.callbackUrl,
      delivery:
        delivery === null
          ? null
          : {
              url: delivery.url,
              status: delivery.status,
              attempts: delivery.attempts,
              nextAttemptAt: delivery.status === 'pending' ? delivery.nextAttemptAt.toISOString() : null,
              completedAt: delivery.completedAt?.toISOString() ?? null,
            },
      attempts: attempts.map((attempt) => ({
        attempt: attempt.attempt,
        startedAt: attempt.startedAt.toISOString(),
        durationMs: attempt.durationMs,
        statusCode: attempt.statusCode,
        error: attempt.error,
        outcome: attempt.outcome,
      })),
    };
  }

  @Post('workspaces/:id/signing-secret/rotate')
  @HttpCode(200)
  @RequireScope('admin')
  @ApiOperation({
    summary: "Rotate a workspace's signing secret",
    description: 'Makes a new secret for signing completion callbacks and returns it this once; the old one stops being used at once. Needs the `admin` scope.',
  })
  @ApiParam({ name: 'id', example: 'ws_8Hq2LmZx0PaR4tYc' })
  @ApiResponse({ status: 200, description: 'The new secret', type: SigningSecretDto })
  @ApiErrors(WORKSPACE_NOT_FOUND, ...BODY_ERRORS)
  async rotate(@Param('id') id: string): Promise<SigningSecretDto> {
    const workspace = await this.workspaces.get(id);
    const { secret, createdAt } = await this.secrets.rotate(workspace.id);
    return { workspaceId: workspace.id, secret, createdAt: createdAt.toISOString() };
  }
}
