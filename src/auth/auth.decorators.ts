import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, DECORATORS } from '@nestjs/swagger';
import { ApiErrors, DATABASE_UNAVAILABLE, ErrorDoc } from '../common/api-docs';
import { ErrorCode } from '../common/errors';
import { Scope } from './scopes';

export const IS_PUBLIC = 'tensorify:isPublic';
export const REQUIRED_SCOPE = 'tensorify:requiredScope';
export const ANY_SCOPE = 'any';

/**
 * The route needs no API key (health, docs); the document says so with an empty `security`. On a
 * class, each of its methods is marked too: the key is checked before Nest's guard chain, where
 * only the handler Fastify runs is known, not its controller (authenticateBeforeTheBody).
 */
export function Public(): MethodDecorator & ClassDecorator {
  const mark = applyDecorators(SetMetadata(IS_PUBLIC, true), SetMetadata(DECORATORS.API_SECURITY, []));
  return (target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (descriptor) return mark(target, key, descriptor);
    mark(target);
    const prototype = (target as { prototype: Record<string, unknown> }).prototype;
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const method = prototype[name];
      if (name !== 'constructor' && typeof method === 'function') Reflect.defineMetadata(IS_PUBLIC, true, method);
    }
  };
}

/**
 * Every authenticated route says which scope it needs (or `ANY_SCOPE`): the scopes guard refuses
 * a route that says nothing, so a forgotten decorator fails closed.
 */
export function RequireScope(scope: Scope | typeof ANY_SCOPE): MethodDecorator & ClassDecorator {
  const forbidden: ErrorDoc = {
    status: 403,
    code: ErrorCode.FORBIDDEN,
    message: `This API key lacks the scope "${scope}"`,
    details: { requiredScope: scope },
  };
  return applyDecorators(SetMetadata(REQUIRED_SCOPE, scope), ...(scope === ANY_SCOPE ? [] : [ApiErrors(forbidden)]));
}

/**
 * Swagger: Bearer auth plus the errors and headers every authenticated route can produce (the
 * key is looked up in the database, so 503 when it cannot be reached).
 */
export function ApiAuthenticated(): ClassDecorator {
  return applyDecorators(
    ApiBearerAuth(),
    ApiHeader({ name: 'X-Request-Id', required: false, description: 'Your own request id (8-128 of A-Z a-z 0-9 . _ : -); echoed back' }),
    ApiErrors(401, 429, 500, DATABASE_UNAVAILABLE),
  );
}
