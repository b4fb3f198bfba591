import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, DECORATORS } from '@nestjs/swagger';
import { ApiErrors, DATABASE_UNAVAILABLE, ErrorDoc } from '../common/api-docs';
import { ErrorCode } from '../common/errors';
import { Scope } from './scopes';

export const IS_PUBLIC = 'tensorify:isPublic';
export const REQUIRED_SCOPE = 'tensorify:requiredScope';
export const ANY_SCOPE = 'any';

/** The route needs no API key (health, docs); the document says so with an empty `security`. */
export const Public = () => applyDecorators(SetMetadata(IS_PUBLIC, true), SetMetadata(DECORATORS.API_SECURITY, []));

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
