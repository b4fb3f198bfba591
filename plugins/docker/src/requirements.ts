import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';

/** What goes into a derived image, and so into its hash. */
export interface VenvRecipe {
  /** The base image's id (`sha256:…`), not its name: a re-pulled tag gives a new hash. */
  baseImageId: string;
  python: string;
  requirements: readonly string[];
  pipArgs: readonly string[];
  /** The files of `pipFindLinksDir` (name and content hash), when configured. */
  findLinks: readonly LocalFile[];
}

/** The derived image's hash: the base image id, the interpreter, the normalised requirements, pip's arguments and the local packages. */
export function recipeHash(recipe: VenvRecipe): string {
  const text = JSON.stringify([
    recipe.baseImageId,
    recipe.python,
    recipe.requirements,
    recipe.pipArgs,
    recipe.findLinks.map((file) => [file.name, file.sha256]),
  ]);
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

/** A file of the find-links directory. */
export interface LocalFile {
  /** Its name in the directory (no sub-directories). */
  name: string;
  path: string;
  size: number;
  sha256: string;
}

/**
 * The regular files directly in a directory (wheels, sdists), with their hashes, sorted by name.
 * Hashes are remembered by (path, size, mtime), so unchanged files are read once per process.
 */
export class LocalFiles {
  private readonly hashes = new Map<string, string>();

  constructor(private readonly dir: string) {}

  async list(): Promise<LocalFile[]> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).sort();
    } catch (error) {
      throw new Error(`docker executor: pipFindLinksDir ${this.dir} cannot be read: ${(error as Error).message}`);
    }
    const files: LocalFile[] = [];
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const file = path.join(this.dir, name);
      const info = await stat(file);
      if (!info.isFile()) continue;
      const key = `${file}\0${info.size}\0${info.mtimeMs}`;
      let sha256 = this.hashes.get(key);
      if (sha256 === undefined) {
        sha256 = createHash('sha256')
          .update(await readFile(file))
          .digest('hex');
        this.hashes.set(key, sha256);
      }
      files.push({ name, path: file, size: info.size, sha256 });
    }
    return files;
  }
}
