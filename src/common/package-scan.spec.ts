import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { installedPackagesWithField } from './package-scan';

describe('package scan', () => {
  let nodeModules: string;

  beforeEach(async () => {
    nodeModules = await mkdtemp(path.join(tmpdir(), 'package-scan-'));
  });
  afterEach(() => rm(nodeModules, { recursive: true, force: true }));

  async function writePackage(name: string, packageJson: string): Promise<string> {
    const folder = path.join(nodeModules, name);
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, 'package.json'), packageJson);
    return folder;
  }

  it('keeps exactly the packages whose package.json is an object with the field, top level first, then each scope', async () => {
    const plain = await writePackage('b-plugin', JSON.stringify({ name: 'b-plugin', tensorify: { executorApiVersion: 1 } }));
    const scoped = await writePackage('@acme/pack', JSON.stringify({ name: '@acme/pack', tensorify: { nodeApiVersion: 1 } }));
    const nullField = await writePackage('a-null', '{"name":"a-null","tensorify":null}');
    // The key spelled with an escape: the text holds no quoted "tensorify", and the package must still be found.
    const escaped = await writePackage('c-escaped', '{"name":"c-escaped","\\u0074ensorify":{"executorApiVersion":1}}');
    await writePackage('d-other', JSON.stringify({ name: 'd-other', keywords: ['tensorify'] }));
    await writePackage('e-mention', JSON.stringify({ name: 'e-mention', description: 'a "tensorify" thing' }));
    await writePackage('f-broken', '{"tensorify": ');
    await writePackage('g-array', '["tensorify"]');
    await writePackage('.h-hidden', JSON.stringify({ tensorify: {} }));
    await mkdir(path.join(nodeModules, 'i-no-package-json'));

    const found = await installedPackagesWithField(nodeModules, 'tensorify');

    expect(found.map((entry) => entry.folder)).toEqual([nullField, plain, escaped, scoped]);
    expect(found[2].packageJson).toEqual({ name: 'c-escaped', tensorify: { executorApiVersion: 1 } });
  });

  it('finds nothing in a folder that does not exist', async () => {
    expect(await installedPackagesWithField(path.join(nodeModules, 'missing'), 'tensorify')).toEqual([]);
  });
});
