import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiKeyAuthenticator } from '../auth/api-key.authenticator';
import { WorkspaceRateLimiter } from '../auth/workspace-rate.limiter';
import { Clock, CLOCK } from '../common/clock';
import { DomainError, ErrorCode, ExecutionFailedError, MethodNotAllowedError, NotFoundError, ValidationError } from '../common/errors';
import { ID_PREFIX, looksLikeId } from '../common/ids';
import { findJsonProblem, MAX_JSON_DEPTH, RawBody } from '../common/json-body';
import type { HeaderSink } from '../plans/rate-limit-headers';
import { TERMINAL_STATUSES } from '../executions/execution.entity';
import { ExecutionsService } from '../executions/executions.service';
import type { ExecutionRecord } from '../executions/executions.repository';
import { NodeCatalog } from '../nodes/node-catalog';
import type { WorkflowEntity } from '../workflows/workflow.entity';
import { WorkflowsService } from '../workflows/workflows.service';
import { signatureProblem, SIGNATURE_HEADERS } from './hook-signature';
import { type DeliverableHook, HooksRepository } from './hooks.repository';
import { SecretBox } from './secret-box';
import type { DeliveryOutcome } from './webhook-events';
import { type WebhookSettings, webhookSettings } from './webhook-trigger';

/** Headers never passed to the workflow: the signatures (GitHub also sends the older SHA-1 one). */
const LEFT_OUT_HEADERS = new Set([SIGNATURE_HEADERS.tensorify, SIGNATURE_HEADERS.github, 'x-hub-signature']);

/** A delivery key (`Idempotency-Key` or `X-GitHub-Delivery`): printable ASCII, short enough to fit the executions' key column with its prefix. */
const DELIVERY_KEY = /^[\x21-\x7e][\x20-\x7e]{0,199}$/;

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** The trigger's output, the execution's inputs: the request as the workflow sees it. */
export interface HookRequest {
  body: unknown;
  headers: Record<string, string | string[]>;
  query: Record<string, unknown>;
  method: string;
  path: string;
}

/**
 * A delivery as HookDeliveries reads it, whoever received it: Fastify's request (HookDeliveries.answer)
 * or the delivery edge, which reads it before Fastify (delivery-edge.ts).
 */
export interface Delivery {
  method: string;
  /** The path and query string, as received. */
  url: string;
  headers: IncomingHttpHeaders;
  query: Record<string, unknown>;
  /** The client IP, whose failed signatures are counted. */
  ip: string;
  /** The body as received (undefined when there was none). */
  body: RawBody | undefined;
}

/** The outcome of a delivery refused (or ended) with `status`, for those whose outcome no answer told. */
const OUTCOME_OF_STATUS: Record<number, DeliveryOutcome> = {
  401: 'unauthorized',
  404: 'not_found',
  405: 'method_not_allowed',
  429: 'rate_limited',
  502: 'failed',
};

/** How a delivery answered with `status` ended: the `answered` outcome when it succeeded, else what the status tells. */
export function deliveryOutcome(status: number, answered: DeliveryOutcome | undefined): DeliveryOutcome {
  if (answered !== undefined && status < 300) return answered;
  return OUTCOME_OF_STATUS[status] ?? (status >= 500 ? 'error' : status >= 400 ? 'invalid' : 'accepted');
}

/** What the hook route answers: a status and a JSON text, with headers. */
export interface DeliveryAnswer {
  status: 200 | 202;
  json: string;
  headers: Record<string, string>;
  outcome: DeliveryOutcome;
}

/** 401 for a delivery whose signature is missing or wrong (no `WWW-Authenticate`: no API key would help). */
class SignatureRefusedError extends DomainError {
  readonly status = 401;
  constructor(message: string) {
    super(ErrorCode.UNAUTHORIZED, message);
  }
}

/**
 * A delivery to `/v1/hooks/:hookId`, in this order: the client IP's failure limit; the hook (404;
 * not counted as a failure: a hook id's 95 random bits cannot be guessed, and a scanner costs one
 * indexed read); the workflow still webhook-triggered (404); the method (405); the signature
 * (401, counted as a failure of the IP, as a bad API key is); the
 * workspace's plan rate limit (429, only for signed deliveries, so a stranger cannot spend it);
 * the request's shape (400); then the execution, de-duplicated on the delivery key, and the
 * answer its response mode asks for.
 */
@Injectable()
export class HookDeliveries {
  /** The outcome of each delivery the handler answered itself (errors are told by their status). */
  private readonly outcomes = new WeakMap<FastifyRequest, DeliveryOutcome>();
  /** The opened secret of each cached hook (HooksRepository gives a new object whenever a hook changes): one AES-GCM open per hook, not per delivery. */
  private readonly openedSecrets = new WeakMap<DeliverableHook, string>();

  constructor(
    private readonly hooks: HooksRepository,
    private readonly secrets: SecretBox,
    private readonly workflows: WorkflowsService,
    private readonly executions: ExecutionsService,
    private readonly catalog: NodeCatalog,
    private readonly authenticator: ApiKeyAuthenticator,
    private readonly rateLimiter: WorkspaceRateLimiter,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * The route's answer, whoever serves it (HooksController, or serveDeliveriesDirectly): delivers,
   * sets the status and headers on `reply`, and returns the body, a JSON text. Refusals are thrown.
   */
  async answer(hookId: string, request: FastifyRequest, reply: FastifyReply): Promise<string> {
    const body = request.body instanceof RawBody ? request.body : undefined;
    const delivery: Delivery = {
      method: request.method,
      url: request.url,
      headers: request.headers,
      query: request.query as Record<string, unknown>,
      ip: request.ip,
      body,
    };
    const answer = await this.deliver(hookId, delivery, reply);
    this.outcomes.set(request, answer.outcome);
    reply.status(answer.status).headers(answer.headers).type('application/json; charset=utf-8');
    return answer.json;
  }

  /** Delivers `request`, the rate-limit headers of its workspace given to `sink`: the answer, or the refusal thrown. */
  async deliver(hookId: string, request: Delivery, sink: HeaderSink): Promise<DeliveryAnswer> {
    // The client IP's block is read with the workspace's count, in one operation of the counter
    // store (one round trip to Redis, not two); a delivery refused before that reads it first, so
    // that a blocked client's 429 still comes before any other answer.
    const { hook, workflow, settings, secret } = await this.deliverable(hookId, request).catch(async (error: unknown) => {
      await this.authenticator.refuseBlockedClient(request);
      throw error;
    });
    const body = request.body;
    const bytes = body?.bytes ?? Buffer.alloc(0);
    const problem = signatureProblem(settings.signature, request.headers[signatureHeader(settings)], bytes, secret, this.clock.now());
    if (problem !== null) {
      await this.authenticator.refuseBlockedClient(request);
      await this.authenticator.countFailure(request);
      throw new SignatureRefusedError(problem);
    }
    await this.rateLimiter.count(hook, sink, this.authenticator.blockedClientCounter(request));
    const deliveryKey = this.deliveryKey(request);
    const inputs = await this.hookRequest(request, body);
    const { execution, replayed } = await this.executions.execute(
      hook.workspace,
      workflow.id,
      { inputs: inputs as unknown as Record<string, unknown>, trigger: { type: 'webhook', hookId: hook.id } },
      deliveryKey === undefined ? undefined : `hook:${hook.id}:${deliveryKey}`,
      // What makes a redelivery the same delivery (only needed with a key).
      deliveryKey === undefined ? undefined : createHash('sha256').update(`${request.method}\n`).update(bytes).digest('hex'),
    );
    const headers: Record<string, string> = { Location: `/v1/executions/${execution.id}`, ...(replayed ? { 'Idempotency-Replayed': 'true' } : {}) };
    if (settings.responseMode === 'ack') return this.accepted(execution, headers, replayed ? 'duplicate' : 'accepted');
    const ended = TERMINAL_STATUSES.has(execution.status)
      ? execution
      : await this.executions.awaitEnd(hook.workspace.id, execution.id, settings.waitSeconds * 1000);
    if (ended.status === 'completed') {
      return { status: 200, json: JSON.stringify(ended.output ?? null), headers, outcome: replayed ? 'duplicate' : 'completed' };
    }
    if (TERMINAL_STATUSES.has(ended.status)) {
      throw new ExecutionFailedError(
        `The workflow's execution ${ended.id} ended ${ended.status}${ended.errorCode ? ` (${ended.errorCode})` : ''}; GET /v1/executions/${ended.id} tells more`,
        {
          executionId: ended.id,
          status: ended.status,
          errorCode: ended.errorCode,
        },
      );
    }
    return this.accepted(ended, headers, replayed ? 'duplicate' : 'pending');
  }

  /** The hook, its workflow, its settings and its secret ('' when unsigned), when it takes `request`'s method; else the refusal thrown. */
  private async deliverable(
    hookId: string,
    request: Delivery,
  ): Promise<{ hook: DeliverableHook; workflow: WorkflowEntity; settings: WebhookSettings; secret: string }> {
    const hook = looksLikeId(ID_PREFIX.hook, hookId) ? await this.hooks.findDeliverable(hookId) : null;
    const workflow = hook === null ? null : await this.workflowOf(hook.workspace.id, hook.workflowId);
    const settings = workflow === null ? null : webhookSettings(workflow, this.catalog);
    if (hook === null || workflow === null || settings === null) {
      throw new NotFoundError(ErrorCode.NOT_FOUND, `No hook ${hookId}: it never existed, was rotated, or its workflow was deleted or changed its trigger`);
    }
    if (!settings.methods.includes(request.method)) {
      throw new MethodNotAllowedError(`This hook takes ${settings.methods.join(', ')}, not ${request.method}`, settings.methods);
    }
    return { hook, workflow, settings, secret: settings.signature === 'none' ? '' : this.secretOf(hook) };
  }

  private secretOf(hook: DeliverableHook): string {
    let secret = this.openedSecrets.get(hook);
    if (secret === undefined) {
      secret = this.secrets.open(hook.secret, hook.id);
      this.openedSecrets.set(hook, secret);
    }
    return secret;
  }

  /** How the delivery `request` ended, once answered with `status`. */
  outcomeOf(request: FastifyRequest, status: number): DeliveryOutcome {
    return deliveryOutcome(status, this.outcomes.get(request));
  }

  private accepted(execution: ExecutionRecord, headers: Record<string, string>, outcome: DeliveryOutcome): DeliveryAnswer {
    return { status: 202, json: JSON.stringify({ executionId: execution.id, status: execution.status }), headers, outcome };
  }

  /** The stored workflow of the hook, or null when it is gone. */
  private async workflowOf(workspaceId: string, workflowId: string): Promise<WorkflowEntity | null> {
    try {
      return await this.workflows.get(workspaceId, workflowId);
    } catch (error) {
      if (error instanceof NotFoundError) return null;
      throw error;
    }
  }

  private deliveryKey(request: Delivery): string | undefined {
    for (const name of ['idempotency-key', 'x-github-delivery']) {
      const value = request.headers[name];
      if (value === undefined) continue;
      if (typeof value !== 'string' || !DELIVERY_KEY.test(value)) {
        throw new ValidationError(`${name} must be 1 to 200 printable ASCII characters`, { [name]: ['must be 1 to 200 printable ASCII characters'] });
      }
      return value;
    }
    return undefined;
  }

  /** `{body, headers, query, method, path}`: JSON bodies parsed, others as text, header names lower-case (as Node gives them), the signature headers left out. */
  private async hookRequest(request: Delivery, body: RawBody | undefined): Promise<HookRequest> {
    let parsed: unknown = null;
    /** Whether the body may hold what the walk below refuses (a JSON body was walked by its parser). */
    let walkBody = false;
    if (body !== undefined && body.bytes.length > 0) {
      const text = body.text();
      const json = JSON_TYPE.test(String(request.headers['content-type'] ?? ''));
      parsed = json ? ((await body.json(text)) ?? null) : text;
      // The parser of a JSON body has walked it and refused NUL characters, lone surrogates and
      // nesting deeper than MAX_JSON_DEPTH; under `body`, one level down, the walk below would also
      // refuse a body one level shallower, which holds at least MAX_JSON_DEPTH opening brackets.
      walkBody = !json || bracketsReach(text, MAX_JSON_DEPTH - 1);
    }
    const headers: Record<string, string | string[]> = {};
    for (const name in request.headers) {
      const value = request.headers[name];
      if (value !== undefined && !LEFT_OUT_HEADERS.has(name)) headers[name] = value;
    }
    const rest = { headers, query: { ...request.query }, method: request.method, path: request.url.split('?')[0] };
    // The same as walking the whole request (the body, its first key, is walked last), the body's walk skipped when its parser's told all.
    const problem = findJsonProblem(rest) ?? (walkBody ? findJsonProblem({ body: parsed }) : null);
    if (problem)
      throw new ValidationError(`The request's ${problem.path} ${problem.problem}: it cannot be stored as the execution's inputs`, {
        [problem.path]: [problem.problem],
      });
    return { body: parsed, ...rest };
  }
}

/** Whether `text` holds at least `count` opening brackets (`{` or `[`): what a JSON value nested `count` deep needs. */
function bracketsReach(text: string, count: number): boolean {
  let seen = 0;
  for (let i = 0; i < text.length && seen < count; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x7b || code === 0x5b) seen++;
  }
  return seen >= count;
}

function signatureHeader(settings: WebhookSettings): string {
  return settings.signature === 'none' ? '' : SIGNATURE_HEADERS[settings.signature];
}
