import type { ExecutorDefinition } from '@tensorify/executor-sdk';
import path from 'node:path';
import { entryFileProblem, exportedDefinition, requireEntry } from '../../plugin-loader';
import type { Add } from '../checks';
import type { Target } from '../verify-target';

/**
 * An executor's entry rules (entry-exists, entry-loads, exports-definition), as the loader steps
 * through them: the definition it exports, or the reason to skip the executor's other rules.
 */
export async function checkEntry(entry: string, target: Target, add: Add): Promise<{ definition: Partial<ExecutorDefinition> } | { skip: string }> {
  const missing = await entryFileProblem(target.packagePath, entry);
  if (missing !== undefined) {
    add('entry-exists', 'fail', missing);
    return { skip: `entry ${entry} does not exist` };
  }
  add('entry-exists', 'pass', entry);

  const required = requireEntry(target.packagePath, entry);
  if ('problem' in required) {
    add('entry-loads', 'fail', `${required.problem}${missingModuleHint(required.problem, target)}`);
    return { skip: `entry ${entry} did not load` };
  }
  add('entry-loads', 'pass', `required ${entry}`);

  const exported = exportedDefinition(required.module, entry);
  if ('problem' in exported) {
    add('exports-definition', 'fail', exported.problem);
    return { skip: `entry ${entry} exports no definition` };
  }
  add('exports-definition', 'pass', exported.exportName === 'default' ? 'the default export' : 'the export named "executor"');
  return { definition: exported.definition };
}

/**
 * Why a tarball's entry cannot find a module, when the tarball is to blame: a file of its own that
 * was not packed, or a package it requires without declaring it (npm installs only what it declares).
 */
function missingModuleHint(problem: string, target: Target): string {
  const missing = /Cannot find module '([^']+)'/.exec(problem)?.[1];
  if (target.kind !== 'tarball' || missing === undefined) return '';
  // Node names the file that required it first: only a require of the plugin's own code is the plugin's fault.
  const from = /Require stack:\s*\n- (.+)/.exec(problem)?.[1]?.trim();
  const own = (file: string | undefined) =>
    file === undefined ||
    (!path.relative(target.packagePath, file).startsWith('..') && !file.includes(`${path.sep}node_modules${path.sep}`, target.packagePath.length));
  if (!own(from)) return '';
  if (missing.startsWith('.') || path.isAbsolute(missing)) {
    return ' (the tarball lacks that file: is it in "files" of package.json, and was the plugin built before npm pack?)';
  }
  const name = missing
    .split('/')
    .slice(0, missing.startsWith('@') ? 2 : 1)
    .join('/');
  const dependencies = target.dependencies ?? { declared: [], skippedScripts: [] };
  if (!dependencies.declared.includes(name)) {
    return ` (${name} is not in the "dependencies" of package.json: a tarball is verified as npm installs it, with only the dependencies it declares)`;
  }
  const scripts = dependencies.skippedScripts.length > 0 ? `; install scripts were not run: ${dependencies.skippedScripts.join(', ')}` : '';
  return ` (${name} is declared, but was not installed as a module Node can load: see the "dependencies" rule${scripts})`;
}
