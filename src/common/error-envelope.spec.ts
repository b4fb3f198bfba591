import { BadRequestException } from '@nestjs/common';
import { ErrorCode, NotFoundError } from './errors';
import { toErrorResponse } from './error-envelope';

/** An error as Fastify makes its own (fastify's createError: a code, a statusCode, a message). */
function fastifyError(code: string, statusCode: number, message: string): Error {
  return Object.assign(new Error(message), { code, statusCode });
}

describe(toErrorResponse.name, () => {
  it('keeps a domain error as it is, with the request id', () => {
    const { status, body, isInternal } = toErrorResponse(new NotFoundError(ErrorCode.WORKFLOW_NOT_FOUND, 'Workflow wf_x not found'), 'req-1');
    expect({ status, body, isInternal }).toEqual({
      status: 404,
      body: { error: { code: 'WORKFLOW_NOT_FOUND', message: 'Workflow wf_x not found', requestId: 'req-1' } },
      isInternal: false,
    });
  });

  it("maps Nest's HTTP exceptions by status", () => {
    const { status, body } = toErrorResponse(new BadRequestException('bad'), 'req-2');
    expect({ status, code: body.error.code }).toEqual({ status: 400, code: 'VALIDATION_ERROR' });
  });

  it("answers Fastify's own 4xx errors with their status in the envelope, whatever their FST_ code", () => {
    for (const [code, statusCode, expected] of [
      ['FST_ERR_CTP_EMPTY_JSON_BODY', 400, 'BAD_REQUEST'],
      ['FST_ERR_CTP_BODY_TOO_LARGE', 413, 'PAYLOAD_TOO_LARGE'],
      ['FST_ERR_CTP_INVALID_MEDIA_TYPE', 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['FST_ERR_SOMETHING_NEW', 405, 'BAD_REQUEST'],
    ] as const) {
      const { status, body, isInternal } = toErrorResponse(fastifyError(code, statusCode, 'said by Fastify'), 'req-3');
      expect({ status, body, isInternal }).toEqual({
        status: statusCode,
        body: { error: { code: expected, message: 'said by Fastify', requestId: 'req-3' } },
        isInternal: false,
      });
    }
  });

  it('treats anything else as internal: a 500 that says nothing of it, even when it claims a 4xx status', () => {
    for (const error of [new Error('secret detail'), fastifyError('FST_ERR_INTERNAL', 500, 'x'), fastifyError('ELIB', 400, 'not Fastify'), 'a string']) {
      const { status, body, isInternal } = toErrorResponse(error, 'req-4');
      expect({ status, code: body.error.code, isInternal }).toEqual({ status: 500, code: 'INTERNAL_ERROR', isInternal: true });
      expect(body.error.message).not.toMatch(/secret|Fastify|not Fastify/);
    }
  });
});
