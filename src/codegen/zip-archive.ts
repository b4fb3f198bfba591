import { zipSync } from 'fflate';

/**
 * A zip archive of `files` (name → text) whose bytes depend only on its arguments: entries in the
 * order given, every entry stamped with `modified` (written as its UTC wall-clock time, so the
 * server's time zone does not show), deflated at a fixed level.
 */
export function zipFiles(files: Readonly<Record<string, string>>, modified: Date): Buffer {
  // Zip stores local wall-clock time and fflate reads a Date's local fields: give it a Date whose
  // local fields are the UTC fields of `modified`. Zip cannot express years before 1980.
  const stamp = new Date(
    Math.max(modified.getUTCFullYear(), 1980),
    modified.getUTCMonth(),
    modified.getUTCDate(),
    modified.getUTCHours(),
    modified.getUTCMinutes(),
    modified.getUTCSeconds(),
  );
  const encoder = new TextEncoder();
  const entries = Object.fromEntries(Object.entries(files).map(([name, text]) => [name, [encoder.encode(text), { mtime: stamp }] as const]));
  return Buffer.from(zipSync(entries as never, { level: 6 }));
}
