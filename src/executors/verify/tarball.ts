import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';

/**
 * Extracts a gzipped tarball (`npm pack`'s `.tgz`) into the directory `into`, as npm installs one:
 * its files and directories, not its links (npm skips hard and symbolic links), nothing outside
 * `into` (an entry whose path is absolute or climbs out with `..` is skipped). Files are readable by
 * all, executable when packed so. Rejects when the file is not a gzipped tarball.
 */
export async function extractTgz(file: string, into: string): Promise<void> {
  const extract = tar.extract();
  const reading = pipeline(createReadStream(file), createGunzip(), extract);
  const writing = (async () => {
    for await (const entry of extract) {
      const { name, type, mode } = entry.header;
      const destination = insideOrUndefined(into, name);
      if (destination === undefined || (type !== 'file' && type !== 'contiguous-file' && type !== 'directory')) {
        entry.resume();
        continue;
      }
      if (type === 'directory') {
        await mkdir(destination, { recursive: true });
        entry.resume();
        continue;
      }
      await mkdir(path.dirname(destination), { recursive: true });
      await pipeline(entry, createWriteStream(destination, { mode: 0o644 | ((mode ?? 0) & 0o111) }));
    }
  })();
  await Promise.all([reading, writing]);
}

/** `name` resolved inside `root`, or undefined when it would leave it. */
function insideOrUndefined(root: string, name: string): string | undefined {
  if (path.isAbsolute(name) || name.split(/[\\/]/).includes('..')) return undefined;
  const resolved = path.resolve(root, name);
  return resolved === root || resolved.startsWith(`${root}${path.sep}`) ? resolved : undefined;
}
