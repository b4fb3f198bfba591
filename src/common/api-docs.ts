import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiResponse } from '@nestjs/swagger';
import { ErrorCode } from './errors';

export class ErrorBodyDto {
  @ApiProperty({ description: 'Stable machine-readable code', example: ErrorCode.WORKFLOW_NOT_FOUND, enum: Object.values(ErrorCode) })
  code!: string;

  @ApiProperty({ description: 'What went wrong, for people', example: 'Workflow wf_abc123 not found' })
  message!: string;

  @ApiPropertyOptional({ description: 'Structured data: `fields` for VALIDATION_ERROR, `nodes`/`graph` for INVALID_WORKFLOW', type: Object })
  details?: Record<string, unknown>;

  @ApiProperty({ description: 'Matches the X-Request-Id response header', example: 'req_5f1c2a9e0b7d4e3fa1b2c3d4e5f60718' })
  requestId!: string;
}

export class ErrorEnvelopeDto {
  @ApiProperty({ type: ErrorBodyDto })
  error!: ErrorBodyDto;
}

const EXAMPLES: Record<number, { description: string; code: ErrorCode; message: string; details?: Record<string, unknown> }> = {
  400: {
    description: 'The request is malformed or fails validation',
    code: ErrorCode.VALIDATION_ERROR,
    message: 'Invalid request: name: name must be shorter than or equal to 200 characters',
    details: { fields: { name: ['name must be shorter than or equal to 200 characters'] } },
  },
  401: { description: 'Missing, malformed, unknown, revoked or expired API key', code: ErrorCode.UNAUTHORIZED, message: 'Invalid API key' },
  403: {
    description: 'The key lacks the scope this operation needs',
    code: ErrorCode.FORBIDDEN,
    message: 'This API key lacks the scope "workflows:write"',
    details: { requiredScope: 'workflows:write' },
  },
  404: { description: 'Not found in the caller\'s workspace', code: ErrorCode.NOT_FOUND, message: 'Not found' },
  409: { description: 'Conflict with the current state', code: ErrorCode.CONFLICT, message: 'Conflict' },
  413: { description: 'The body is larger than the configured limit', code: ErrorCode.PAYLOAD_TOO_LARGE, message: 'Request body exceeds the limit of 1048576 bytes' },
  415: { description: 'The body is not JSON', code: ErrorCode.UNSUPPORTED_MEDIA_TYPE, message: 'Request bodies must be JSON: send "Content-Type: application/json"' },
  429: {
    description: 'Rate limit of the workspace (or of failed authentications from this IP) reached; see Retry-After',
    code: ErrorCode.RATE_LIMITED,
    message: 'Rate limit of 60 requests per minute reached; retry in 42 s',
  },
  500: { description: 'Unexpected error; the log has the details under the request id', code: ErrorCode.INTERNAL_ERROR, message: 'Internal server error' },
  503: { description: 'Not ready', code: ErrorCode.NOT_READY, message: 'The database is not reachable' },
};

/** One documented error response of a route: its status, and this route's own code and message. */
export interface ErrorDoc {
  status: number;
  code: ErrorCode;
  message: string;
  description?: string;
  details?: Record<string, unknown>;
}

/**
 * Documents error responses in the envelope of api.md. A bare status uses the generic example
 * of that status; an ErrorDoc gives this route's exact code and message. Statuses common to every
 * authenticated route (401, 429, 500) are added by `ApiAuthenticated`.
 */
export function ApiErrors(...entries: (number | ErrorDoc)[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...entries.map((entry) => {
      const doc: ErrorDoc = typeof entry === 'number' ? { status: entry, ...EXAMPLES[entry] } : entry;
      return ApiResponse({
        status: doc.status,
        description: doc.description ?? EXAMPLES[doc.status]?.description,
        type: ErrorEnvelopeDto,
        example: {
          error: { code: doc.code, message: doc.message, ...(doc.details ? { details: doc.details } : {}), requestId: 'req_5f1c2a9e0b7d4e3fa1b2c3d4e5f60718' },
        },
      });
    }),
  );
}
