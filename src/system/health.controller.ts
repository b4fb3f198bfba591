import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiProperty, ApiResponse, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Public } from '../auth/auth.decorators';
import { ApiErrors } from '../common/api-docs';
import { ErrorCode, ServiceUnavailableError } from '../common/errors';

class HealthDto {
  @ApiProperty({ example: 'ok' }) status!: string;
}

class ReadinessDto {
  @ApiProperty({ example: 'ready' }) status!: string;
  @ApiProperty({ example: { database: 'ok' } }) checks!: Record<string, string>;
}

const READINESS_TIMEOUT_MS = 2000;

@ApiTags('Health')
@Public()
@Controller('health')
export class HealthController {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  @Get()
  @ApiOperation({ summary: 'Liveness', description: 'The process is up and serving HTTP. No API key needed.' })
  @ApiResponse({ status: 200, description: 'Alive', type: HealthDto })
  live(): HealthDto {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness', description: 'The server can do its work: the database answers. No API key needed.' })
  @ApiResponse({ status: 200, description: 'Ready to serve', type: ReadinessDto })
  @ApiErrors({ status: 503, code: ErrorCode.NOT_READY, message: 'Not ready: database: connection refused', details: { checks: { database: 'connection refused' } } })
  async ready(): Promise<ReadinessDto> {
    const database = await this.checkDatabase();
    if (database !== 'ok') {
      throw new ServiceUnavailableError(ErrorCode.NOT_READY, `Not ready: database: ${database}`, { checks: { database } });
    }
    return { status: 'ready', checks: { database } };
  }

  private async checkDatabase(): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`no answer within ${READINESS_TIMEOUT_MS} ms`), READINESS_TIMEOUT_MS);
    });
    const query = this.dataSource
      .query('SELECT 1')
      .then(() => 'ok')
      .catch((error: Error) => error.message || 'query failed');
    try {
      return await Promise.race([query, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
