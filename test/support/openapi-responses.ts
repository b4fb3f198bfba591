import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { buildOpenApiDocument, DOCS_PATH } from '../../src/app.factory';

/** A part of the OpenAPI document, walked dynamically. */
type Json = Record<string, any>;

const DOCUMENT_ID = 'openapi.json';

/** `/v1/workflows/:id` (Fastify's route template) → `/v1/workflows/{id}` (the document's path). */
export const openApiPath = (route: string) => route.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

const pointer = (...segments: string[]) => segments.map((s) => `/${s.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');

/**
 * A copy of the document for Ajv, in which every object schema that lists its properties admits no
 * other (a field the server sends but the document does not name is a lie of omission, so it fails
 * too) and `nullable` is spelled in JSON Schema.
 */
function forAjv(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(forAjv);
  if (node === null || typeof node !== 'object') return node;
  const { nullable, ...schema }: Json = Object.fromEntries(
    Object.entries(node).map(([key, value]) => [key, key === 'example' || key === 'examples' ? value : forAjv(value)]),
  );
  if (
    schema.properties &&
    typeof schema.properties === 'object' &&
    schema.additionalProperties === undefined &&
    !schema.allOf &&
    !schema.oneOf &&
    !schema.anyOf
  ) {
    schema.additionalProperties = false;
  }
  // OpenAPI 3.0's `nullable`: null, or what the rest of the schema admits (its `allOf` and `$ref` included).
  if (nullable === true) return { anyOf: [{ type: 'null' }, schema] };
  return nullable === undefined ? schema : { ...schema, nullable };
}

/**
 * The OpenAPI document compiled with Ajv: what each operation declares it answers, and a check of
 * an actual answer (status, media type, body) against it. Object schemas are closed (see `forAjv`).
 */
export class OpenApiContract {
  private readonly ajv: Ajv;
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(readonly document: Json) {
    // Not strict: `example`, `discriminator` and the like are OpenAPI's annotations, unknown to Ajv.
    this.ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(this.ajv);
    this.ajv.addSchema(forAjv(document) as Json, DOCUMENT_ID);
  }

  /** Ajv's check of the schema at `at` (a JSON pointer into the document), compiled once. */
  validatorAt(at: string): ValidateFunction {
    let validate = this.validators.get(at);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `${DOCUMENT_ID}#${at}` });
      this.validators.set(at, validate);
    }
    return validate;
  }

  /** Why `value` does not match the schema at `at`, or [] when it does. */
  violationsAt(at: string, value: unknown): string[] {
    const validate = this.validatorAt(at);
    if (validate(value)) return [];
    return (validate.errors ?? []).map(
      (e) => `${e.instancePath || '/'} ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${e.params.additionalProperty})` : ''}`,
    );
  }

  /**
   * Where an answer breaks its operation's declared responses: an undocumented operation, an
   * undeclared status, a declared header missing (`required`) or off its schema, an undeclared
   * media type, a body off its schema.
   * `headers` are the reply's, by lower-case name; `body` is undefined when it is streamed.
   */
  responseViolations(
    method: string,
    route: string,
    status: number,
    headers: Readonly<Record<string, string | number | string[] | undefined>>,
    body: string | undefined,
  ): string[] {
    const path = openApiPath(route);
    const verb = method.toLowerCase() === 'head' ? 'get' : method.toLowerCase();
    const operation = this.document.paths?.[path]?.[verb] as Json | undefined;
    if (!operation) return [`${method} ${path}: the operation is not in the document`];
    const name = `${method} ${path} → ${status}`;
    const key = [String(status), `${String(status)[0]}XX`, 'default'].find((candidate) => operation.responses?.[candidate]);
    if (!key) return [`${name}: status not declared (declared: ${Object.keys(operation.responses ?? {}).join(', ')})`];
    const declared = operation.responses[key] as Json;
    const at = (...rest: string[]) => pointer('paths', path, verb, 'responses', key, ...rest);
    const found: string[] = [];
    for (const [header, spec] of Object.entries((declared.headers ?? {}) as Record<string, Json>)) {
      const value = headers[header.toLowerCase()];
      if (value === undefined) {
        if (spec.required) found.push(`${name}: header ${header} missing`);
      } else if (spec.schema) {
        found.push(...this.violationsAt(at('headers', header, 'schema'), String(value)).map((violation) => `${name}: header ${header} ${violation}`));
      }
    }
    if (method === 'HEAD' || body === '') return found;
    const mediaType = String(headers['content-type'] ?? '')
      .split(';')[0]
      .trim()
      .toLowerCase();
    const media = declared.content?.[mediaType] as Json | undefined;
    if (!media) return [...found, `${name}: media type "${mediaType}" not declared (declared: ${Object.keys(declared.content ?? {}).join(', ') || 'no body'})`];
    if (body === undefined || !media.schema || !/^application\/(.+\+)?json$/.test(mediaType)) return found;
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      return [...found, `${name}: the body is not JSON`];
    }
    return [...found, ...this.violationsAt(at('content', mediaType, 'schema'), value).map((violation) => `${name}: ${violation}`)];
  }

  /** Every `example` (and `examples[*].value`) of the document that does not match its own schema. */
  exampleViolations(): string[] {
    const found: string[] = [];
    const walk = (node: unknown, at: string[]) => {
      if (node === null || typeof node !== 'object') return;
      if (Array.isArray(node)) return node.forEach((item, i) => walk(item, [...at, String(i)]));
      const object = node as Json;
      const isMedia = at[at.length - 2] === 'content' && object.schema !== undefined;
      const isParameter = at[at.length - 2] === 'parameters' && object.schema !== undefined;
      const schemaAt = isMedia || isParameter ? [...at, 'schema'] : at;
      const check = (example: unknown, where: string) => {
        for (const violation of this.violationsAt(pointer(...schemaAt), example)) found.push(`${where}: ${violation}`);
      };
      // A `properties` map is not a schema: its key `example` is a property named so (a node type's `example` settings).
      const isSchema = !isMedia && !isParameter && at.length > 0 && at[at.length - 1] !== 'properties' && (at.includes('schemas') || at.includes('schema'));
      if ((isMedia || isParameter || isSchema) && object.example !== undefined) check(object.example, pointer(...at, 'example'));
      if ((isMedia || isParameter) && object.examples && typeof object.examples === 'object') {
        for (const [key, example] of Object.entries(object.examples as Json)) check(example?.value, pointer(...at, 'examples', key));
      }
      for (const [key, value] of Object.entries(object)) if (key !== 'example' && key !== 'examples') walk(value, [...at, key]);
    };
    walk(this.document, []);
    return found;
  }
}

const contracts = new Map<string, OpenApiContract>();

/** One compiled contract per distinct document (every test app serves the same one). */
function contractFor(text: string): OpenApiContract {
  let contract = contracts.get(text);
  if (!contract) {
    contract = new OpenApiContract(JSON.parse(text) as Json);
    contracts.set(text, contract);
  }
  return contract;
}

const violations: string[] = [];

/** The contract violations seen since the last call (a test fails on any: test/support/openapi-contract.setup.ts). */
export function takeContractViolations(): string[] {
  return violations.splice(0, violations.length);
}

/**
 * Checks every answer of `app` against the operation's declared responses in the document the app
 * serves at /docs-json (built here by the same function, so checking sends no request of its own):
 * an undeclared status, an undeclared media type or a body that does not match the schema is
 * recorded, and the test that caused it fails. Call before the app is ready.
 */
export function checkResponsesAgainstContract(app: NestFastifyApplication): NestFastifyApplication {
  const contract = contractFor(JSON.stringify(buildOpenApiDocument(app)));
  const fastify: FastifyInstance = app.getHttpAdapter().getInstance();
  fastify.addHook('onSend', async (request, reply, payload) => {
    const route = request.routeOptions.url;
    // Not operations: an unmatched URL, and Swagger UI's own pages and the document itself.
    if (route === undefined || route === `/${DOCS_PATH}` || route.startsWith(`/${DOCS_PATH}/`) || route.startsWith(`/${DOCS_PATH}-`)) return payload;
    const body =
      typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : payload === null || payload === undefined ? '' : undefined;
    violations.push(...contract.responseViolations(request.method, route, reply.statusCode, reply.getHeaders(), body));
    return payload;
  });
  return app;
}
