import { Injectable } from '@nestjs/common';
import type { WorkflowEntity } from './workflow.entity';

/**
 * What a module above `workflows` (webhooks, schedules) does when a workflow is stored or deleted,
 * without `workflows` importing it: the module registers a listener at start.
 */
/** Where the save came from, for what a listener builds from it (absolute URLs in the response). */
export interface SaveOrigin {
  /** `scheme://host[:port]` the client used (see requestOrigin). */
  baseUrl: string;
}

export interface WorkflowListener {
  /**
   * After a workflow was stored: `previous` is the version it replaced, or null for a new one. What
   * it returns is merged into the create or replace response (e.g. `{ webhook: {…} }`), once.
   */
  saved?(workflow: WorkflowEntity, previous: WorkflowEntity | null, origin?: SaveOrigin): Promise<Record<string, unknown> | undefined>;
  /** After a workflow was deleted. */
  deleted?(workflow: WorkflowEntity): Promise<void>;
}

/** The listeners to workflow saves and deletes, called in the order they registered. */
@Injectable()
export class WorkflowLifecycle {
  private readonly listeners: WorkflowListener[] = [];

  register(listener: WorkflowListener): void {
    this.listeners.push(listener);
  }

  /** Runs every listener's `saved`; the fields they return, for the response. */
  async saved(workflow: WorkflowEntity, previous: WorkflowEntity | null, origin?: SaveOrigin): Promise<Record<string, unknown>> {
    const extras: Record<string, unknown> = {};
    for (const listener of this.listeners) Object.assign(extras, await listener.saved?.(workflow, previous, origin));
    return extras;
  }

  async deleted(workflow: WorkflowEntity): Promise<void> {
    for (const listener of this.listeners) await listener.deleted?.(workflow);
  }
}
