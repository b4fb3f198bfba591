import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Clock, CLOCK } from '../common/clock';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { ApiKeyEntity } from './api-key.entity';

/**
 * Remembers when each key was last used and writes it in batches (every
 * `lastUsedFlushSeconds`, and on shutdown) instead of one database write per request.
 */
@Injectable()
export class LastUsedTracker implements OnModuleInit, OnApplicationShutdown {
  private readonly log = new Logger(LastUsedTracker.name);
  /** Epoch milliseconds by key id, a number rather than a Date: `touch` runs on every request. */
  private pending = new Map<string, number>();
  private timer?: NodeJS.Timeout;

  constructor(
    @InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), this.config.lastUsedFlushSeconds * 1000);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  touch(keyId: string): void {
    this.pending.set(keyId, this.clock.now());
  }

  /** The not-yet-written time of a key, so reads are current before the next flush. */
  pendingFor(keyId: string): Date | undefined {
    const at = this.pending.get(keyId);
    return at === undefined ? undefined : new Date(at);
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      // One statement per key, no transaction: on SQLite a transaction would span other requests' statements.
      for (const [id, at] of batch) await this.keys.update({ id }, { lastUsedAt: new Date(at) });
    } catch (error) {
      for (const [id, at] of batch) if (!this.pending.has(id)) this.pending.set(id, at);
      this.log.warn({ err: error }, "Could not record API keys' last use; will retry");
    }
  }
}
