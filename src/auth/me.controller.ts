import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { rateLimitPerMinute } from '../plans/plans';
import { ApiAuthenticated, ANY_SCOPE, RequireScope } from './auth.decorators';
import { Auth, AuthContext } from './auth-context';
import { MeDto } from './dto/me.dto';

@ApiTags('API keys')
@ApiAuthenticated()
@Controller('v1/me')
export class MeController {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  @Get()
  @RequireScope(ANY_SCOPE)
  @ApiOperation({ summary: 'Who am I', description: "The calling key and its workspace, with the workspace's rate limit. Any scope." })
  @ApiResponse({ status: 200, description: 'The calling key and its workspace', type: MeDto })
  me(@Auth() auth: AuthContext): MeDto {
    return {
      workspace: { ...auth.workspace, rateLimitPerMinute: rateLimitPerMinute(auth.workspace, this.config.enterpriseRateLimitPerMinute) },
      apiKey: auth.apiKey,
    };
  }
}
