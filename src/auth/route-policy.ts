import type { ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import { ANY_SCOPE, IS_PUBLIC, REQUIRED_SCOPE } from './auth.decorators';
import type { Scope } from './scopes';

export interface RoutePolicy {
  isPublic: boolean;
  /** The scope the route declares; undefined when it declares none (refused, fail closed). */
  requiredScope?: Scope | typeof ANY_SCOPE;
}

const policies = new WeakMap<object, RoutePolicy>();

/** The auth policy of the route being served, read from its decorators once per handler. */
export function routePolicy(reflector: Reflector, context: ExecutionContext): RoutePolicy {
  const handler = context.getHandler();
  let policy = policies.get(handler);
  if (!policy) {
    const targets = [handler, context.getClass()];
    policy = {
      isPublic: reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets) ?? false,
      requiredScope: reflector.getAllAndOverride<Scope | typeof ANY_SCOPE | undefined>(REQUIRED_SCOPE, targets),
    };
    policies.set(handler, policy);
  }
  return policy;
}
