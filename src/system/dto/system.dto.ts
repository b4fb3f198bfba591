import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class ServerFactsDto {
  @ApiProperty({ example: '0.1.0' }) version!: string;
  @ApiProperty({ description: 'The Node.js version', example: 'v20.20.2' }) node!: string;
  @ApiProperty({ type: 'integer', example: 3600 }) uptimeSeconds!: number;
}

export class OsFactsDto {
  @ApiProperty({ example: 'linux' }) platform!: string;
  @ApiProperty({ example: 'Debian GNU/Linux' }) distro!: string;
  @ApiProperty({ example: '12' }) release!: string;
  @ApiProperty({ example: '6.1.0-18-amd64' }) kernel!: string;
  @ApiProperty({ example: 'x64' }) arch!: string;
  @ApiProperty({ example: 'gpu-box' }) hostname!: string;
}

export class CpuFactsDto {
  @ApiProperty({ example: 'AMD' }) manufacturer!: string;
  @ApiProperty({ example: 'EPYC 7443P' }) brand!: string;
  @ApiProperty({ type: 'integer', description: 'Logical cores', example: 48 }) cores!: number;
  @ApiProperty({ type: 'integer', example: 24 }) physicalCores!: number;
  @ApiProperty({ type: Number, nullable: true, description: 'null when the CPU does not tell', example: 2.85 }) speedGHz!: number | null;
}

export class SystemGpuDto {
  @ApiProperty({ example: 'NVIDIA A100-SXM4-40GB' }) model!: string;
  @ApiProperty({ example: 'NVIDIA Corporation' }) vendor!: string;
  @ApiProperty({ type: 'integer', nullable: true, description: 'Memory in MiB; null when the driver does not tell', example: 40960 }) vramMb!: number | null;
}

export class PythonFactsDto {
  @ApiProperty({ example: 'python3' }) executable!: string;
  @ApiProperty({ type: String, nullable: true, description: 'null when it cannot run (see `detail`)', example: '3.11.2' }) version!: string | null;
  @ApiPropertyOptional({ description: 'Why it cannot run', example: 'spawn python3 ENOENT' }) detail?: string;
}

export class MemoryFactsDto {
  @ApiProperty({ type: 'integer', example: 257612 }) totalMb!: number;
  @ApiProperty({ type: 'integer', example: 201344 }) availableMb!: number;
}

export class SystemDto {
  @ApiProperty({ type: ServerFactsDto }) server!: ServerFactsDto;
  @ApiProperty({ type: OsFactsDto }) os!: OsFactsDto;
  @ApiProperty({ type: CpuFactsDto }) cpu!: CpuFactsDto;
  @ApiProperty({ type: [SystemGpuDto], description: 'NVIDIA and AMD GPUs (an onboard display chip is not listed)' }) gpus!: SystemGpuDto[];
  @ApiProperty({ type: PythonFactsDto, description: "The `python3` on the server's PATH" }) python!: PythonFactsDto;
  @ApiProperty({ type: MemoryFactsDto }) memory!: MemoryFactsDto;
  @ApiProperty({ type: [Number], minItems: 3, maxItems: 3, description: '1, 5 and 15 minute load averages', example: [0.42, 0.37, 0.3] })
  loadAverage!: number[];
  @ApiProperty({ format: 'date-time', example: '2026-11-28T18:00:00.000Z' }) collectedAt!: string;
}
