import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ANY_SCOPE, ApiAuthenticated, RequireScope } from '../auth/auth.decorators';
import { SystemDto } from './dto/system.dto';
import { SystemInfoService } from './system-info.service';

@ApiTags('System')
@ApiAuthenticated()
@Controller('v1/system')
export class SystemController {
  constructor(private readonly system: SystemInfoService) {}

  @Get()
  @RequireScope(ANY_SCOPE)
  @ApiOperation({
    summary: 'Host facts',
    description:
      'The server machine: OS, CPU, memory, GPUs (model, memory), the Python version, from systeminformation. ' +
      'The fixed facts are gathered when the server starts; memory and load are current. Any scope.',
  })
  @ApiResponse({ status: 200, description: 'The facts', type: SystemDto })
  get(): Promise<SystemDto> {
    return this.system.get();
  }
}
