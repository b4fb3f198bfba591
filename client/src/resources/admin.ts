import { Paginator } from '../pagination';
import type { RequestOptions, Transport } from '../transport';
import type { ApiKey, ApiKeyListParams, CreateApiKey, CreatedApiKey, CreateWorkspace, ListParams, SigningSecret, UpdateWorkspace, Workspace } from './types';

/** `/v1/workspaces` (an `admin` key): teams, each with its plan and rate limit. */
export class Workspaces {
  constructor(private readonly transport: Transport) {}

  async create(body: CreateWorkspace, options?: RequestOptions): Promise<Workspace> {
    const { data } = await this.transport.send(
      (init) => this.transport.raw.POST('/v1/workspaces', { ...init, body }),
      { retryConnectionErrors: false },
      options,
    );
    return data;
  }

  /** Every workspace of the server, following `nextCursor`. */
  list(params: ListParams = {}, options?: RequestOptions): Paginator<Workspace> {
    return new Paginator(async (cursor) => {
      const { data } = await this.transport.send(
        (init) => this.transport.raw.GET('/v1/workspaces', { ...init, params: { query: { limit: params.limit, cursor: cursor ?? params.cursor } } }),
        { retryConnectionErrors: true },
        options,
      );
      return { items: data.workspaces, nextCursor: data.nextCursor };
    });
  }

  async get(id: string, options?: RequestOptions): Promise<Workspace> {
    const { data } = await this.transport.send(
      (init) => this.transport.raw.GET('/v1/workspaces/{id}', { ...init, params: { path: { id } } }),
      { retryConnectionErrors: true },
      options,
    );
    return data;
  }

  /** Changes a workspace's name, plan or rate limit. */
  async update(id: string, body: UpdateWorkspace, options?: RequestOptions): Promise<Workspace> {
    const { data } = await this.transport.send(
      (init) => this.transport.raw.PATCH('/v1/workspaces/{id}', { ...init, params: { path: { id } }, body }),
      { retryConnectionErrors: false },
      options,
    );
    return data;
  }

  /** A new secret for signing the workspace's completion callbacks, shown this once; the old one stops at once. */
  async rotateSigningSecret(id: string, options?: RequestOptions): Promise<SigningSecret> {
    const { data } = await this.transport.send(
      (init) => this.transport.raw.POST('/v1/workspaces/{id}/signing-secret/rotate', { ...init, params: { path: { id } } }),
      { retryConnectionErrors: false },
      options,
    );
    return data;
  }
}

/** `/v1/api-keys` (an `admin` key). */
export class ApiKeys {
  constructor(private readonly transport: Transport) {}

  /** A new key; its secret (`key`) is in this answer only. A key never grants a scope the caller lacks. */
  async create(body: CreateApiKey, options?: RequestOptions): Promise<CreatedApiKey> {
    const { data } = await this.transport.send((init) => this.transport.raw.POST('/v1/api-keys', { ...init, body }), { retryConnectionErrors: false }, options);
    return data;
  }

  /** The keys (never their secrets), following `nextCursor`; `workspaceId` narrows to one workspace. */
  list(params: ApiKeyListParams = {}, options?: RequestOptions): Paginator<ApiKey> {
    return new Paginator(async (cursor) => {
      const { data } = await this.transport.send(
        (init) => this.transport.raw.GET('/v1/api-keys', { ...init, params: { query: { ...params, cursor: cursor ?? params.cursor } } }),
        { retryConnectionErrors: true },
        options,
      );
      return { items: data.apiKeys, nextCursor: data.nextCursor };
    });
  }

  /** Revokes a key: it fails from the next request on. */
  async revoke(id: string, options?: RequestOptions): Promise<void> {
    await this.transport.send(
      (init) => this.transport.raw.DELETE('/v1/api-keys/{id}', { ...init, params: { path: { id } } }),
      { retryConnectionErrors: false },
      options,
    );
  }
}
