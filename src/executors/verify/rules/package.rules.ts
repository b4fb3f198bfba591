import { EXECUTOR_API_VERSION, MANIFEST_FIELD, PLUGIN_KEYWORD, type PluginManifest } from '@tensorify/executor-sdk';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import semver from 'semver';
import { apiVersionProblem, type Candidate, manifestShapeProblem, notAPluginProblem, readableIds, readPackageJson } from '../../plugin-loader';
import { type Add, adder, type Check, PACKAGE_RULES, skipRest } from '../checks';
import { SDK_PACKAGE, serverSdk } from '../server-sdk';

/** The executors a package lists, to be checked (an id and entry each; `{}` when none is readable), and the reason to skip them all. */
export interface ListedExecutors {
  list: { id?: string; entry?: string }[];
  skip?: string;
}

/**
 * The package's rules (package-json, manifest-field, executor-api-version, manifest, keyword, main,
 * sdk-version), with the loader's own steps: nothing of a manifest for another executor API is
 * trusted or required.
 */
export async function checkPackage(candidate: Candidate, packagePath: string, checks: Check[]): Promise<ListedExecutors> {
  const add = adder(checks);
  const stop = (reason: string): ListedExecutors => {
    skipRest(checks, PACKAGE_RULES, reason);
    return { list: [{}], skip: reason };
  };

  if (candidate.problem !== undefined || candidate.packageJson === undefined) {
    add('package-json', 'fail', candidate.problem ?? 'package.json cannot be read');
    return stop('package.json cannot be read');
  }
  const packageJson = candidate.packageJson;
  add('package-json', 'pass', `${candidate.packageName}${typeof packageJson.version === 'string' ? `@${packageJson.version}` : ''}`);
  checkKeyword(packageJson, add);
  await checkMain(packageJson, packagePath, add);
  await checkSdkVersion(packageJson, packagePath, add);

  const notPlugin = notAPluginProblem(packageJson);
  if (notPlugin !== undefined) {
    add('manifest-field', 'fail', notPlugin);
    return stop(`package.json has no "${MANIFEST_FIELD}" field`);
  }
  add('manifest-field', 'pass', `"${MANIFEST_FIELD}" is present`);
  const manifest = packageJson[MANIFEST_FIELD];
  const ids = readableIds(manifest).map((id) => ({ id }));

  const declared = (manifest as { executorApiVersion?: unknown } | null)?.executorApiVersion;
  const versionProblem = apiVersionProblem(manifest);
  if (versionProblem !== undefined) {
    add('executor-api-version', 'fail', versionProblem);
    skipRest(checks, PACKAGE_RULES, `the manifest is for executor API ${String(declared)}: nothing else of it is trusted`);
    return { list: ids.length > 0 ? ids : [{}], skip: `the manifest is for executor API ${String(declared)}: no code of it is loaded` };
  }
  if (declared === EXECUTOR_API_VERSION) add('executor-api-version', 'pass', `${EXECUTOR_API_VERSION}, the version this server speaks`);
  else
    add(
      'executor-api-version',
      'fail',
      `executorApiVersion is ${declared === undefined ? 'missing' : JSON.stringify(declared)}: it must be ${EXECUTOR_API_VERSION}, the version this server speaks`,
    );

  const shapeProblem = manifestShapeProblem(manifest);
  if (shapeProblem !== undefined) {
    add('manifest', 'fail', shapeProblem);
    return { list: ids.length > 0 ? ids : [{}], skip: 'the manifest is invalid' };
  }
  const listed = (manifest as PluginManifest).executors;
  add('manifest', 'pass', listed.map(({ id, entry }) => `${id} → ${entry}`).join(', '));
  return { list: listed };
}

function checkKeyword(packageJson: Record<string, unknown>, add: Add): void {
  const keywords = packageJson.keywords;
  if (Array.isArray(keywords) && keywords.includes(PLUGIN_KEYWORD)) add('keyword', 'pass', `"keywords" has "${PLUGIN_KEYWORD}"`);
  else add('keyword', 'warn', `"keywords" lacks "${PLUGIN_KEYWORD}": the server loads it, but npm search will not list it as an executor plugin`);
}

/** `main` is not what the server loads (it loads the manifest's entries), but a `main` that is missing breaks `require('<package>')`. */
async function checkMain(packageJson: Record<string, unknown>, packagePath: string, add: Add): Promise<void> {
  const main = packageJson.main;
  if (main === undefined) {
    add('main', 'pass', 'no "main": the server loads the manifest\'s entries');
    return;
  }
  if (typeof main !== 'string' || main === '') {
    add('main', 'warn', `"main" is ${JSON.stringify(main)}, not a path`);
    return;
  }
  const base = path.resolve(packagePath, main);
  const candidates = [base, `${base}.js`, `${base}.json`, `${base}.node`, path.join(base, 'index.js')];
  const exists = await Promise.all(
    candidates.map((file) =>
      stat(file).then(
        (stats) => stats.isFile(),
        () => false,
      ),
    ),
  );
  if (exists.some(Boolean)) add('main', 'pass', `${main} exists`);
  else
    add('main', 'warn', `"main" ${main} does not exist (is the package built?): the server loads the manifest's entries, but require() of the package fails`);
}

/**
 * The SDK a plugin gets is its own bundled copy, or else the server's: a declared range that the
 * server's SDK does not satisfy means the plugin may use what this server's SDK lacks (a helper
 * newer than it), which would fail only when that code runs.
 */
async function checkSdkVersion(packageJson: Record<string, unknown>, packagePath: string, add: Add): Promise<void> {
  const fields = ['dependencies', 'peerDependencies', 'optionalDependencies'] as const;
  const declaredIn = fields.find((field) => typeof (packageJson[field] as Record<string, unknown> | undefined)?.[SDK_PACKAGE] === 'string');
  if (declaredIn === undefined) {
    add('sdk-version', 'pass', `${SDK_PACKAGE} is not declared: an entry that requires it gets the server's copy`);
    return;
  }
  const spec = (packageJson[declaredIn] as Record<string, string>)[SDK_PACKAGE];
  const bundled = await readPackageJson(path.join(packagePath, 'node_modules', ...SDK_PACKAGE.split('/'))).catch(() => undefined);
  if (bundled !== undefined) {
    add('sdk-version', 'pass', `its own copy of ${SDK_PACKAGE} (${String(bundled.version)}) is bundled in the package`);
    return;
  }
  const server = await serverSdk();
  const range = semver.validRange(spec);
  if (range === null) {
    // file:, link:, git or a URL: what it names is the author's build-time copy; installed beside the server, the server's is used.
    add('sdk-version', 'pass', `${SDK_PACKAGE} "${spec}" is not a version range: the server's copy (${server.version}) is used unless the SDK is bundled`);
  } else if (semver.satisfies(server.version, range, { includePrerelease: true })) {
    add('sdk-version', 'pass', `${SDK_PACKAGE} ${spec}, which this server's copy (${server.version}) satisfies`);
  } else {
    add(
      'sdk-version',
      'warn',
      `${SDK_PACKAGE} ${spec} (in "${declaredIn}"), but this server's copy is ${server.version} and the package bundles none: ` +
        `what it uses from a newer SDK is missing here. Bundle the SDK ("bundleDependencies"), or declare a range that ${server.version} satisfies`,
    );
  }
}
