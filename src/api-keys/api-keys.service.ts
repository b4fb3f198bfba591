import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Clock, CLOCK } from '../common/clock';
import { ErrorCode, ForbiddenError, NotFoundError, UnauthorizedError, ValidationError } from '../common/errors';
import { ID_PREFIX, looksLikeId, newId } from '../common/ids';
import { Page, toPage } from '../common/pagination';
import { pageAfter } from '../database/query-helpers';
import { CACHE_NAMES, CACHE_TTL_MS, CacheRevisions } from '../database/cache-revisions.service';
import { rawQuery } from '../database/raw-query';
import { deepFreeze, ReadThroughCache } from '../common/read-through-cache';
import type { Plan } from '../plans/plans';
import { WorkspacesService } from '../workspaces/workspaces.service';
import { ApiKeyEntity } from './api-key.entity';
import { displayPrefix, generateSecret, hashSecret, isWellFormedSecret } from './api-key-secret';
import { AuthContext } from '../auth/auth-context';
import { ApiKeyDto } from './dto/api-key.dto';
import { LastUsedTracker } from './last-used.tracker';
import { hasScope, Scope, SCOPES } from '../auth/scopes';

/** The row `authenticate` reads: a key and its workspace, in one indexed lookup by hash. */
interface AuthRow {
  id: string;
  name: string;
  prefix: string;
  scopes: string;
  expires_at: string | null;
  revoked_at: string | null;
  workspace_id: string;
  workspace_name: string;
  plan: Plan;
  rate_limit_per_minute: number | null;
}

/** A live key as `authenticate` keeps it: its context built once, and when it stops working. */
interface CachedKey {
  context: AuthContext;
  expiresAtMs: number | null;
  revoked: boolean;
}

function toCachedKey(row: AuthRow): CachedKey {
  return {
    context: deepFreeze({
      apiKey: { id: row.id, name: row.name, prefix: row.prefix, scopes: JSON.parse(row.scopes) as Scope[] },
      workspace: {
        id: row.workspace_id,
        name: row.workspace_name,
        plan: row.plan,
        rateLimitPerMinute: row.rate_limit_per_minute === null ? null : Number(row.rate_limit_per_minute),
      },
    }),
    expiresAtMs: row.expires_at ? Date.parse(row.expires_at) : null,
    revoked: row.revoked_at !== null,
  };
}

export interface NewApiKey {
  workspaceId: string;
  name: string;
  scopes: Scope[];
  expiresAt?: Date | null;
  /** Only for the bootstrap key: use this exact secret instead of generating one. */
  secret?: string;
}

@Injectable()
export class ApiKeysService {
  /** Keys by secret hash; dropped whenever a key is revoked or a workspace changes (see CacheRevisions). */
  private readonly authCache = new ReadThroughCache<CachedKey>({ maxEntries: 10_000, ttlMs: CACHE_TTL_MS });

  constructor(
    @InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>,
    private readonly workspaces: WorkspacesService,
    private readonly lastUsed: LastUsedTracker,
    private readonly revisions: CacheRevisions,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    revisions.onChange(CACHE_NAMES.auth, () => this.authCache.clear());
  }

  /**
   * Creates a key and returns its secret, which is not stored and cannot be shown again.
   * `grantor` is the key asking for it: it can only pass on scopes it holds itself.
   */
  async create(input: NewApiKey, grantor?: { scopes: Scope[] }): Promise<{ apiKey: ApiKeyEntity; secret: string }> {
    const scopes = SCOPES.filter((scope) => input.scopes.includes(scope));
    if (scopes.length === 0) throw new ValidationError('A key needs at least one scope', { scopes: ['must not be empty'] });
    const missing = grantor ? scopes.filter((scope) => !hasScope(grantor.scopes, scope)) : [];
    if (missing.length > 0) {
      throw new ForbiddenError(`This API key cannot grant scopes it lacks: ${missing.join(', ')}`, { missingScopes: missing });
    }
    if (input.expiresAt && input.expiresAt.getTime() <= this.clock.now()) {
      throw new ValidationError('expiresAt must be in the future', { expiresAt: ['must be in the future'] });
    }
    await this.workspaces.get(input.workspaceId);
    const secret = input.secret ?? generateSecret();
    const apiKey = this.keys.create({
      id: newId(ID_PREFIX.apiKey),
      workspaceId: input.workspaceId,
      name: input.name,
      prefix: displayPrefix(secret),
      secretHash: hashSecret(secret),
      scopes,
      createdAt: new Date(this.clock.now()),
      expiresAt: input.expiresAt ?? null,
      revokedAt: null,
      lastUsedAt: null,
    });
    await this.keys.insert(apiKey);
    return { apiKey, secret };
  }

  async list(limit: number, filter: { workspaceId?: string; cursor?: string } = {}): Promise<Page<ApiKeyEntity>> {
    const query = this.keys.createQueryBuilder('k');
    if (filter.workspaceId) query.where('k.workspaceId = :workspaceId', { workspaceId: filter.workspaceId });
    const rows = await pageAfter(query, 'k', limit, filter.cursor).getMany();
    return toPage(rows, limit);
  }

  /** Revokes a key; it fails from the next request on. Revoking a revoked key changes nothing. */
  async revoke(id: string): Promise<ApiKeyEntity> {
    const apiKey = looksLikeId(ID_PREFIX.apiKey, id) ? await this.keys.findOneBy({ id }) : null;
    if (!apiKey) throw new NotFoundError(ErrorCode.API_KEY_NOT_FOUND, `API key ${id} not found`);
    if (!apiKey.revokedAt) {
      apiKey.revokedAt = new Date(this.clock.now());
      await this.revisions.write(CACHE_NAMES.auth, () => this.keys.update({ id }, { revokedAt: apiKey.revokedAt }));
    }
    return apiKey;
  }

  /** Resolves a presented secret to its key and workspace, or says precisely why it is refused. */
  async authenticate(secret: string): Promise<AuthContext> {
    if (!isWellFormedSecret(secret)) {
      throw new UnauthorizedError('Malformed API key: expected "tfy_" followed by at least 32 letters and digits');
    }
    const hash = hashSecret(secret);
    const key = await this.authCache.get(
      hash,
      async () => {
        const [row] = await rawQuery<AuthRow>(
          this.keys.manager.connection,
          `SELECT k.id, k.name, k.prefix, k.scopes, k.expires_at, k.revoked_at,
                  w.id AS workspace_id, w.name AS workspace_name, w.plan, w.rate_limit_per_minute
             FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id
            WHERE k.secret_hash = :hash`,
          { hash },
        );
        return row && toCachedKey(row);
      },
      (found) => !found.revoked,
    );
    if (!key) throw new UnauthorizedError('Invalid API key');
    if (key.revoked) throw new UnauthorizedError('This API key has been revoked');
    if (key.expiresAtMs !== null && key.expiresAtMs <= this.clock.now()) throw new UnauthorizedError('This API key has expired');
    this.lastUsed.touch(key.context.apiKey.id);
    return key.context;
  }

  /**
   * `authenticate` at once for a live key its cache holds (the cache holds no revoked key, and is
   * dropped as `authenticate`'s is); undefined for anything else, which `authenticate` then
   * reads or refuses with its reason.
   */
  authenticateCached(secret: string): AuthContext | undefined {
    if (!isWellFormedSecret(secret)) return undefined;
    const key = this.authCache.peek(hashSecret(secret));
    if (key === undefined || key.revoked || (key.expiresAtMs !== null && key.expiresAtMs <= this.clock.now())) return undefined;
    this.lastUsed.touch(key.context.apiKey.id);
    return key.context;
  }

  toDto(apiKey: ApiKeyEntity): ApiKeyDto {
    const lastUsedAt = this.lastUsed.pendingFor(apiKey.id) ?? apiKey.lastUsedAt;
    return {
      id: apiKey.id,
      name: apiKey.name,
      prefix: apiKey.prefix,
      scopes: apiKey.scopes,
      workspaceId: apiKey.workspaceId,
      createdAt: apiKey.createdAt.toISOString(),
      expiresAt: apiKey.expiresAt?.toISOString() ?? null,
      lastUsedAt: lastUsedAt?.toISOString() ?? null,
      revokedAt: apiKey.revokedAt?.toISOString() ?? null,
    };
  }
}
