import { CanActivate, ExecutionContext, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ForbiddenError } from '../common/errors';
import { ANY_SCOPE } from './auth.decorators';
import { authContextOf } from './auth-context';
import { routePolicy } from './route-policy';
import { hasScope } from './scopes';

/** Refuses a key that lacks the route's scope with 403; a route that declares no scope is refused (fail closed). */
@Injectable()
export class ScopesGuard implements CanActivate {
  private readonly log = new Logger(ScopesGuard.name);

  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const { isPublic, requiredScope: required } = routePolicy(this.reflector, context);
    if (isPublic) return true;
    if (!required) {
      this.log.error(`Route ${context.getClass().name}.${context.getHandler().name} declares no scope; refusing it`);
      throw new ForbiddenError('This route is not available to API keys');
    }
    const auth = authContextOf(context.switchToHttp().getRequest())!;
    if (required !== ANY_SCOPE && !hasScope(auth.apiKey.scopes, required)) {
      throw new ForbiddenError(`This API key lacks the scope "${required}"`, { requiredScope: required, keyScopes: auth.apiKey.scopes });
    }
    return true;
  }
}
