import { Logger } from '@nestjs/common';
import { createApp, DOCS_PATH } from './app.factory';
import { BootstrapService } from './api-keys/bootstrap.service';
import { bootstrapKeyNotice } from './api-keys/bootstrap-banner';
import { PACKAGE_VERSION } from './common/package-info';
import { SystemInfoService } from './system/system-info.service';
import { AppConfig, unknownSettingVariables } from './config/config';

/** When the host facts of /v1/system are gathered: after the first requests a fresh server gets (health checks). */
const FACTS_DELAY_AFTER_LISTEN_MS = 1_000;

function localUrl(config: AppConfig, port: number): string {
  const host = ['0.0.0.0', '::', ''].includes(config.host) ? 'localhost' : config.host.includes(':') ? `[${config.host}]` : config.host;
  return `http://${host}:${port}`;
}

/** Starts the HTTP server on the configured host and port and says where Swagger UI is. */
export async function runServer(config: AppConfig): Promise<void> {
  const app = await createApp({ config });
  const log = new Logger('Server');
  for (const name of unknownSettingVariables()) log.warn(`${name} is not a setting of this server (typo?); it is ignored`);

  await app.listen(config.port, config.host);
  // Not before: systeminformation's probes and parsing would delay the boot and the first requests.
  app.get(SystemInfoService).gatherInBackground(FACTS_DELAY_AFTER_LISTEN_MS);
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = localUrl(config, port);
  log.log({ port, host: config.host, database: config.database.type }, 'Server started');

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.log({ signal }, 'Shutting down: finishing requests, flushing state');
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'Shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);

  const database = config.database.type === 'sqlite' ? `SQLite ${config.database.path}` : 'PostgreSQL';
  process.stderr.write(
    `\nTensorify Server ${PACKAGE_VERSION} listening on ${config.host}:${port}\n` +
      `  Swagger UI  ${url}/${DOCS_PATH}\n` +
      `  API         ${url}/v1\n` +
      `  Database    ${database}\n` +
      `  Mode        ${config.redisUrl === null ? 'embedded (executions run in this process)' : `distributed (Redis queue; ${config.processExecutions ? 'this instance also runs executions' : 'API only: workers run executions'})`}\n` +
      bootstrapKeyNotice(app.get(BootstrapService).result, url),
  );
}
