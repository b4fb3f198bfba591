import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import type { FastifyInstance, FastifyRequest } from 'fastify';
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

function decompress(body: Buffer, encoding: string | undefined, limitBytes: number): Buffer {
  const options = { maxOutputLength: limitBytes };
  try {
    switch ((encoding ?? 'identity').trim().toLowerCase()) {
      case 'identity':
        return body;
      case 'gzip':
      case 'x-gzip':
        return gunzipSync(body, options);
      case 'deflate':
        return inflateSync(body, options);
      case 'br':
        return brotliDecompressSync(body, options);
      default:
        throw new UnsupportedMediaTypeError(`Unsupported Content-Encoding "${encoding}": send identity, gzip, deflate or br`);
    }
  } catch (error) {
    if (error instanceof UnsupportedMediaTypeError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new PayloadTooLargeError(`Request body exceeds the limit of ${limitBytes} bytes once decompressed`);
    }
    throw new BadRequestError(ErrorCode.VALIDATION_ERROR, `Request body could not be decompressed (${encoding}): ${(error as Error).message}`);
  }
}

/**
 * JSON is the only request body this API takes (`application/json` and `application/*+json`, in
 * identity, gzip, deflate or br encoding). Fastify's own parser does the parsing, with
 * `__proto__`/`constructor` poisoning refused; then the shape guard above runs. Every failure is
 * a domain error, so it reaches the client in the envelope.
 */
export function registerJsonBodyParser(fastify: FastifyInstance, limitBytes: number): void {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  const parse = (req: FastifyRequest, raw: Buffer, done: (error: Error | null, body?: unknown) => void) => {
    let text: string;
    try {
      text = decompress(raw, req.headers['content-encoding'], limitBytes).toString('utf8');
    } catch (error) {
      return done(error as Error);
    }
    if (text.trim() === '') return done(null, undefined);
    void parseJson(req, text, (error: Error | null, body?: unknown) => {
      if (error) return done(new BadRequestError(ErrorCode.INVALID_JSON, `Request body is not valid JSON: ${error.message}`));
      const problem = findJsonProblem(body);
      if (problem) {
        return done(new ValidationError(`Request body ${problem.path || '/'} ${problem.problem}`, { [problem.path || '/']: [problem.problem] }));
      }
      done(null, body);
    });
  };
  for (const contentType of ['application/json', /^application\/[\w.+-]+\+json(\s*;.*)?$/i]) {
    fastify.addContentTypeParser(contentType, { parseAs: 'buffer', bodyLimit: limitBytes }, parse);
  }
}
