import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BadRequestError, ErrorCode, PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from './errors';

export const MAX_JSON_DEPTH = 64;

/** A value met by findJsonProblem's walk: its parent and its key in it, for its path, built only when a problem is found. */
interface Visit {
  value: unknown;
  parent: Visit | undefined;
  key: string;
  depth: number;
}

/** The JSON pointer of a visited value ('' for the root). */
function pointerOf(visit: Visit): string {
  let path = '';
  for (let at: Visit | undefined = visit; at?.parent !== undefined; at = at.parent) path = `/${at.key.replace(/~/g, '~0').replace(/\//g, '~1')}${path}`;
  return path;
}

/** Why a string cannot be stored, or null. */
function stringProblem(text: string): string | null {
  if (text.includes('\u0000')) return 'contains a NUL character (\\u0000)';
  if (!text.isWellFormed()) return 'contains an unpaired UTF-16 surrogate';
  return null;
}

/**
 * Walks a parsed body without recursion and rejects what would break or silently change later:
 * nesting deeper than MAX_JSON_DEPTH, NUL characters (PostgreSQL text cannot hold them) and lone
 * UTF-16 surrogates (they would be replaced when encoded to UTF-8, so the stored data would differ).
 * The last key (or item) of each object is walked first, depth first; paths are built only for a
 * problem found (this walk is on every JSON request's path).
 */
export function findJsonProblem(body: unknown): { path: string; problem: string } | null {
  const stack: Visit[] = [{ value: body, parent: undefined, key: '', depth: 0 }];
  while (stack.length > 0) {
    const visit = stack.pop()!;
    const { value, depth } = visit;
    if (typeof value === 'string') {
      const problem = stringProblem(value);
      if (problem !== null) return { path: pointerOf(visit) || '/', problem };
    } else if (value !== null && typeof value === 'object') {
      if (depth >= MAX_JSON_DEPTH) return { path: pointerOf(visit), problem: `is nested deeper than ${MAX_JSON_DEPTH} levels` };
      if (Array.isArray(value)) {
        // Item keys are digits: nothing to check in them.
        for (let i = 0; i < value.length; i++) stack.push({ value: value[i], parent: visit, key: String(i), depth: depth + 1 });
        continue;
      }
      for (const key in value) {
        if (!Object.hasOwn(value, key)) continue;
        const problem = stringProblem(key);
        // The key's own path names it as it is, unescaped.
        if (problem !== null) return { path: `${pointerOf(visit)}/${key}`, problem: `key ${problem}` };
        stack.push({ value: (value as Record<string, unknown>)[key], parent: visit, key, depth: depth + 1 });
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

/** Fastify route config (Nest's `@RouteConfig`) of a route that takes any body as its raw bytes: a webhook delivery, whose signature covers the exact bytes. */
export const RAW_BODY_ROUTE = { rawBody: true } as const;

const wantsRawBody = (req: FastifyRequest) => (req.routeOptions.config as { rawBody?: unknown } | undefined)?.rawBody === true;

type JsonParse = (text: string) => Promise<unknown>;

/**
 * The body of a RAW_BODY_ROUTE: the bytes as received (before any Content-Encoding is undone), and
 * on demand their text or the JSON they hold, parsed with the same rules as every JSON route.
 */
export class RawBody {
  constructor(
    readonly bytes: Buffer,
    private readonly contentEncoding: string | undefined,
    private readonly limitBytes: number,
    private readonly parse: JsonParse,
  ) {}

  /** The body decoded (Content-Encoding undone) as UTF-8 text. */
  text(): string {
    return decompress(this.bytes, this.contentEncoding, this.limitBytes).toString('utf8');
  }

  /** The body as JSON (undefined when empty); INVALID_JSON or VALIDATION_ERROR as on every JSON route. `text`: its text, when already decoded. */
  json(text = this.text()): Promise<unknown> {
    return text.trim() === '' ? Promise.resolve(undefined) : this.parse(text);
  }
}

/**
 * The JSON text parser of every JSON body: Fastify's own (secure-json-parse, `__proto__` and
 * `constructor` poisoning refused), then the shape guard above; every failure a domain error.
 */
export function jsonTextParser(fastify: FastifyInstance): JsonParse {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  // Fastify's default JSON parser reads the text only, never the request: none is given, so the
  // parser serves bodies read before Fastify too (src/webhooks/delivery-edge.ts).
  const noRequest = undefined as unknown as FastifyRequest;
  return (text) =>
    new Promise((resolve, reject) => {
      void parseJson(noRequest, text, (error: Error | null, body?: unknown) => {
        if (error) return reject(new BadRequestError(ErrorCode.INVALID_JSON, `Request body is not valid JSON: ${error.message}`));
        const problem = findJsonProblem(body);
        if (problem) {
          return reject(new ValidationError(`Request body ${problem.path || '/'} ${problem.problem}`, { [problem.path || '/']: [problem.problem] }));
        }
        resolve(body);
      });
    });
}

/**
 * JSON is the only request body this API takes (`application/json` and `application/*+json`, in
 * identity, gzip, deflate or br encoding), but for a RAW_BODY_ROUTE, which takes any body as
 * RawBody. Fastify's own parser does the parsing, with `__proto__`/`constructor` poisoning
 * refused; then the shape guard above runs. Every failure is a domain error, so it reaches the
 * client in the envelope.
 */
export function registerJsonBodyParser(fastify: FastifyInstance, limitBytes: number): void {
  const parseText = jsonTextParser(fastify);
  fastify.removeAllContentTypeParsers();
  const rawBody = (req: FastifyRequest, raw: Buffer) => new RawBody(raw, req.headers['content-encoding'], limitBytes, parseText);
  const parse = (req: FastifyRequest, raw: Buffer, done: (error: Error | null, body?: unknown) => void) => {
    if (wantsRawBody(req)) return done(null, rawBody(req, raw));
    let text: string;
    try {
      text = decompress(raw, req.headers['content-encoding'], limitBytes).toString('utf8');
    } catch (error) {
      return done(error as Error);
    }
    if (text.trim() === '') return done(null, undefined);
    parseText(text).then(
      (body) => done(null, body),
      (error: Error) => done(error),
    );
  };
  for (const contentType of ['application/json', /^application\/[\w.+-]+\+json(\s*;.*)?$/i]) {
    fastify.addContentTypeParser(contentType, { parseAs: 'buffer', bodyLimit: limitBytes }, parse);
  }
  // Any other type (or none): the raw bytes for a RAW_BODY_ROUTE, else 415.
  fastify.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limitBytes }, (req: FastifyRequest, raw: Buffer, done) => {
    if (wantsRawBody(req)) return done(null, rawBody(req, raw));
    done(new UnsupportedMediaTypeError('Request bodies must be JSON: send "Content-Type: application/json"'));
  });
}
