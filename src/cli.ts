import 'reflect-metadata';
import { INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { Command, CommanderError, Option } from 'commander';
import { coreImports } from './app.module';
import { ApiKeysService } from './api-keys/api-keys.service';
import { bootstrapKeyNotice } from './api-keys/bootstrap-banner';
import { BootstrapService, DEFAULT_WORKSPACE_NAME } from './api-keys/bootstrap.service';
import { CreateApiKeyDto } from './api-keys/dto/api-key.dto';
import { Scope, SCOPES } from './auth/scopes';
import { DomainError, ValidationError } from './common/errors';
import { PACKAGE_VERSION } from './common/package-info';
import { describeStartupFailure } from './common/startup-error';
import { AppConfig, ConfigError, loadConfig } from './config/config';
import { readConfigArgument, renderPackageReport, verifyPackage, VerifyUsageError } from './executors/verify';
import { PLANS } from './plans/plans';
import { runServer } from './server';
import { runWorker } from './worker';
import { CreateWorkspaceDto } from './workspaces/dto/workspace.dto';
import { WorkspacesService } from './workspaces/workspaces.service';

const DEFAULT_CLI_SCOPES: Scope[] = ['workflows:read', 'workflows:write', 'executions:read', 'executions:run'];
const LIST_LIMIT = 200;

/** Thrown for a user's mistake: printed as one line, exit code 2. */
class UsageError extends Error {}

function config(): AppConfig {
  const env = { ...process.env };
  if (!env.TENSORIFY_LOG_LEVEL) env.TENSORIFY_LOG_LEVEL = 'warn';
  return loadConfig(env);
}

/** The database-backed services without an HTTP server: the CLI works while the server is stopped (or running). */
async function withServices<T>(work: (app: INestApplicationContext) => Promise<T>): Promise<T> {
  @Module({ imports: coreImports({ config: config(), databaseRetryAttempts: 0 }) })
  class CliModule {}
  const app = await NestFactory.createApplicationContext(CliModule, { logger: ['error', 'warn'], abortOnError: false });
  try {
    process.stderr.write(bootstrapKeyNotice(app.get(BootstrapService).result));
    return await work(app);
  } finally {
    await app.close();
  }
}

async function checked<T extends object>(dto: new () => T, input: object): Promise<T> {
  const instance = plainToInstance(dto, input);
  const errors = await validate(instance, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) {
    const problems = errors.flatMap((e) => Object.values(e.constraints ?? {}));
    throw new UsageError(problems.join('; '));
  }
  return instance;
}

function table(rows: Record<string, unknown>[], columns: string[]): string {
  const cell = (value: unknown): string => {
    if (value === null || value === undefined) return '-';
    if (Array.isArray(value)) return value.join(',');
    return typeof value === 'string' ? value : JSON.stringify(value);
  };
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(columns), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join('\n');
}

function print(json: boolean, value: unknown, human: string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human}\n`);
}

function parseScopes(text: string): Scope[] {
  const scopes = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0) throw new UsageError(`unknown scope(s) ${unknown.join(', ')}; known: ${SCOPES.join(', ')}`);
  return scopes as Scope[];
}

export function buildProgram(): Command {
  const program = new Command('tensorify-server')
    .description('Tensorify Server: store AI/ML workflows, export them as Python, run them on your own machines.')
    .version(PACKAGE_VERSION, '-v, --version')
    .showHelpAfterError()
    .exitOverride();
  addServerCommands(program);
  addKeyCommands(program);
  addWorkspaceCommands(program);
  addPluginCommands(program);
  return program;
}

/** Every item of a paged list, page after page. */
async function listAll<T>(page: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor: string | null }>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const next = await page(cursor);
    items.push(...next.items);
    cursor = next.nextCursor ?? undefined;
  } while (cursor);
  return items;
}

/** `start` (the default) and `worker`. */
function addServerCommands(program: Command): void {
  program
    .command('start', { isDefault: true })
    .description('start the HTTP server (configured by TENSORIFY_* environment variables)')
    .option('--api-only', 'serve the API without running executions (distributed mode: workers run them; same as TENSORIFY_PROCESS_EXECUTIONS=false)')
    .action(async (options: { apiOnly?: boolean }) =>
      runServer(loadConfig(options.apiOnly ? { ...process.env, TENSORIFY_PROCESS_EXECUTIONS: 'false' } : process.env)),
    );

  program
    .command('worker')
    .description('run executions from the Redis queue of the distributed mode, without serving the API (needs TENSORIFY_REDIS_URL)')
    .option('--health-port <port>', 'serve GET /health and GET /metrics on 127.0.0.1 at this port (0 picks one)')
    .option('--health-file <path>', "keep the worker's state in this file, rewritten every 5 s, removed at exit")
    .action(async (options: { healthPort?: string; healthFile?: string }) => {
      const port = options.healthPort === undefined ? undefined : Number(options.healthPort);
      if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535))
        throw new UsageError(`--health-port must be a port number, not "${options.healthPort}"`);
      const config = loadConfig();
      if (config.redisUrl === null)
        throw new UsageError('the worker needs TENSORIFY_REDIS_URL: it takes its jobs from the Redis queue of the distributed mode');
      await runWorker(config, { healthPort: port, healthFile: options.healthFile });
    });
}

/** `keys create|list|revoke`: API keys without the HTTP API. */
function addKeyCommands(program: Command): void {
  const keys = program.command('keys').description('manage API keys without the HTTP API');
  keys
    .command('create')
    .description('create an API key and print its secret (shown only this once)')
    .requiredOption('-n, --name <name>', 'what the key is for')
    .option('-w, --workspace <id-or-name>', 'workspace of the key', DEFAULT_WORKSPACE_NAME)
    .option('-s, --scopes <list>', `comma-separated scopes (${SCOPES.join(', ')})`, DEFAULT_CLI_SCOPES.join(','))
    .option('-e, --expires-at <iso-date>', 'when the key stops working (ISO-8601)')
    .option('--json', 'print JSON')
    .action(async (opts: { name: string; workspace: string; scopes: string; expiresAt?: string; json?: boolean }) => {
      const scopes = parseScopes(opts.scopes);
      const dto = await checked(CreateApiKeyDto, { name: opts.name, scopes, ...(opts.expiresAt ? { expiresAt: opts.expiresAt } : {}) });
      await withServices(async (app) => {
        const workspace = await app.get(WorkspacesService).getByIdOrName(opts.workspace);
        const apiKeys = app.get(ApiKeysService);
        const { apiKey, secret } = await apiKeys.create({
          workspaceId: workspace.id,
          name: dto.name,
          scopes,
          expiresAt: dto.expiresAt ? new Date(dto.expiresAt) : null,
        });
        print(
          !!opts.json,
          { ...apiKeys.toDto(apiKey), key: secret },
          `Created ${apiKey.id} in workspace ${workspace.name} (${workspace.id}) with scopes ${apiKey.scopes.join(',')}.\n` +
            `Secret (shown only this once; store it now):\n\n  ${secret}\n`,
        );
      });
    });
  keys
    .command('list')
    .description('list API keys (never their secrets)')
    .option('-w, --workspace <id-or-name>', 'only the keys of this workspace')
    .option('--json', 'print JSON')
    .action(async (opts: { workspace?: string; json?: boolean }) =>
      withServices(async (app) => {
        const workspaceId = opts.workspace ? (await app.get(WorkspacesService).getByIdOrName(opts.workspace)).id : undefined;
        const apiKeys = app.get(ApiKeysService);
        const rows = (await listAll((cursor) => apiKeys.list(LIST_LIMIT, { workspaceId, cursor }))).map((k) => apiKeys.toDto(k));
        print(
          !!opts.json,
          rows,
          table(rows as unknown as Record<string, unknown>[], ['id', 'prefix', 'name', 'workspaceId', 'scopes', 'expiresAt', 'lastUsedAt', 'revokedAt']),
        );
      }),
    );
  keys
    .command('revoke')
    .description('revoke an API key; it fails from the next request on')
    .argument('<id>', 'the key id (key_…)')
    .action(async (id: string) =>
      withServices(async (app) => {
        const apiKey = await app.get(ApiKeysService).revoke(id);
        process.stdout.write(`Revoked ${apiKey.id} (${apiKey.prefix}…, "${apiKey.name}").\n`);
      }),
    );
}

/** `workspaces create|list`. */
function addWorkspaceCommands(program: Command): void {
  const workspaces = program.command('workspaces').description('manage workspaces without the HTTP API');
  workspaces
    .command('create')
    .description('create a workspace')
    .requiredOption('-n, --name <name>', 'unique name')
    .addOption(new Option('-p, --plan <plan>', 'plan').choices([...PLANS]).default('free'))
    .option('-r, --rate-limit <perMinute>', 'requests per minute (enterprise only)')
    .option('--json', 'print JSON')
    .action(async (opts: { name: string; plan: string; rateLimit?: string; json?: boolean }) => {
      const rateLimitPerMinute = opts.rateLimit === undefined ? undefined : Number(opts.rateLimit);
      const dto = await checked(CreateWorkspaceDto, { name: opts.name, plan: opts.plan, ...(rateLimitPerMinute === undefined ? {} : { rateLimitPerMinute }) });
      await withServices(async (app) => {
        const service = app.get(WorkspacesService);
        const workspace = service.toDto(await service.create(dto));
        print(
          !!opts.json,
          workspace,
          `Created workspace ${workspace.name} (${workspace.id}), plan ${workspace.plan}, ${workspace.rateLimitPerMinute} requests/minute.`,
        );
      });
    });
  workspaces
    .command('list')
    .description('list workspaces')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) =>
      withServices(async (app) => {
        const service = app.get(WorkspacesService);
        const rows = (await listAll((cursor) => service.list(LIST_LIMIT, cursor))).map((w) => service.toDto(w));
        print(!!opts.json, rows, table(rows as unknown as Record<string, unknown>[], ['id', 'name', 'plan', 'rateLimitPerMinute', 'createdAt']));
      }),
    );
}

/** `plugins verify`. */
function addPluginCommands(program: Command): void {
  const plugins = program.command('plugins').description('check executor plugins and node packs');
  plugins
    .command('verify')
    .description('load an executor plugin or a node pack as the server does and report every rule it breaks (exit code 1 when one fails)')
    .argument('<path-or-package>', 'a plugin or pack directory, a .tgz made by npm pack, or the name of a package installed in node_modules')
    .option(
      '-c, --config <json-or-file>',
      "executor plugins: the executor's configuration, as in TENSORIFY_EXECUTORS (keyed by id for a package of several executors): JSON, or a JSON file; default {}",
    )
    .option(
      '--run',
      "also run: an executor plugin's hello program through each executor; a node pack's example of each type through the local executor, in a virtualenv with the pack's requirements (pip install --retries 0)",
    )
    .option('--python <python>', 'node packs: the Python that runs py_compile, pyflakes and black (default python3)')
    .option('--venv-dir <dir>', 'node packs with --run: keep the virtualenvs of the examples here, for the next run (default: a temporary directory)')
    .option('--json', 'print JSON')
    // A missing argument or an unknown option is a usage error: exit code 2, as for the other usage errors of verify.
    .exitOverride((error) => {
      throw error.exitCode === 0 ? error : new CommanderError(2, error.code, error.message);
    })
    .action(async (target: string, opts: { config?: string; run?: boolean; json?: boolean; python?: string; venvDir?: string }) => {
      try {
        const config = opts.config === undefined ? undefined : await readConfigArgument(opts.config);
        const report = await verifyPackage(target, { config, run: !!opts.run, python: opts.python, venvDir: opts.venvDir });
        process.stdout.write(renderPackageReport(report, !!opts.json));
        process.exitCode = report.ok ? 0 : 1;
      } catch (error) {
        throw error instanceof VerifyUsageError ? new UsageError(error.message) : error;
      }
      // The plugin's code ran in this process: a timer or socket it left open must not keep the command alive.
      if (require.main?.filename === module.filename || require.main?.filename.endsWith('tensorify-server.js')) setTimeout(() => process.exit(), 2_000).unref();
    });
}

export async function runCli(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 78;
    }
    if (error instanceof UsageError || error instanceof ValidationError) {
      process.stderr.write(`error: ${error.message}\n`);
      return 2;
    }
    if (error instanceof DomainError) {
      process.stderr.write(`error: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`error: ${describeStartupFailure(error)}\n`);
    return 1;
  }
}

if (require.main === module) {
  void runCli(process.argv).then((code) => {
    if (code !== 0) process.exit(code);
  });
}
