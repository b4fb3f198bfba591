import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Registry } from 'prom-client';
import { Public } from '../auth/auth.decorators';
import { ApiErrors } from '../common/api-docs';
import { MetricsService } from './metrics.service';

const EXAMPLE = [
  '# HELP tensorify_http_requests_total HTTP requests answered, by method, route template (`unmatched` when no route matched) and status code.',
  '# TYPE tensorify_http_requests_total counter',
  'tensorify_http_requests_total{method="GET",route="/v1/workflows/:id",status="200"} 42',
  '',
].join('\n');

@ApiTags('Health')
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Prometheus metrics',
    description:
      'This process in the Prometheus text format (0.0.4): HTTP requests by route template and status with durations, executions by status ' +
      "and executor, queue wait and depth, run durations, rate-limit rejections, executor plugins, and the process's CPU, memory and event loop. " +
      'No API key needed and not rate limited: keep it away from the public internet (firewall or reverse proxy).',
  })
  // The 200 names its own media type; the error stays the JSON envelope (an `@ApiProduces` would make both text/plain).
  @ApiOkResponse({ description: 'The series, as text/plain; version=0.0.4', content: { 'text/plain': { schema: { type: 'string', example: EXAMPLE } } } })
  @ApiErrors(500)
  scrape(): Promise<string> {
    return this.metrics.scrape();
  }
}
