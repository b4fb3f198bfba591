import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { extractTgz } from './tarball';

/** A .tgz of the given entries, made with tar-stream: entries GNU tar would refuse to write (`..`, absolute names) included. */
async function tgzOf(
  entries: { name: string; type?: 'file' | 'symlink' | 'directory'; content?: string; linkname?: string; mode?: number }[],
): Promise<Buffer> {
  const pack = tar.pack();
  for (const { name, type = 'file', content = '', linkname, mode = 0o644 } of entries) {
    if (type === 'file') pack.entry({ name, mode }, content);
    else pack.entry({ name, type, mode, ...(linkname === undefined ? {} : { linkname }) });
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return gzipSync(Buffer.concat(chunks));
}

describe(extractTgz.name, () => {
  let root: string;

  beforeEach(() => {
    root = realpathSync(mkdtempSync(path.join(tmpdir(), 'tensorify-verify-tarball-')));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('extracts what GNU tar packed, executable bits kept', async () => {
    mkdirSync(path.join(root, 'src', 'package', 'bin'), { recursive: true });
    writeFileSync(path.join(root, 'src', 'package', 'package.json'), '{"name":"x"}');
    writeFileSync(path.join(root, 'src', 'package', 'bin', 'run.js'), '#!/usr/bin/env node\n', { mode: 0o755 });
    execFileSync('tar', ['-czf', path.join(root, 'x.tgz'), '-C', path.join(root, 'src'), 'package']);

    await extractTgz(path.join(root, 'x.tgz'), path.join(root, 'out'));

    expect(readFileSync(path.join(root, 'out', 'package', 'package.json'), 'utf8')).toBe('{"name":"x"}');
    expect(statSync(path.join(root, 'out', 'package', 'bin', 'run.js')).mode & 0o111).not.toBe(0);
    expect(statSync(path.join(root, 'out', 'package', 'package.json')).mode & 0o111).toBe(0);
  });

  it('writes nothing outside the directory and no link, as npm installs a tarball', async () => {
    const outside = path.join(root, 'outside.txt');
    symlinkSync('/etc', path.join(root, 'etc-link'));
    writeFileSync(
      path.join(root, 'evil.tgz'),
      await tgzOf([
        { name: 'package/index.js', content: 'module.exports = 1;' },
        { name: 'package/../../outside.txt', content: 'escaped' },
        { name: outside, content: 'absolute' },
        { name: 'package/etc', type: 'symlink', linkname: '/etc' },
        { name: 'package/lib', type: 'directory', mode: 0o755 },
      ]),
    );

    await extractTgz(path.join(root, 'evil.tgz'), path.join(root, 'out'));

    expect(readdirSync(path.join(root, 'out', 'package')).sort()).toEqual(['index.js', 'lib']);
    expect(readdirSync(root).sort()).toEqual(['etc-link', 'evil.tgz', 'out']);
  });

  it('rejects a file that is not a gzipped tarball', async () => {
    writeFileSync(path.join(root, 'broken.tgz'), 'not gzip');

    await expect(extractTgz(path.join(root, 'broken.tgz'), path.join(root, 'out'))).rejects.toThrow(/incorrect header check/);
  });
});
