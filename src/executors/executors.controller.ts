import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ANY_SCOPE, ApiAuthenticated, RequireScope } from '../auth/auth.decorators';
import { ExecutorRegistry } from './executor-registry';
import { ExecutorListDto } from './dto/executor.dto';

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
          ...(plugin.loadError !== undefined ? { loadError: plugin.loadError } : {}),
        };
      }),
    );
    return { executors };
  }
}
