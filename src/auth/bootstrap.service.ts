import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { isUniqueViolation } from '../database/query-helpers';
import { WorkspacesService } from '../workspaces/workspaces.service';
import { ApiKeysService } from './api-keys.service';

export const DEFAULT_WORKSPACE_NAME = 'default';

export interface BootstrapResult {
  workspaceId: string;
  apiKeyId: string;
  /** Set only when the secret was generated here: it must be shown once, then it is gone. */
  generatedSecret: string | null;
}

/**
 * First start on an empty database: creates the `default` workspace (enterprise) and one admin
 * key — the exact TENSORIFY_BOOTSTRAP_API_KEY when set, otherwise a generated one that the
 * caller prints once. Later starts do nothing.
 */
@Injectable()
export class BootstrapService implements OnModuleInit {
  private readonly log = new Logger(BootstrapService.name);
  result: BootstrapResult | null = null;

  constructor(
    private readonly workspaces: WorkspacesService,
    private readonly apiKeys: ApiKeysService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    if ((await this.workspaces.count()) > 0) return;
    let workspace;
    try {
      workspace = await this.workspaces.create({ name: DEFAULT_WORKSPACE_NAME, plan: 'enterprise' });
    } catch (error) {
      if (isUniqueViolation(error) || (error as { code?: string }).code === 'CONFLICT') return; // another process bootstrapped first
      throw error;
    }
    const { apiKey, secret } = await this.apiKeys.create({
      workspaceId: workspace.id,
      name: 'bootstrap admin',
      scopes: ['admin'],
      secret: this.config.bootstrapApiKey ?? undefined,
    });
    this.result = { workspaceId: workspace.id, apiKeyId: apiKey.id, generatedSecret: this.config.bootstrapApiKey ? null : secret };
    this.log.log(
      {
        workspaceId: workspace.id,
        apiKeyId: apiKey.id,
        prefix: apiKey.prefix,
        source: this.config.bootstrapApiKey ? 'TENSORIFY_BOOTSTRAP_API_KEY' : 'generated',
      },
      'Empty database: created the default workspace and its admin key',
    );
  }
}
