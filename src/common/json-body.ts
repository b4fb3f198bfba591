import type { NextFunction, Request, Response } from 'express';
import express from 'express';
import { BadRequestError, ErrorCode, PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from './errors';

export const MAX_JSON_DEPTH = 64;

/**
 * Walks a parsed body without recursion and rejects what would break or silently change later:
 * nesting deeper than MAX_JSON_DEPTH, NUL characters (PostgreSQL text cannot hold them) and lone
 * UTF-16 surrogates (they would be replaced when encoded to UTF-8, so the stored data would differ).
 */
export function findJsonProblem(body: unknown): { path: string; problem: string } | null {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: body, path: '', depth: 0 }];
  const checkString = (text: string, path: string) => {
    if (text.includes('\u0000')) return { path: path || '/', problem: 'contains a NUL character (\\u0000)' };
    if (!text.isWellFormed()) return { path: path || '/', problem: 'contains an unpaired UTF-16 surrogate' };
    return null;
  };
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === 'string') {
      const problem = checkString(value, path);
      if (problem) return problem;
    } else if (value !== null && typeof value === 'object') {
      if (depth >= MAX_JSON_DEPTH) return { path, problem: `is nested deeper than ${MAX_JSON_DEPTH} levels` };
      const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
      for (const [key, child] of entries) {
        const keyProblem = checkString(key, `${path}/${key}`);
        if (keyProblem) return { ...keyProblem, problem: `key ${keyProblem.problem}` };
        stack.push({ value: child, path: `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, depth: depth + 1 });
      }
    }
  }
  return null;
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

function hasBody(req: Request): boolean {
  return Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
}

/** Express middlewares that parse JSON bodies and turn every parsing failure into a domain error. */
export function jsonBodyMiddlewares(limitBytes: number) {
  const parse = express.json({ limit: limitBytes, strict: false, type: () => true });

  const requireJson = (req: Request, _res: Response, next: NextFunction) => {
    if (!BODY_METHODS.has(req.method) || !hasBody(req)) return next();
    if (!req.is('application/json') && !req.is('application/*+json')) {
      return next(
        new UnsupportedMediaTypeError(
          `Request bodies must be JSON: send "Content-Type: application/json" (got "${req.get('content-type') ?? 'none'}")`,
        ),
      );
    }
    parse(req, _res, next);
  };

  const checkShape = (req: Request, _res: Response, next: NextFunction) => {
    if (req.body === undefined) return next();
    const problem = findJsonProblem(req.body);
    if (problem) {
      return next(new ValidationError(`Request body ${problem.path || '/'} ${problem.problem}`, { [problem.path || '/']: [problem.problem] }));
    }
    next();
  };

  return [requireJson, checkShape];
}

/** Maps body-parser's errors (which carry `type`) to domain errors; anything else passes on. */
export function bodyParserErrorToDomain(error: unknown, limitBytes: number): unknown {
  const type = (error as { type?: string })?.type;
  switch (type) {
    case 'entity.parse.failed':
      return new BadRequestError(ErrorCode.INVALID_JSON, `Request body is not valid JSON: ${(error as Error).message}`);
    case 'entity.too.large':
      return new PayloadTooLargeError(`Request body exceeds the limit of ${limitBytes} bytes`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new UnsupportedMediaTypeError(`Unsupported body encoding: ${(error as Error).message}`);
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new BadRequestError(ErrorCode.VALIDATION_ERROR, `Request body could not be read: ${(error as Error).message}`);
    default:
      // A gzip/deflate/br body that does not decompress: body-parser passes zlib's error on as a 400 without a type.
      if (isExposedBadRequest(error)) {
        return new BadRequestError(ErrorCode.VALIDATION_ERROR, `Request body could not be decompressed: ${error.message}`);
      }
      return error;
  }
}

function isExposedBadRequest(error: unknown): error is Error {
  const { status, expose } = (error ?? {}) as { status?: unknown; expose?: unknown };
  return error instanceof Error && status === 400 && expose === true;
}
