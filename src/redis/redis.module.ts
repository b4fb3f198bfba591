import { Inject, Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { ioredis } from './ioredis';

/** The shared Redis connection of the distributed mode, or null in the embedded mode (no TENSORIFY_REDIS_URL). */
export const REDIS = Symbol('REDIS');

/**
 * Redis connections of this process: `client()` for commands, `subscriber()` for pub/sub (a
 * connection in subscribe mode takes no other commands). Made on first use; closed at shutdown.
 * Commands wait while Redis restarts (ioredis reconnects) instead of failing at once.
 */
@Injectable()
export class RedisConnections implements OnApplicationShutdown {
  private readonly logger = new Logger('Redis');
  private readonly made: Redis[] = [];
  private shared?: Redis;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  get enabled(): boolean {
    return this.config.redisUrl !== null;
  }

  /** The command connection, shared by this process. */
  client(): Redis {
    this.shared ??= this.connect('commands');
    return this.shared;
  }

  /** A new connection for one subscriber. */
  subscriber(name: string): Redis {
    return this.connect(name);
  }

  /** QUIT each connection; one that cannot (Redis is down: QUIT would wait for it) is dropped after a second. */
  async onApplicationShutdown(): Promise<void> {
    await Promise.all(
      this.made.map((connection) =>
        Promise.race([connection.quit(), new Promise((resolve) => setTimeout(resolve, 1000).unref())])
          .catch(() => undefined)
          .finally(() => connection.disconnect()),
      ),
    );
  }

  private connect(name: string): Redis {
    if (this.config.redisUrl === null) throw new Error('Redis is not configured (TENSORIFY_REDIS_URL)');
    const connection = new (ioredis().Redis)(this.config.redisUrl, {
      connectionName: `tensorify-${name}`,
      maxRetriesPerRequest: null,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    let down = false;
    connection.on('error', (error) => {
      if (!down) this.logger.warn(`Redis connection "${name}": ${error.message}; reconnecting`);
      down = true;
    });
    connection.on('ready', () => {
      if (down) this.logger.log(`Redis connection "${name}" is back`);
      down = false;
    });
    this.made.push(connection);
    return connection;
  }
}

/** Imported by each module that talks to Redis; one RedisConnections for the whole process. */
@Module({ providers: [RedisConnections], exports: [RedisConnections] })
export class RedisModule {}
