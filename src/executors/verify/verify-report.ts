import { EXECUTOR_API_VERSION, type PluginLogger } from '@tensorify/executor-sdk';
import { type Check, type CheckStatus, isTopRule, RULES, type RuleId } from './checks';

/** What `tensorify-server plugins verify` found: `--json` prints it as is, else {@link formatReport} renders it. */
export interface VerifyReport {
  /** The argument, as given. */
  target: string;
  /**
   * How it was read: a package directory, a packed tarball (extracted to a temporary directory, or
   * installed there with npm when it has dependencies to install), or a package installed in node_modules.
   */
  kind: 'directory' | 'tarball' | 'package';
  /** The package directory checked (for a tarball, the temporary directory it was extracted or installed to, removed afterwards). */
  packagePath: string;
  packageName: string | null;
  packageVersion: string | null;
  /** The executor API this server speaks. */
  executorApiVersion: number;
  /** No rule failed: the server would load every executor of the package with this configuration. */
  ok: boolean;
  counts: Record<CheckStatus, number>;
  checks: Check[];
  /** What the plugin logged through `host.logger` while it was checked. */
  logs: PluginLog[];
}

export interface PluginLog {
  executor: string;
  level: keyof PluginLogger;
  message: string;
}

/** The exit code of `plugins verify` for a report: 0 when the server would load the plugin, 1 when a rule failed (a usage error gives no report: 2). */
export function reportExitCode(report: VerifyReport): 0 | 1 {
  return report.ok ? 0 : 1;
}

/** The report of `checks`: the package's rules first, then each executor's, each in the order of {@link RULES}; counted. */
export function buildReport(
  read: Pick<VerifyReport, 'target' | 'kind' | 'packagePath'>,
  packageJson: Record<string, unknown> | undefined,
  checks: Check[],
  logs: PluginLog[],
): VerifyReport {
  const order = Object.keys(RULES) as RuleId[];
  const executorOrder = [...new Set(checks.map((check) => check.executor))];
  const group = (check: Check) => (isTopRule(check) ? -1 : executorOrder.indexOf(check.executor));
  checks.sort((a, b) => group(a) - group(b) || order.indexOf(a.rule) - order.indexOf(b.rule));
  const counts: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const check of checks) counts[check.status] += 1;
  return {
    target: read.target,
    kind: read.kind,
    packagePath: read.packagePath,
    packageName: typeof packageJson?.name === 'string' ? packageJson.name : null,
    packageVersion: typeof packageJson?.version === 'string' ? packageJson.version : null,
    executorApiVersion: EXECUTOR_API_VERSION,
    ok: counts.fail === 0,
    counts,
    checks,
    logs,
  };
}

/** The report as the command prints it: JSON with `--json`, else the checklist of {@link formatReport}; one trailing newline. */
export function renderReport(report: VerifyReport, json: boolean): string {
  return `${json ? JSON.stringify(report, null, 2) : formatReport(report)}\n`;
}

const MARKS: Record<CheckStatus, string> = { pass: 'pass', warn: 'WARN', fail: 'FAIL', skip: 'skip' };

/** The report as a checklist: the package's rules, then each executor's. */
export function formatReport(report: VerifyReport): string {
  const width = Math.max(...Object.values(RULES).map((title) => title.length));
  const line = (check: Check) => `  ${MARKS[check.status]}  ${RULES[check.rule].padEnd(width)}  ${check.message}`;
  const name = report.packageName ? `${report.packageName}${report.packageVersion ? ` ${report.packageVersion}` : ''}` : report.target;
  const npm = report.checks.some((check) => check.rule === 'dependencies' && (check.details as { installer?: unknown } | undefined)?.installer === 'npm');
  const from = report.kind === 'tarball' ? ` (${npm ? 'installed with npm' : 'extracted'} from ${report.target})` : '';
  const lines = [`Plugin ${name} at ${report.packagePath}${from}, against executor API ${report.executorApiVersion}`, ''];
  lines.push(...report.checks.filter(isTopRule).map(line));
  const groups = new Map<string | undefined, Check[]>();
  for (const check of report.checks.filter((check) => !isTopRule(check))) {
    groups.set(check.executor, [...(groups.get(check.executor) ?? []), check]);
  }
  for (const [executor, checks] of groups) {
    lines.push('', executor === undefined ? 'Executors' : `Executor "${executor}"`, ...checks.map(line));
    const noisy = report.logs.filter((log) => log.executor === executor && (log.level === 'warn' || log.level === 'error'));
    for (const log of noisy) lines.push(`        ${log.level}: ${log.message}`);
  }
  const { pass, warn, fail, skip } = report.counts;
  const verdict = report.ok ? 'the server would load this plugin' : 'the server would not load this plugin';
  lines.push('', `${pass} passed, ${warn} warning${warn === 1 ? '' : 's'}, ${fail} failed, ${skip} skipped: ${verdict}.`);
  return lines.join('\n');
}
