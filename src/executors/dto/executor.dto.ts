import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class ExecutorGpuDto {
  @ApiProperty({ example: 'NVIDIA A100-SXM4-40GB' }) model!: string;
  @ApiPropertyOptional({ example: 'NVIDIA' }) vendor?: string;
  @ApiPropertyOptional({ type: 'integer', description: 'Memory in MiB', example: 40960 }) vramMb?: number;
}

export class ExecutorDto {
  @ApiProperty({ example: 'local' }) id!: string;
  @ApiProperty({ example: 'Local process' }) displayName!: string;
  @ApiProperty({ type: String, nullable: true, example: '1.0.0' }) version!: string | null;
  @ApiProperty({ example: false }) gpu!: boolean;
  @ApiProperty({ type: [ExecutorGpuDto], description: 'The GPUs it can give a run, where it knows them' }) gpus!: ExecutorGpuDto[];
  @ApiProperty({ example: true }) healthy!: boolean;
  @ApiProperty({ type: String, nullable: true, example: '/usr/bin/python3 (Python 3.11.2)' }) detail!: string | null;
  @ApiPropertyOptional({ description: 'Why the plugin did not load (it takes no runs)', example: 'Cannot load dist/index.js: SyntaxError: Unexpected token' })
  loadError?: string;
}

export class ExecutorListDto {
  @ApiProperty({ type: [ExecutorDto] }) executors!: ExecutorDto[];
}
