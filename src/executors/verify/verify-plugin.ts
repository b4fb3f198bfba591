import type { ExecutorDefinition, PluginLogger } from '@tensorify/executor-sdk';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { executorLogger, findConfigured } from '../plugin-loader';
import { adder, type Check, EXECUTOR_RULES, skipRest } from './checks';
import { checkDefinitionFields } from './rules/definition.rules';
import { checkDependencies } from './rules/dependencies.rules';
import { checkEntry } from './rules/entry.rules';
import { checkInstance } from './rules/instance.rules';
import { checkPackage } from './rules/package.rules';
import { buildReport, type PluginLog, type VerifyReport } from './verify-report';
import type { VerifyOptions } from './verify-options';
import { type Target, withTarget } from './verify-target';

/**
 * `tensorify-server plugins verify`: checks one executor plugin package with the loader's own
 * steps (plugin-loader.ts), but reports every rule instead of stopping at the first problem. A
 * plugin with no failed rule is one the server loads with the same configuration; warnings are
 * rules the server does not enforce (the npm keyword, `main`, the unhealthy answer of a backend
 * that is down). Rules that cannot be checked because an earlier one failed are skipped, as the
 * server would skip them: nothing of a manifest for another executor API is trusted or required,
 * and `create()` is never called for a definition the server refuses.
 *
 * A packed tarball is checked as it would be once installed: extracted to a temporary directory,
 * and, when it declares dependencies that are not bundled in it, installed there with `npm
 * install` (rule `dependencies`), the SDK always resolving to the server's own copy. A directory
 * or an installed package is checked with the node_modules it has.
 *
 * Throws {@link VerifyUsageError} only when `target` (a directory, a `.tgz`, or an installed
 * package's name) names nothing to check; a broken plugin gives a report with failed rules.
 */
export async function verifyPlugin(target: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  return withTarget(target, options.cwd ?? process.cwd(), (resolved) => verifyResolvedPlugin(target, resolved, options));
}

/** {@link verifyPlugin} of a target already found (and unpacked); the caller cleans it up. */
export async function verifyResolvedPlugin(target: string, resolved: Target, options: VerifyOptions = {}): Promise<VerifyReport> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'tensorify-verify-data-'));
  const checks: Check[] = [];
  const logs: PluginLog[] = [];
  let packageJson: Record<string, unknown> | undefined;
  try {
    const candidate = await findConfigured(resolved.packagePath, []);
    packageJson = candidate.packageJson;
    const executors = await checkPackage(candidate, resolved.packagePath, checks);
    if (resolved.kind === 'tarball') {
      if (executors.skip !== undefined) checks.push({ rule: 'dependencies', status: 'skip', message: `not checked: ${executors.skip}` });
      else executors.skip = await checkDependencies(resolved, packageJson!, options, checks);
    }
    for (const { id, entry } of executors.list) {
      if (executors.skip !== undefined) {
        skipRest(checks, EXECUTOR_RULES, executors.skip, id);
        continue;
      }
      const config = executors.list.length > 1 ? (options.config as Record<string, unknown> | undefined)?.[id!] : options.config;
      const logger = executorLogger(recordingLogger(logs), id!);
      await checkExecutor(id!, entry!, resolved, packageJson!, config ?? {}, path.join(dataDir, 'executors', id!), logger, options, checks);
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true }).catch(() => undefined);
  }
  return buildReport({ target, kind: resolved.kind, packagePath: resolved.packagePath }, packageJson, checks, logs);
}

/** One executor's rules, family by family: each stops at the first family that fails, the rest skipped. */
async function checkExecutor(
  id: string,
  entry: string,
  target: Target,
  packageJson: Record<string, unknown>,
  givenConfig: unknown,
  dataDir: string,
  logger: PluginLogger,
  options: VerifyOptions,
  checks: Check[],
): Promise<void> {
  const add = adder(checks, id);
  const loaded = await checkEntry(entry, target, add);
  if ('skip' in loaded) return skipRest(checks, EXECUTOR_RULES, loaded.skip, id);
  const configured = checkDefinitionFields(loaded.definition, id, packageJson, givenConfig, add);
  if ('skip' in configured) return skipRest(checks, EXECUTOR_RULES, configured.skip, id);
  await checkInstance(loaded.definition as ExecutorDefinition, configured.config, dataDir, logger, options, add);
}

function recordingLogger(logs: PluginLog[]): PluginLogger {
  const record = (level: keyof PluginLogger) => (message: string, details?: Record<string, unknown>) =>
    logs.push({ executor: typeof details?.executor === 'string' ? details.executor : '', level, message }); // executorLogger sets it to the id
  return { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
}
