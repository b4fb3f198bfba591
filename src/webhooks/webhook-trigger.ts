import type { NodeCatalog } from '../nodes/node-catalog';
import type { WorkflowEntity } from '../workflows/workflow.entity';
import type { SignatureScheme } from './hook-signature';

/** The node type that makes a workflow webhook-triggered (codegen-templates/nodes/webhook). */
export const WEBHOOK_NODE_TYPE = 'webhook';

export type ResponseMode = 'ack' | 'wait';

/** The settings of a workflow's webhook trigger, its type's defaults filled in. */
export interface WebhookSettings {
  methods: string[];
  signature: SignatureScheme;
  responseMode: ResponseMode;
  waitSeconds: number;
}

/**
 * The settings of the workflow's trigger when it is a `webhook` node (pinned or not), else null.
 * Read from the stored workflow at each use, so an edit of the settings takes effect at once and
 * the hook row holds only what the workflow cannot (its id and secret).
 */
export function webhookSettings(workflow: Pick<WorkflowEntity, 'nodes'>, catalog: NodeCatalog): WebhookSettings | null {
  for (const node of workflow.nodes) {
    const definition = catalog.resolve(node.type);
    if (definition?.trigger !== true) continue;
    if (definition.type !== WEBHOOK_NODE_TYPE) return null;
    return { ...definition.defaults, ...(node.settings ?? {}) } as unknown as WebhookSettings;
  }
  return null;
}
