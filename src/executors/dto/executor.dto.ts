import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class ExecutorGpuDto {
  @ApiProperty({ example: 'NVIDIA A100-SXM4-40GB' }) model!: string;
  @ApiPropertyOptional({ example: 'NVIDIA' }) vendor?: string;
  @ApiPropertyOptional({ type: 'integer', description: 'Memory in MiB', example: 40960 }) vramMb?: number;
}

export class ExecutorWarmProcessDto {
  @ApiProperty({
    type: String,
    nullable: true,
    description: "What it serves: for `local`, the venv's hash (its directory under venvDir); null for the bare interpreter",
    example: '3f2a9c0d4b1e6a7f8c9d0e1f2a3b4c5d',
  })
  environment!: string | null;
  @ApiProperty({ description: 'The interpreter or command it is', example: '/var/lib/tensorify/executors/local/venvs/3f2a…/bin/python' }) command!: string;
  @ApiProperty({ type: 'integer', nullable: true, example: 4242 }) pid!: number | null;
  @ApiProperty({ enum: ['starting', 'ready'], description: 'starting: still importing (runs start cold meanwhile)', example: 'ready' }) state!:
    'starting' | 'ready';
  @ApiProperty({ format: 'date-time', example: '2026-01-01T12:00:00.000Z' }) startedAt!: string;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Seconds since it started', example: 310 }) ageSeconds!: number;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Runs it started so far', example: 12 }) runs!: number;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Runs of it still going', example: 1 }) running!: number;
  @ApiProperty({ type: 'integer', nullable: true, description: 'Resident memory in bytes, when known', example: 312475648 }) memoryBytes!: number | null;
  @ApiProperty({ type: [String], description: 'The modules it has loaded', example: ['json', 'torch'] }) loaded!: string[];
}

export class ExecutorDto {
  @ApiProperty({ example: 'local' }) id!: string;
  @ApiProperty({ example: 'Local process' }) displayName!: string;
  @ApiProperty({ type: String, nullable: true, example: '1.0.0' }) version!: string | null;
  @ApiProperty({ example: false }) gpu!: boolean;
  @ApiProperty({ type: [ExecutorGpuDto], description: 'The GPUs it can give a run, where it knows them' }) gpus!: ExecutorGpuDto[];
  @ApiProperty({ example: true }) healthy!: boolean;
  @ApiProperty({ type: String, nullable: true, example: '/usr/bin/python3 (Python 3.11.2)' }) detail!: string | null;
  @ApiProperty({
    type: [ExecutorWarmProcessDto],
    description: 'The processes it keeps warm to start runs faster: the `local` executor\'s zygotes, one per venv (see the README, "Warm executions")',
  })
  warm!: ExecutorWarmProcessDto[];
  @ApiPropertyOptional({ description: 'Why the plugin did not load (it takes no runs)', example: 'Cannot load dist/index.js: SyntaxError: Unexpected token' })
  loadError?: string;
}

export class ExecutorListDto {
  @ApiProperty({ type: [ExecutorDto] }) executors!: ExecutorDto[];
}
