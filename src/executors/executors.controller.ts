import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ANY_SCOPE, ApiAuthenticated, RequireScope } from '../auth/auth.decorators';
import { ExecutorRegistry } from './executor-registry';
import type { WarmProcess } from '@tensorify/executor-sdk';
import { ExecutorListDto, type ExecutorWarmProcessDto } from './dto/executor.dto';

/** The executor plugins of this server and what each can do now. */
@ApiTags('Executors')
@ApiAuthenticated()
@Controller('v1')
export class ExecutorsController {
  constructor(private readonly registry: ExecutorRegistry) {}

  @Get('executors')
  @RequireScope(ANY_SCOPE)
  @ApiOperation({
    summary: 'List executors',
    description:
      'The executor plugins of this server: what each can do now (GPU, health), and the plugins that failed to load with their `loadError`. Any scope.',
  })
  @ApiResponse({ status: 200, description: 'Every executor plugin', type: ExecutorListDto })
  async executors(): Promise<ExecutorListDto> {
    const executors = await Promise.all(
      this.registry.list().map(async (plugin) => {
        const capabilities = plugin.id !== null && plugin.executor ? await this.registry.capabilities(plugin.id) : undefined;
        return {
          id: plugin.id ?? plugin.packageName,
          displayName: plugin.displayName,
          version: plugin.version ?? null,
          gpu: capabilities?.gpu ?? false,
          gpus: capabilities?.gpus ?? [],
          healthy: capabilities?.healthy ?? false,
          detail: capabilities?.detail ?? null,
          warm: warmProcesses(capabilities?.warm, Date.now()),
          ...(plugin.loadError !== undefined ? { loadError: plugin.loadError } : {}),
        };
      }),
    );
    return { executors };
  }
}

/** A plugin's warm processes as the API shows them: only well-formed entries (a third party's plugin may answer anything), with their age. */
export function warmProcesses(warm: unknown, now: number): ExecutorWarmProcessDto[] {
  if (!Array.isArray(warm)) return [];
  const count = (value: unknown): number => (Number.isInteger(value) && (value as number) >= 0 ? (value as number) : 0);
  return (warm as Partial<WarmProcess>[]).flatMap((entry) => {
    if (typeof entry !== 'object' || entry === null || (entry.state !== 'starting' && entry.state !== 'ready')) return [];
    const startedAt = typeof entry.startedAt === 'string' ? Date.parse(entry.startedAt) : NaN;
    if (!Number.isFinite(startedAt) || typeof entry.command !== 'string') return [];
    return [
      {
        environment: typeof entry.environment === 'string' ? entry.environment : null,
        command: entry.command,
        pid: Number.isInteger(entry.pid) ? (entry.pid as number) : null,
        state: entry.state,
        startedAt: new Date(startedAt).toISOString(),
        ageSeconds: Math.max(0, Math.floor((now - startedAt) / 1000)),
        runs: count(entry.runs),
        running: count(entry.running),
        memoryBytes: Number.isInteger(entry.memoryBytes) ? (entry.memoryBytes as number) : null,
        loaded: Array.isArray(entry.loaded) ? entry.loaded.filter((name): name is string => typeof name === 'string') : [],
      },
    ];
  });
}
