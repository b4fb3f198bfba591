import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const REPOSITORY = resolve(__dirname, '..');
/** The check `npm run lint` runs: dependency-cruiser's import graph, collapsed to src/'s module folders. */
const CHECK = join(REPOSITORY, 'scripts', 'src-layers.mjs');

function checkLayers(root: string): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [CHECK, root], { cwd: REPOSITORY, encoding: 'utf8' });
}

/** A scratch repository holding `files` (path → source) under src/. */
function scratchTree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'tensorify-layers-'));
  for (const [path, source] of Object.entries(files)) {
    mkdirSync(dirname(join(root, 'src', path)), { recursive: true });
    writeFileSync(join(root, 'src', path), source);
  }
  return root;
}

describe('the module folders of src/', () => {
  const scratch: string[] = [];
  afterAll(() => scratch.forEach((root) => rmSync(root, { recursive: true, force: true })));
  function tree(files: Record<string, string>): string {
    scratch.push(scratchTree(files));
    return scratch[scratch.length - 1];
  }

  it('form layers: no two of them depend on each other, directly or around a circle (spec files aside)', () => {
    const result = checkLayers(REPOSITORY);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('the check fails on folders around a circle: a → b → c → a, through a subfolder and a type-only import', () => {
    const root = tree({
      'a/a.service.ts': "import { b } from '../b/b.service';\nexport const a = b + 1;\n",
      'a/model/a.types.ts': 'export interface A { id: string }\n',
      'b/b.service.ts': "import { c } from '../c/deep/c.service';\nexport const b = c + 1;\n",
      'c/deep/c.service.ts': "import type { A } from '../../a/model/a.types';\nexport const c: A['id'] extends string ? number : never = 1;\n",
    });
    const result = checkLayers(root);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('src/a/ → src/b/');
    expect(result.stderr).toContain('src/b/ → src/c/');
    expect(result.stderr).toContain('src/c/ → src/a/');
  });

  it('the check fails on two folders that import each other through different files', () => {
    const root = tree({
      'a/one.ts': "import { two } from '../b/two';\nexport const one = two;\n",
      'a/three.ts': 'export const three = 3;\n',
      'b/two.ts': 'export const two = 2;\n',
      'b/four.ts': "import { three } from '../a/three';\nexport const four = three;\n",
    });
    expect(checkLayers(root).status).toBe(1);
  });

  it('the check passes layers, a folder importing its own subfolders, root files importing every folder, and spec files', () => {
    const root = tree({
      'app.module.ts': "import { a } from './a/a.service';\nimport { b } from './b/b.service';\nexport const app = [a, b];\n",
      'a/a.service.ts': "import { b } from '../b/b.service';\nimport { x } from './sub/x';\nexport const a = b + x;\n",
      'a/sub/x.ts': "import { b } from '../../b/b.service';\nexport const x = b;\n",
      'b/b.service.ts': 'export const b = 1;\n',
      'b/b.service.spec.ts': "import { a } from '../a/a.service';\nexport const checked = a;\n",
    });
    const result = checkLayers(root);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
