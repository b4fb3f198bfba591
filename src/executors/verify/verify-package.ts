import { isNodePackManifest, NODE_PACK_FIELD } from '../../nodes/node-pack-loader';
import { readPackageJson } from '../plugin-loader';
import { formatNodePackReport, type NodePackReport, type NodePackVerifyOptions, verifyResolvedNodePack } from './node-pack-verify';
import { verifyResolvedPlugin } from './verify-plugin';
import type { VerifyOptions } from './verify-options';
import { renderReport, type VerifyReport } from './verify-report';
import { withTarget } from './verify-target';

/** The report of an executor plugin or of a node pack. */
export type PackageReport = VerifyReport | NodePackReport;

/**
 * `tensorify-server plugins verify`: finds the package `target` names (a directory, a `.tgz` made
 * by npm pack, or an installed package's name) and checks it as what its manifest says it is: a
 * node pack (`nodeApiVersion` and no executors), else an executor plugin. Throws
 * {@link VerifyUsageError} when `target` names nothing to check.
 */
export async function verifyPackage(target: string, options: VerifyOptions & NodePackVerifyOptions = {}): Promise<PackageReport> {
  return withTarget(target, options.cwd ?? process.cwd(), async (resolved) => {
    const packageJson = await readPackageJson(resolved.packagePath).catch(() => undefined);
    return packageJson !== undefined && isNodePackOnly(packageJson)
      ? verifyResolvedNodePack(target, resolved, options)
      : verifyResolvedPlugin(target, resolved, options);
  });
}

function isNodePackOnly(packageJson: Record<string, unknown>): boolean {
  return isNodePackManifest(packageJson) && !('executorApiVersion' in (packageJson[NODE_PACK_FIELD] as object));
}

/** The report as the command prints it: JSON with `--json`, else its checklist; one trailing newline. */
export function renderPackageReport(report: PackageReport, json: boolean): string {
  if (report.kind !== 'node-pack') return renderReport(report, json);
  return `${json ? JSON.stringify(report, null, 2) : formatNodePackReport(report)}\n`;
}
