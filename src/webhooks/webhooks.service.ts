import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { Clock, CLOCK } from '../common/clock';
import { ErrorCode, NotFoundError } from '../common/errors';
import { ID_PREFIX, newId, randomBase62 } from '../common/ids';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { NodeCatalog } from '../nodes/node-catalog';
import type { WebhookSecretDto } from '../workflows/dto/workflow.dto';
import type { WorkflowEntity } from '../workflows/workflow.entity';
import { type SaveOrigin, WorkflowLifecycle } from '../workflows/workflow-lifecycle';
import { WorkflowsService } from '../workflows/workflows.service';
import { HookEntity } from './hook.entity';
import { HooksRepository } from './hooks.repository';
import { SecretBox } from './secret-box';
import { type WebhookSettings, webhookSettings } from './webhook-trigger';

/** `whsec_` + 40 base62 characters (about 238 bits). */
const SECRET_LENGTH = 40;

export interface WebhookInfo extends WebhookSettings {
  url: string;
  hookId: string;
}

/**
 * The hooks of webhook-triggered workflows: a workflow saved with a `webhook` trigger gets one (its
 * URL and secret in that save's response, once); a workflow that leaves the trigger, or is
 * deleted, loses it. Saves are idempotent about it: a save that finds the hook missing (an earlier
 * save failed after storing the workflow) creates it then, and so does a rotation.
 */
@Injectable()
export class WebhooksService implements OnModuleInit {
  constructor(
    private readonly hooks: HooksRepository,
    private readonly secrets: SecretBox,
    private readonly workflows: WorkflowsService,
    private readonly lifecycle: WorkflowLifecycle,
    private readonly catalog: NodeCatalog,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.lifecycle.register({
      saved: (workflow, _previous, origin) => this.saved(workflow, origin),
      deleted: (workflow) => this.hooks.deleteByWorkflow(workflow.id),
    });
  }

  /** The absolute URL of a hook: under TENSORIFY_PUBLIC_URL, else under the origin the client used (a bare path when neither is known). */
  url(hookId: string, origin?: SaveOrigin): string {
    return `${this.config.publicUrl ?? origin?.baseUrl ?? ''}/v1/hooks/${hookId}`;
  }

  /** The webhook of a workflow of the workspace, never its secret. */
  async describe(workspaceId: string, workflowId: string, origin: SaveOrigin): Promise<WebhookInfo> {
    const workflow = await this.workflows.get(workspaceId, workflowId);
    const settings = this.settingsOf(workflow);
    const hook = await this.hooks.findByWorkflow(workflow.id);
    if (hook === null) {
      throw new NotFoundError(
        ErrorCode.NOT_FOUND,
        `Workflow ${workflow.id} has a webhook trigger but no hook yet (the save that should have made it failed): POST /v1/workflows/${workflow.id}/webhook/rotate makes one`,
      );
    }
    return { url: this.url(hook.id, origin), hookId: hook.id, ...settings };
  }

  /** A new id and secret for the workflow's hook (the old URL answers 404 at once); makes the hook when it is missing. */
  async rotate(workspaceId: string, workflowId: string, origin: SaveOrigin): Promise<WebhookSecretDto> {
    const workflow = await this.workflows.get(workspaceId, workflowId);
    this.settingsOf(workflow);
    const id = newId(ID_PREFIX.hook);
    const secret = newSecret();
    if (await this.hooks.rotate(workflow.id, id, this.secrets.seal(secret, id))) return { url: this.url(id, origin), hookId: id, secret };
    const created = await this.create(workflow, origin);
    return created ?? this.rotate(workspaceId, workflowId, origin);
  }

  private settingsOf(workflow: WorkflowEntity): WebhookSettings {
    const settings = webhookSettings(workflow, this.catalog);
    if (settings === null) throw new NotFoundError(ErrorCode.NOT_FOUND, `Workflow ${workflow.id} has no webhook: its trigger is not a "webhook" node`);
    return settings;
  }

  private async saved(workflow: WorkflowEntity, origin?: SaveOrigin): Promise<Record<string, unknown> | undefined> {
    if (webhookSettings(workflow, this.catalog) === null) {
      await this.hooks.deleteByWorkflow(workflow.id);
      return undefined;
    }
    if ((await this.hooks.findByWorkflow(workflow.id)) !== null) return undefined;
    const webhook = await this.create(workflow, origin);
    return webhook === null ? undefined : { webhook };
  }

  /** Stores a new hook for the workflow; null when another save stored one first. */
  private async create(workflow: WorkflowEntity, origin?: SaveOrigin): Promise<WebhookSecretDto | null> {
    const id = newId(ID_PREFIX.hook);
    const secret = newSecret();
    const hook = Object.assign(new HookEntity(), {
      id,
      workspaceId: workflow.workspaceId,
      workflowId: workflow.id,
      secret: this.secrets.seal(secret, id),
      createdAt: new Date(this.clock.now()),
    });
    return (await this.hooks.createUnlessExists(hook)) ? { url: this.url(id, origin), hookId: id, secret } : null;
  }
}

function newSecret(): string {
  return `whsec_${randomBase62(SECRET_LENGTH)}`;
}
