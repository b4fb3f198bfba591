import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import type Redis from 'ioredis';
import { RedisConnections } from '../redis/redis.module';

const LOGS_PREFIX = 'tensorify:logs:';
const CANCEL_CHANNEL = 'tensorify:cancel';

/**
 * Messages about running executions between the processes of a deployment: live log lines and
 * the end of a run (for SSE readers on any API instance), and cancel requests (for the worker
 * holding the run). In the embedded mode they stay in this process; with Redis they go through
 * its pub/sub, this process included, so there is one path either way.
 */
@Injectable()
export class ExecutionBus implements OnApplicationShutdown {
  private readonly logger = new Logger('ExecutionBus');
  private readonly local = new EventEmitter().setMaxListeners(0);
  /** Channels this process listens to, with how many local listeners each has. */
  private readonly listening = new Map<string, { count: number; ready: Promise<unknown> }>();
  private subscriber?: Redis;

  constructor(private readonly redis: RedisConnections) {}

  /** Through Redis (the distributed mode), or within this process. */
  private get distributed(): boolean {
    return this.redis.enabled;
  }

  publish(executionId: string, message: unknown): void {
    this.send(LOGS_PREFIX + executionId, message);
  }

  /** Calls `listener` with each message about the execution; `ready` resolves once messages published from then on will arrive. */
  subscribe(executionId: string, listener: (message: unknown) => void): { unsubscribe: () => void; ready: Promise<unknown> } {
    return this.listen(LOGS_PREFIX + executionId, listener);
  }

  requestCancel(executionId: string): void {
    this.send(CANCEL_CHANNEL, executionId);
  }

  onCancel(listener: (executionId: string) => void): { unsubscribe: () => void; ready: Promise<unknown> } {
    return this.listen(CANCEL_CHANNEL, (message) => listener(String(message)));
  }

  onApplicationShutdown(): void {
    this.local.removeAllListeners();
    this.listening.clear();
  }

  private send(channel: string, message: unknown): void {
    if (!this.distributed) {
      this.local.emit(channel, message);
      return;
    }
    this.redis
      .client()
      .publish(channel, JSON.stringify(message))
      .catch((error: Error) => this.logger.warn(`Could not publish on ${channel}: ${error.message}`));
  }

  private listen(channel: string, listener: (message: unknown) => void): { unsubscribe: () => void; ready: Promise<unknown> } {
    this.local.on(channel, listener);
    let ready: Promise<unknown> = Promise.resolve();
    if (this.distributed) {
      const entry = this.listening.get(channel);
      if (entry) {
        entry.count++;
        ready = entry.ready;
      } else {
        ready = this.connection()
          .subscribe(channel)
          .catch((error: Error) => this.logger.warn(`Could not subscribe to ${channel}: ${error.message}`));
        this.listening.set(channel, { count: 1, ready });
      }
    }
    let done = false;
    const unsubscribe = () => {
      if (done) return;
      done = true;
      this.local.off(channel, listener);
      const entry = this.listening.get(channel);
      if (entry && --entry.count === 0) {
        this.listening.delete(channel);
        this.subscriber?.unsubscribe(channel).catch(() => undefined);
      }
    };
    return { unsubscribe, ready };
  }

  private connection(): Redis {
    if (this.subscriber === undefined) {
      this.subscriber = this.redis.subscriber('bus');
      this.subscriber.on('message', (channel: string, text: string) => {
        try {
          this.local.emit(channel, JSON.parse(text));
        } catch {
          this.logger.warn(`A message on ${channel} is not JSON; dropped`);
        }
      });
    }
    return this.subscriber;
  }
}
