import type { components, operations } from '../../schema';

type Schemas = components['schemas'];

/** A workflow as stored: its graph, `version` (for `ifMatch`) and timestamps. */
export type Workflow = Schemas['WorkflowDto'];
/**
 * What `workflows.create` and `workflows.update` answer: the stored workflow and, only in the save
 * that gave it a hook (its trigger became `webhook`), `webhook: { url, hookId, secret }`. The
 * secret is shown this once: keep it.
 */
export type SavedWorkflow = Schemas['SavedWorkflowDto'];
/** A hook's URL, id and secret (`SavedWorkflow.webhook`, `workflows.rotateWebhook`). */
export type WebhookSecret = Schemas['WebhookSecretDto'];
/** A workflow's hook as `workflows.webhook` shows it: URL and trigger settings, never the secret. */
export type Webhook = Schemas['WebhookDto'];
/** A hook's 202 answer: `{ executionId, status }`. */
export type HookAccepted = Schemas['HookAcceptedDto'];
/** A schedule trigger's state: cron, time zone, `paused`, the next 5 fire times, the last run. */
export type Schedule = Schemas['ScheduleDto'];
/** What started an execution: `{ type: 'api' }`, `{ type: 'webhook', hookId }` or `{ type: 'schedule', fireTime }`. */
export type ExecutionTrigger = Schemas['ExecutionTriggerDto'];
/** `api`, `webhook` or `schedule`: the `trigger` filter of `executions.list`. */
export type TriggerType = ExecutionTrigger['type'];
/** What creates or replaces a workflow: `name`, `nodes`, `edges`, `description?`. */
export type WorkflowBody = Schemas['WorkflowBodyDto'];
/** A workflow as a list shows it. */
export type WorkflowSummary = Schemas['WorkflowSummaryDto'];
/** `workflows.validate`'s report: `{ valid, errors: { nodes, graph } }`. */
export type ValidationReport = Schemas['ValidationReportDto'];
/** The three files of an export: `main.py`, `utils.py`, `requirements.txt`. */
export type GeneratedFiles = Schemas['GeneratedFilesDto'];
/** The files an execution ran, by name. */
export type ExecutionFiles = Schemas['ExecutionFilesDto']['files'];
/** What `workflows.execute` answers: `{ executionId, status }`. */
export type ExecuteResponse = Schemas['ExecuteResponseDto'];
/** A run of a workflow: status, logs, output, error, exit code… */
export type Execution = Schemas['ExecutionDto'];
/** An execution as a list shows it. */
export type ExecutionSummary = Schemas['ExecutionSummaryDto'];
/** `queued`, `running`, `completed`, `failed`, `cancelled` or `timed_out`. */
export type ExecutionStatus = Execution['status'];
/** A node type of the catalogue. */
export type NodeType = Schemas['NodeTypeDto'];
/** A node pack: the built-in types or an npm package of node types, with its types and `loadError`. */
export type NodePack = Schemas['NodePackDto'];
/** An executor plugin the server loaded (or failed to load: `loadError`). */
export type Executor = Schemas['ExecutorDto'];
/** Facts about the server's host: CPU, memory, GPUs, Python. */
export type SystemFacts = Schemas['SystemDto'];
/** `GET /health`. */
export type Health = Schemas['HealthDto'];
/** `GET /health/ready` when ready. */
export type Readiness = Schemas['ReadinessDto'];
/** `GET /v1/me`: the key's workspace and the key itself. */
export type Me = Schemas['MeDto'];
export type Workspace = Schemas['WorkspaceDto'];
export type CreateWorkspace = Schemas['CreateWorkspaceDto'];
export type UpdateWorkspace = Schemas['UpdateWorkspaceDto'];
export type ApiKey = Schemas['ApiKeyDto'];
/** A new key: its secret `key` is shown this once. */
export type CreatedApiKey = Schemas['CreatedApiKeyDto'];
export type CreateApiKey = Schemas['CreateApiKeyDto'];
/** A workspace's new signing secret (for the `Tensorify-Signature` of completion callbacks), shown this once. */
export type SigningSecret = Schemas['SigningSecretDto'];
/** The completion callback of an execution: its delivery and every attempt. */
export type ExecutionCallbacks = Schemas['ExecutionCallbacksDto'];

/** The options of a run: `inputs`, `gpu`, `timeoutSeconds`, `executor`, `callbackUrl`. */
export type ExecuteBody = Schemas['ExecuteDto'];

/** The list's page size and starting cursor. */
export interface ListParams {
  /** Items per page (1–200; the server's default is 50). */
  limit?: number;
  /** Start from this `nextCursor` of an earlier page. */
  cursor?: string;
}
export type ExecutionListParams = ListParams & Omit<NonNullable<operations['ExecutionsController_list']['parameters']['query']>, 'limit' | 'cursor'>;
export type ApiKeyListParams = ListParams & Omit<NonNullable<operations['ApiKeysController_list']['parameters']['query']>, 'limit' | 'cursor'>;
