import { createHmac } from 'node:crypto';
import type { RequestOptions, TensorifyClient, Transport } from '../transport';
import type { HookAccepted } from './types';

/** How a hook checks a delivery: the trigger's `signature` setting. */
export type WebhookSignatureScheme = 'tensorify' | 'github' | 'none';

/** The methods a hook may take (the trigger's `methods`; POST by default). */
export type HookMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What a delivery sends: a JSON value (sent as `application/json`), or the raw text or bytes of a body. */
export type HookBody = string | Uint8Array | Record<string, unknown> | unknown[] | number | boolean | null;

const encoder = new TextEncoder();

function hmacHex(secret: string, ...parts: (string | Uint8Array)[]): string {
  const hmac = createHmac('sha256', secret);
  for (const part of parts) hmac.update(part);
  return hmac.digest('hex');
}

/**
 * The `Tensorify-Signature` header of a delivery of `body` (its exact bytes) to a hook whose
 * secret is `secret`: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. The server refuses a
 * timestamp more than 300 s from its clock, so sign each delivery when you send it.
 *
 * ```ts
 * const body = JSON.stringify({ id: 42 });
 * await fetch(webhook.url, { method: 'POST', body, headers: { 'Content-Type': 'application/json', 'Tensorify-Signature': signWebhook(webhook.secret, body) } });
 * ```
 */
export function signWebhook(secret: string, body: string | Uint8Array, timestamp: number = Math.floor(Date.now() / 1000)): string {
  if (!Number.isInteger(timestamp) || timestamp < 0) throw new TypeError(`timestamp must be whole unix seconds, got ${timestamp}`);
  return `t=${timestamp},v1=${hmacHex(secret, `${timestamp}.`, body)}`;
}

/** The `X-Hub-Signature-256` header GitHub sends, for a hook whose `signature` is `github`: `sha256=<hex HMAC-SHA256 of the body>`. */
export function signGithubWebhook(secret: string, body: string | Uint8Array): string {
  return `sha256=${hmacHex(secret, body)}`;
}

export interface DeliverOptions extends RequestOptions {
  /** The hook's secret (`webhook.secret` of the save that made it, or of `rotateWebhook`); not needed with `signature: 'none'`. */
  secret?: string;
  /** How to sign: as the trigger's `signature` setting says (default `tensorify`). */
  signature?: WebhookSignatureScheme;
  /** Default POST; it must be one of the trigger's `methods`. A GET carries no body. */
  method?: HookMethod;
  /** The body's Content-Type; default `application/json` for a JSON value, `text/plain; charset=utf-8` for text or bytes. */
  contentType?: string;
  /** An `Idempotency-Key`: a redelivery with the same key (and body) answers the first delivery's execution and runs nothing. */
  idempotencyKey?: string;
  /** The `t` of a `tensorify` signature (unix seconds); default now. */
  timestamp?: number;
  /** Query parameters, handed to the workflow as `trigger.query`. */
  query?: Record<string, string>;
}

/** What a hook answered: the run it started, and its output when the trigger waits for it (`responseMode: 'wait'`). */
export interface HookDelivery {
  /** 200: the run completed within `waitSeconds` and `output` is its output; 202: queued or still running (`ack`, or `wait` past its deadline). */
  httpStatus: 200 | 202;
  /** The execution the delivery started (or, for a redelivery, the first delivery's). */
  executionId: string;
  /** The run's status in a 202 answer (`queued`, `running`…); `completed` for a 200. */
  status: HookAccepted['status'];
  /** The workflow's output (200 only). */
  output?: unknown;
  /** True when the server answered a redelivery of an `idempotencyKey` it had seen (`Idempotency-Replayed`). */
  replayed: boolean;
}

/** `https://host/v1/hooks/hk_…` or `hk_…` → the server root to send to (undefined: the client's) and the hook id. */
function hookTarget(urlOrHookId: string): { baseUrl?: string; hookId: string } {
  if (!/^https?:\/\//i.test(urlOrHookId)) return { hookId: urlOrHookId };
  const url = new URL(urlOrHookId);
  const match = /^(.*)\/v1\/hooks\/([^/]+)\/?$/.exec(url.pathname);
  if (!match) throw new TypeError(`Not a hook URL (…/v1/hooks/<hookId>): ${urlOrHookId}`);
  return { baseUrl: `${url.origin}${match[1]}`, hookId: decodeURIComponent(match[2]) };
}

/**
 * `/v1/hooks/{hookId}`: deliveries to webhook triggers, signed the way the server checks them.
 * Hooks take no API key (the client's is not sent): the signature made with the hook's secret is
 * what proves the sender.
 */
export class Hooks {
  constructor(private readonly transport: Transport) {}

  /**
   * Delivers `body` to a hook (its `url`, or its `hookId` on this client's server), signed with
   * `secret`, and returns the execution it started. A wrong signature throws AuthenticationError
   * (401), an unknown hook NotFoundError, a method the trigger does not take an APIError 405, a
   * failed run of a `wait` hook an APIError 502 whose `details.executionId` names the run.
   */
  async deliver(urlOrHookId: string, body?: HookBody, options: DeliverOptions = {}): Promise<HookDelivery> {
    const { secret, signature = 'tensorify', method = 'POST', contentType, idempotencyKey, timestamp, query, ...request } = options;
    const { baseUrl, hookId } = hookTarget(urlOrHookId);
    if (method === 'GET' && body !== undefined) throw new TypeError('A GET delivery carries no body');
    const raw: string | Uint8Array | undefined =
      body === undefined ? undefined : typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
    const bytes = raw === undefined ? new Uint8Array() : typeof raw === 'string' ? encoder.encode(raw) : raw;
    const headers: Record<string, string | null> = { Authorization: null };
    if (raw !== undefined)
      headers['Content-Type'] = contentType ?? (typeof body === 'string' || body instanceof Uint8Array ? 'text/plain; charset=utf-8' : 'application/json');
    if (idempotencyKey !== undefined) headers['Idempotency-Key'] = idempotencyKey;
    if (signature !== 'none') {
      if (secret === undefined) throw new TypeError(`A "${signature}" signature needs the hook's secret`);
      if (signature === 'tensorify') headers['Tensorify-Signature'] = signWebhook(secret, bytes, timestamp);
      else headers['X-Hub-Signature-256'] = signGithubWebhook(secret, bytes);
    }
    // The five operations take the same parameters and answer alike: typed as the POST one.
    const call = this.transport.raw[method] as TensorifyClient['POST'];
    const { data, response } = await this.transport.send(
      (init) =>
        call('/v1/hooks/{hookId}', {
          ...init,
          baseUrl,
          // The operation declares no query (a hook takes any); openapi-fetch serialises it all the same.
          params: { path: { hookId }, query: query as never },
          // The body goes as the very bytes that were signed, not re-serialised.
          body: raw as never,
          bodySerializer: (value: unknown) => value as string,
          headers: { ...init.headers, ...headers },
        }),
      // A delivery with a key is answered as a replay the second time, so it may be sent again after a lost answer.
      { retryConnectionErrors: idempotencyKey !== undefined },
      request,
    );
    const executionId = response.headers.get('location')?.split('/').pop() ?? (data as HookAccepted | undefined)?.executionId;
    if (executionId === undefined) throw new TypeError(`The hook answered ${response.status} without naming its execution`);
    const replayed = response.headers.get('idempotency-replayed') === 'true';
    if (response.status === 202) return { httpStatus: 202, executionId, status: (data as HookAccepted).status, replayed };
    return { httpStatus: 200, executionId, status: 'completed', output: data, replayed };
  }
}
