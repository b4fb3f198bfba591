import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-http-bearer';
import { ApiKeysService } from './api-keys.service';
import { BEARER_STRATEGY } from '../auth/api-key.authenticator';
import { AuthContext } from '../auth/auth-context';

/** Passport's Bearer strategy, resolving `Authorization: Bearer tfy_…` to the caller's AuthContext. */
@Injectable()
export class BearerStrategy extends PassportStrategy(Strategy, BEARER_STRATEGY) {
  constructor(private readonly apiKeys: ApiKeysService) {
    super();
  }

  async validate(secret: string): Promise<AuthContext> {
    return this.apiKeys.authenticate(secret);
  }
}
