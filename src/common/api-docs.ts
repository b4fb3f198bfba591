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
  404: { description: "Not found in the caller's workspace", code: ErrorCode.NOT_FOUND, message: 'Not found' },
  409: { description: 'Conflict with the current state', code: ErrorCode.CONFLICT, message: 'Conflict' },
  413: {
    description: 'The body is larger than the configured limit',
    code: ErrorCode.PAYLOAD_TOO_LARGE,
    message: 'Request body exceeds the limit of 1048576 bytes',
  },
  415: {
    description: 'The body is not JSON',
    code: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    message: 'Request bodies must be JSON: send "Content-Type: application/json"',
  },
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

/** 503 `NOT_READY` (with `Retry-After`): any route that reads or writes the database, when it cannot be reached or is locked. */
export const DATABASE_UNAVAILABLE: ErrorDoc = {
  status: 503,
  code: ErrorCode.NOT_READY,
  description: 'The database is unavailable right now; retry after `Retry-After` seconds',
  message: 'The database is unavailable right now; retry in a few seconds',
};

/**
 * What the JSON body parser answers before any route runs. Fastify parses a body on POST, PUT,
 * PATCH and DELETE whenever one is sent, so these apply to such a route even when it takes none.
 */
export const BODY_ERRORS: readonly ErrorDoc[] = [
  {
    status: 400,
    code: ErrorCode.INVALID_JSON,
    description: 'The body is not valid JSON',
    message: "Request body is not valid JSON: Body is not valid JSON but content-type is set to 'application/json'",
  },
  { status: 413, ...EXAMPLES[413] },
  { status: 415, ...EXAMPLES[415] },
];

const REQUEST_ID_EXAMPLE = 'req_5f1c2a9e0b7d4e3fa1b2c3d4e5f60718';

const envelopeOf = (doc: ErrorDoc) => ({
  error: { code: doc.code, message: doc.message, ...(doc.details ? { details: doc.details } : {}), requestId: REQUEST_ID_EXAMPLE },
});

/**
 * Documents error responses in the envelope of api.md. A bare status uses the generic example
 * of that status; an ErrorDoc gives this route's exact code and message. Several entries of one
 * status become one response with an example per code. Statuses common to every authenticated
 * route (401, 429, 500, 503) are added by `ApiAuthenticated`; a route that documents one of them
 * itself replaces that one, so it lists the common case too (see `DATABASE_UNAVAILABLE`).
 */
export function ApiErrors(...entries: (number | ErrorDoc)[]): MethodDecorator & ClassDecorator {
  const byStatus = new Map<number, ErrorDoc[]>();
  for (const entry of entries) {
    const doc: ErrorDoc = typeof entry === 'number' ? { status: entry, ...EXAMPLES[entry] } : entry;
    const description = doc.description ?? EXAMPLES[doc.status]?.description;
    byStatus.set(doc.status, [...(byStatus.get(doc.status) ?? []), { ...doc, description }]);
  }
  return applyDecorators(
    ...[...byStatus.entries()].map(([status, docs]) => {
      if (docs.length === 1) {
        return ApiResponse({ status, description: docs[0].description, type: ErrorEnvelopeDto, example: envelopeOf(docs[0]) });
      }
      const examples: Record<string, { summary: string; value: unknown }> = {};
      for (const doc of docs) {
        let name: string = doc.code;
        for (let n = 2; name in examples; n++) name = `${doc.code}_${n}`;
        examples[name] = { summary: doc.description ?? doc.code, value: envelopeOf(doc) };
      }
      return ApiResponse({
        status,
        description: docs.map((doc) => `\`${doc.code}\`: ${doc.description}`).join('  \n'),
        type: ErrorEnvelopeDto,
        examples,
      });
    }),
  );
}
