import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class ExecutorDto {
  @ApiProperty({ example: 'local' }) id!: string;
  @ApiProperty({ example: 'Local process' }) displayName!: string;
  @ApiProperty({ type: String, nullable: true, example: '1.0.0' }) version!: string | null;
  @ApiProperty({ example: false }) gpu!: boolean;
  @ApiProperty({
    description: 'The GPUs it can give a run, where it knows them',
    example: [{ model: 'NVIDIA A100-SXM4-40GB', vendor: 'NVIDIA', vramMb: 40960 }],
  })
  gpus!: { model: string; vendor?: string; vramMb?: number }[];
  @ApiProperty({ example: true }) healthy!: boolean;
  @ApiProperty({ type: String, nullable: true, example: '/usr/bin/python3 (Python 3.11.2)' }) detail!: string | null;
  @ApiPropertyOptional({ description: 'Why the plugin did not load (it takes no runs)', example: 'Cannot load dist/index.js: SyntaxError: Unexpected token' })
  loadError?: string;
}

export class ExecutorListDto {
  @ApiProperty({ type: [ExecutorDto] }) executors!: ExecutorDto[];
}
