import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiProperty, ApiResponse, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Public } from '../auth/auth.decorators';
import { ApiErrors } from '../common/api-docs';
import { ErrorCode, ServiceUnavailableError } from '../common/errors';
import { withTimeout } from '../common/timeout';
import { EXECUTION_QUEUE, type ExecutionQueue } from '../executions/execution-queue';
import { ExecutorRegistry } from '../executors/executor-registry';
import { RedisConnections } from '../redis/redis.module';

class HealthDto {
  @ApiProperty({ example: 'ok' }) status!: string;
}

class ReadinessDto {
  @ApiProperty({ example: 'ready' }) status!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { database: 'ok', queue: 'ok (0 waiting, 1 running)', executors: 'ok (local, ssh)' },
  })
  checks!: Record<string, string>;
  @ApiProperty({
    description: 'Each loaded executor: `ok`, or why it cannot take runs now',
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { local: 'ok', docker: 'unhealthy: cannot reach the Docker engine at unix:///var/run/docker.sock', ssh: 'ok' },
  })
  executors!: Record<string, string>;
}

const READINESS_TIMEOUT_MS = 2000;

@ApiTags('Health')
@Public()
@ApiErrors(500)
@Controller('health')
export class HealthController {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly registry: ExecutorRegistry,
    @Inject(EXECUTION_QUEUE) private readonly queue: ExecutionQueue,
    private readonly redis: RedisConnections,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Liveness', description: 'The process is up and serving HTTP. No API key needed.' })
  @ApiResponse({ status: 200, description: 'Alive', type: HealthDto })
  live(): HealthDto {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({
    summary: 'Readiness',
    description: 'The server can do its work: the database answers and at least one executor is loaded and healthy. Shows the queue. No API key needed.',
  })
  @ApiResponse({ status: 200, description: 'Ready to serve', type: ReadinessDto })
  @ApiErrors({
    status: 503,
    code: ErrorCode.NOT_READY,
    message: 'Not ready: database: connection refused',
    details: { checks: { database: 'connection refused', queue: 'ok (0 waiting, 0 running)', executors: 'ok (local)' } },
  })
  async ready(): Promise<ReadinessDto> {
    const [database, redis, { summary, each }] = await Promise.all([this.checkDatabase(), this.checkRedis(), this.checkExecutors()]);
    const { waiting, running } = this.queue.stats();
    const checks = { database, ...(redis === undefined ? {} : { redis }), queue: `ok (${waiting} waiting, ${running} running)`, executors: summary };
    const failing = Object.entries(checks).filter(([, result]) => !result.startsWith('ok'));
    if (failing.length > 0) {
      throw new ServiceUnavailableError(ErrorCode.NOT_READY, `Not ready: ${failing.map(([name, result]) => `${name}: ${result}`).join('; ')}`, {
        checks,
        executors: each,
      });
    }
    return { status: 'ready', checks, executors: each };
  }

  /** `ok (<ids>)` when at least one executor is loaded and healthy, else why none is; and each one's state. */
  private async checkExecutors(): Promise<{ summary: string; each: Record<string, string> }> {
    const loaded = this.registry.list().filter((plugin) => plugin.executor !== undefined && plugin.id !== null);
    const states = await Promise.all(loaded.map(async (plugin) => ({ id: plugin.id!, capabilities: await this.registry.capabilities(plugin.id!) })));
    const each = Object.fromEntries(
      states.map(({ id, capabilities }) => [id, capabilities?.healthy ? 'ok' : `unhealthy: ${capabilities?.detail ?? 'no answer'}`]),
    );
    const healthy = states.filter((state) => state.capabilities?.healthy);
    if (healthy.length > 0) return { summary: `ok (${healthy.map((state) => state.id).join(', ')})`, each };
    if (states.length === 0) return { summary: 'no executor loaded (GET /v1/executors shows why)', each };
    return { summary: `no healthy executor: ${states.map((state) => `${state.id}: ${state.capabilities?.detail ?? 'unhealthy'}`).join('; ')}`, each };
  }

  /** Distributed mode: Redis answers a PING (the queue, cancel, live logs and rate limits need it); undefined in the embedded mode. */
  private async checkRedis(): Promise<string | undefined> {
    if (!this.redis.enabled) return undefined;
    return checkResult(
      this.redis
        .client()
        .ping()
        .then(() => 'ok'),
    );
  }

  private checkDatabase(): Promise<string> {
    return checkResult(this.dataSource.query('SELECT 1').then(() => 'ok'));
  }
}

/** `work`'s answer (`ok`), its error's message, or a timeout notice after READINESS_TIMEOUT_MS. */
function checkResult(work: Promise<string>): Promise<string> {
  return withTimeout(work, READINESS_TIMEOUT_MS, `no answer within ${READINESS_TIMEOUT_MS} ms`).catch((error: Error) => error.message || 'failed');
}
