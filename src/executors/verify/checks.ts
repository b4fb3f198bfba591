/**
 * The rules of `tensorify-server plugins verify`, in the order the report lists them, and the
 * check each one gives. Rules that cannot be checked because an earlier one failed are skipped, as
 * the server would skip them.
 */

/** `skip`: not checked, because a rule it depends on failed (or, for `run`, because `--run` was not given). */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export const RULES = {
  'package-json': 'package.json',
  'manifest-field': 'manifest field',
  'executor-api-version': 'executorApiVersion',
  manifest: 'manifest',
  keyword: 'npm keyword',
  main: 'main',
  'sdk-version': 'SDK version',
  dependencies: 'dependencies',
  'entry-exists': 'entry exists',
  'entry-loads': 'entry loads',
  'exports-definition': 'exports a definition',
  id: 'id',
  'display-name': 'displayName',
  version: 'version',
  'create-function': 'create',
  'config-schema': 'configSchema',
  config: 'configuration',
  create: 'create()',
  capabilities: 'capabilities()',
  run: 'run() hello',
  close: 'close()',
} as const;
export type RuleId = keyof typeof RULES;

export const PACKAGE_RULES: RuleId[] = ['package-json', 'manifest-field', 'executor-api-version', 'manifest', 'keyword', 'main', 'sdk-version'];
/** The package's rules as the report lists them: `dependencies` is checked for a tarball only (a directory is verified with the node_modules it has). */
export const TOP_RULES: RuleId[] = [...PACKAGE_RULES, 'dependencies'];
export const EXECUTOR_RULES: RuleId[] = [
  'entry-exists',
  'entry-loads',
  'exports-definition',
  'id',
  'display-name',
  'version',
  'create-function',
  'config-schema',
  'config',
  'create',
  'capabilities',
  'run',
  'close',
];

export interface Check {
  rule: RuleId;
  /** The executor id the rule was checked for; absent for the package's rules (and for executor rules skipped before any id was readable). */
  executor?: string;
  status: CheckStatus;
  /** One line: what was found, or why the rule failed. A failure's message is the server's `loadError` for it. */
  message: string;
  /** What the check saw: the configuration with its defaults, the capabilities, the run's result. */
  details?: unknown;
}

/** Records the check of one rule (for the package, or for the executor the function was made for). */
export type Add = (rule: RuleId, status: CheckStatus, message: string, details?: unknown) => void;

/** An {@link Add} that appends to `checks`, for `executor` (undefined: the package's rules). */
export function adder(checks: Check[], executor?: string): Add {
  return (rule, status, message, details) =>
    checks.push({ rule, ...(executor === undefined ? {} : { executor }), status, message, ...(details === undefined ? {} : { details }) });
}

/** Whether a check is one of the package's rules (listed first, before the executors'). */
export const isTopRule = (check: Check): boolean => check.executor === undefined && TOP_RULES.includes(check.rule);

/** Adds a `skip` for each of `rules` not yet reported (for `executor`). */
export function skipRest(checks: Check[], rules: RuleId[], reason: string, executor?: string): void {
  for (const rule of rules) {
    if (!checks.some((check) => check.rule === rule && check.executor === executor)) {
      checks.push({ rule, ...(executor === undefined ? {} : { executor }), status: 'skip', message: `not checked: ${reason}` });
    }
  }
}
