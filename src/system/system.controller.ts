import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiProperty, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ANY_SCOPE, ApiAuthenticated, RequireScope } from '../auth/auth.decorators';
import { type SystemFacts, SystemInfoService } from './system-info.service';

class SystemDto {
  @ApiProperty({ example: { version: '0.1.0', node: 'v20.20.2', uptimeSeconds: 3600 } }) server!: SystemFacts['server'];
  @ApiProperty({ example: { platform: 'linux', distro: 'Debian GNU/Linux', release: '12', kernel: '6.1.0-18-amd64', arch: 'x64', hostname: 'gpu-box' } })
  os!: SystemFacts['os'];
  @ApiProperty({ example: { manufacturer: 'AMD', brand: 'EPYC 7443P', cores: 48, physicalCores: 24, speedGHz: 2.85 } }) cpu!: SystemFacts['cpu'];
  @ApiProperty({
    description: 'NVIDIA and AMD GPUs (an onboard display chip is not listed)',
    example: [{ model: 'NVIDIA A100-SXM4-40GB', vendor: 'NVIDIA Corporation', vramMb: 40960 }],
  })
  gpus!: SystemFacts['gpus'];
  @ApiProperty({ description: "The `python3` on the server's PATH", example: { executable: 'python3', version: '3.11.2' } }) python!: SystemFacts['python'];
  @ApiProperty({ example: { totalMb: 257612, availableMb: 201344 } }) memory!: SystemFacts['memory'];
  @ApiProperty({ description: '1, 5 and 15 minute load averages', example: [0.42, 0.37, 0.3] }) loadAverage!: number[];
  @ApiProperty({ example: '2026-11-28T18:00:00.000Z' }) collectedAt!: string;
}

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
