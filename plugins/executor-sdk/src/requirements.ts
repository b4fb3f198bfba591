/**
 * The packages of a requirements.txt: pip's line continuations joined, comments and blank lines
 * dropped, lines trimmed, sorted, without duplicates. Two files that install the same thing give
 * the same list, so a cache of environments keyed by it (a venv, an image) is shared between them.
 */
export function normaliseRequirements(text: string): string[] {
  const lines = text
    .replace(/\\\r?\n/g, '') // pip's line continuations
    .split(/\r?\n/)
    .map((line) => line.replace(/(^|\s)#.*$/, '').trim())
    .filter((line) => line.length > 0);
  return [...new Set(lines)].sort();
}
