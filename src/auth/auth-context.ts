import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { Plan } from '../plans/plans';
import type { Scope } from './scopes';

/** Who is calling: attached to the request by ApiKeyAuthenticator. */
export interface AuthContext {
  apiKey: { id: string; name: string; prefix: string; scopes: Scope[] };
  workspace: { id: string; name: string; plan: Plan; rateLimitPerMinute: number | null };
}

export function authContextOf(request: unknown): AuthContext | undefined {
  return (request as { user?: AuthContext }).user;
}

/** The caller's AuthContext, in a handler of an authenticated route. */
export const Auth = createParamDecorator((_data: unknown, ctx: ExecutionContext): AuthContext => {
  const auth = authContextOf(ctx.switchToHttp().getRequest());
  if (!auth) throw new Error('@Auth() used on a route without authentication');
  return auth;
});
