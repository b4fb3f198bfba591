import 'reflect-metadata';
import { ConfigError, loadConfig } from './config/config';
import { describeStartupFailure } from './common/startup-error';
import { runServer } from './server';

/** A bad setting stops the process before anything starts, naming every variable that is wrong. */
export function loadConfigOrExit() {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(78);
  }
}

async function main(): Promise<void> {
  await runServer(loadConfigOrExit());
}

main().catch((error: unknown) => {
  process.stderr.write(`Tensorify Server failed to start: ${describeStartupFailure(error)}\n`);
  process.exit(1);
});
