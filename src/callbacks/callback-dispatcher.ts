import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Clock, CLOCK } from '../common/clock';
import { guardedLookup, outboundUrlProblem } from '../common/outbound-url';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { ExecutionEvents } from '../executions/execution-events';
import { executionView } from '../executions/execution-view';
import { ExecutionsService } from '../executions/executions.service';
import { tensorifySignature } from '../webhooks/hook-signature';
import type { CallbackDeliveryEntity } from './callback.entity';
import { CallbackEvents, type CallbackOutcome } from './callback-events';
import { CallbacksRepository } from './callbacks.repository';
import { SigningSecrets } from './signing-secrets';

/** A receiver has this long to answer (connect, send, status line). */
export const CALLBACK_TIMEOUT_MS = 10_000;
/** The first retry comes this long after the first failure; each later one waits twice as long as the one before… */
export const FIRST_RETRY_MS = 5_000;
/** …up to this. */
export const MAX_RETRY_MS = 60 * 60 * 1000;
/** No retry is scheduled later than this after the execution ended: the delivery is then `failed`. */
export const RETRY_WINDOW_MS = 24 * 60 * 60 * 1000;
/** A process holds a delivery this long (well past the timeout); if it dies, another takes it after. */
const LEASE_MS = 60_000;
/** How often each process looks for due deliveries (also right after an execution ends here). */
const POLL_MS = 500;
const BATCH = 20;

/** When the next try comes after `attempts` failed ones, or null past the 24-hour window. */
export function nextAttemptAt(createdAt: Date, attempts: number, now: Date): Date | null {
  const delay = Math.min(FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1), MAX_RETRY_MS);
  const next = now.getTime() + delay;
  return next > createdAt.getTime() + RETRY_WINDOW_MS ? null : new Date(next);
}

interface AttemptResult {
  statusCode: number | null;
  error: string | null;
  refused: boolean;
}

/**
 * Delivers completion callbacks from the outbox (`callback_deliveries`), in every process: a due
 * delivery is claimed with a conditional UPDATE (a lease), POSTed, signed with the workspace's
 * secret, and then marked delivered, or left for a retry with exponential backoff. A process that
 * dies mid-delivery leaves a lease that expires; a restart finds the row still `pending`. So
 * every callback is sent at least once, and never twice at the same time.
 */
@Injectable()
export class CallbackDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger(CallbackDispatcher.name);
  private timer?: NodeJS.Timeout;
  private pass: Promise<void> = Promise.resolve();
  private running = false;
  private again = false;
  private stopped = false;
  private unsubscribe?: () => void;

  constructor(
    private readonly repository: CallbacksRepository,
    private readonly executions: ExecutionsService,
    private readonly secrets: SigningSecrets,
    private readonly events: CallbackEvents,
    private readonly executionEvents: ExecutionEvents,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.unsubscribe = this.executionEvents.on('finished', () => this.poke());
    this.timer = setInterval(() => this.poke(), POLL_MS);
    this.timer.unref();
    this.poke();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.unsubscribe?.();
    await this.pass;
  }

  /** Starts a pass now, or right after the one running. */
  poke(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.pass = this.deliverDue()
      .catch((error: unknown) => this.log.warn(`Callback pass failed: ${(error as Error).message}`))
      .finally(() => {
        this.running = false;
        if (this.again) {
          this.again = false;
          this.poke();
        }
      });
  }

  /** Delivers what is due by the clock (tests call it after moving a fake clock). */
  async deliverDue(): Promise<void> {
    const now = new Date(this.clock.now());
    const due = await this.repository.findDue(now, BATCH);
    await Promise.all(due.map((executionId) => this.deliverOne(executionId, now)));
  }

  private async deliverOne(executionId: string, now: Date): Promise<void> {
    const lease = new Date(now.getTime() + LEASE_MS);
    const delivery = await this.repository.claim(executionId, now, lease);
    if (delivery === null) return;
    const startedAt = new Date(this.clock.now());
    const started = performance.now();
    let result: AttemptResult;
    try {
      result = await this.send(delivery);
    } catch (error) {
      result = { statusCode: null, error: (error as Error).message, refused: false };
    }
    const delivered = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
    await this.repository.recordAttempt({
      executionId,
      attempt: delivery.attempts,
      startedAt,
      durationMs: Math.round(performance.now() - started),
      statusCode: result.statusCode,
      error: delivered ? null : (result.error ?? `The receiver answered ${result.statusCode}`),
      outcome: delivered ? 'delivered' : 'failed',
    });
    const end = new Date(this.clock.now());
    let outcome: CallbackOutcome;
    if (delivered) {
      await this.repository.complete(executionId, 'delivered', end, lease);
      outcome = 'delivered';
    } else {
      const next = nextAttemptAt(delivery.createdAt, delivery.attempts, end);
      if (next === null) {
        await this.repository.complete(executionId, 'failed', end, lease);
        this.log.warn(`Gave up the callback of ${executionId} after ${delivery.attempts} attempts over 24 hours`);
        outcome = 'failed';
      } else {
        await this.repository.retryAt(executionId, next, lease);
        outcome = result.refused ? 'refused' : 'retrying';
      }
    }
    this.events.attempted(outcome);
  }

  /** One POST; no redirect is followed (Node's client follows none), and a 3xx counts as a failure. */
  private async send(delivery: CallbackDeliveryEntity): Promise<AttemptResult> {
    const allowPrivate = this.config.callbackAllowPrivate;
    // Checked again now (the name may resolve elsewhere than at execute), and at connect time by the lookup.
    const problem = await outboundUrlProblem(delivery.url, allowPrivate);
    if (problem !== null) return { statusCode: null, error: `callbackUrl ${problem}`, refused: true };
    const execution = await this.executions.get(delivery.workspaceId, delivery.executionId);
    const body = JSON.stringify({ type: 'execution.finished', execution: executionView(execution, await this.executions.attempts(execution)) });
    const t = Math.floor(this.clock.now() / 1000);
    const signature = tensorifySignature(await this.secrets.current(delivery.workspaceId), body, t);
    const url = new URL(delivery.url);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<AttemptResult>((resolve) => {
      const req = send(
        url,
        {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            'Content-Length': Buffer.byteLength(body),
            'User-Agent': 'tensorify-server',
            'Tensorify-Signature': signature,
            'Tensorify-Event': 'execution.finished',
            'Tensorify-Delivery': delivery.executionId,
          },
          lookup: allowPrivate ? undefined : guardedLookup,
          // A fresh connection each time: a pooled keep-alive socket would skip the lookup's check.
          agent: false,
          signal: AbortSignal.timeout(CALLBACK_TIMEOUT_MS),
        },
        (res: IncomingMessage) => {
          res.resume();
          resolve({ statusCode: res.statusCode ?? null, error: null, refused: false });
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) => {
        const timedOut = error.name === 'AbortError' || error.name === 'TimeoutError';
        resolve({
          statusCode: null,
          error: timedOut ? `No answer within ${CALLBACK_TIMEOUT_MS / 1000} s` : error.message,
          refused: error.code === 'EADDRNOTALLOWED',
        });
      });
      req.end(body);
    });
  }
}
