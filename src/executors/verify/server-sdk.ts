import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { readPackageJson } from '../plugin-loader';

export const SDK_PACKAGE = '@tensorify/executor-sdk';

export interface ServerSdk {
  /** The real path of its package folder. */
  dir: string;
  version: string;
}

let serverSdkFound: Promise<ServerSdk> | undefined;

/** The folder and version of the SDK this server itself loads (`require.resolve('@tensorify/executor-sdk')`), its real path; found once per process. */
export function serverSdk(): Promise<ServerSdk> {
  serverSdkFound ??= findServerSdk();
  return serverSdkFound;
}

async function findServerSdk(): Promise<ServerSdk> {
  const main = require.resolve(SDK_PACKAGE);
  for (let dir = path.dirname(main); ; dir = path.dirname(dir)) {
    const packageJson = await readPackageJson(dir).catch(() => undefined);
    if (packageJson?.name === SDK_PACKAGE) return { dir: await realpath(dir), version: String(packageJson.version) };
    if (path.dirname(dir) === dir) throw new Error(`no package.json of ${SDK_PACKAGE} above ${main}`);
  }
}
