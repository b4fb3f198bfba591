import * as tar from 'tar-stream';

/** One entry of an archive made by {@link packArchive}: a directory (no content) or a file. */
export interface ArchiveEntry {
  /** Relative path, `/`-separated; a directory's ends with `/`. */
  name: string;
  content?: string | Buffer;
  mode: number;
  uid?: number;
  gid?: number;
}

/** A tar archive of the entries, in memory (the engine's putArchive wants the whole body). */
export async function packArchive(entries: readonly ArchiveEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  const mtime = new Date();
  for (const entry of entries) {
    const header = { name: entry.name, mode: entry.mode, uid: entry.uid ?? 0, gid: entry.gid ?? 0, mtime };
    if (entry.content === undefined) pack.entry({ ...header, type: 'directory' });
    else pack.entry({ ...header, type: 'file' }, typeof entry.content === 'string' ? Buffer.from(entry.content, 'utf8') : entry.content);
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Thrown when a stream passes the byte limit given to {@link readAll}. */
export class TooLargeError extends Error {
  override readonly name = 'TooLargeError';
}

/** A stream's whole content; rejects with {@link TooLargeError} (and destroys the stream) past `maxBytes`. */
export function readAll(stream: NodeJS.ReadableStream, maxBytes: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        (stream as NodeJS.ReadableStream & { destroy?(): void }).destroy?.();
        reject(new TooLargeError(`larger than ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

/** The content of the first regular file of a tar archive (getArchive of one file), or undefined when it has none. */
export function firstFile(archive: Buffer): Promise<Buffer | undefined> {
  return new Promise<Buffer | undefined>((resolve, reject) => {
    const extract = tar.extract();
    let found: Buffer | undefined;
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: unknown) => {
        if (found === undefined && header.type === 'file') chunks.push(chunk as Buffer);
      });
      stream.on('end', () => {
        if (found === undefined && header.type === 'file') found = Buffer.concat(chunks);
        next();
      });
      stream.on('error', reject);
    });
    extract.on('finish', () => resolve(found));
    extract.on('error', reject);
    extract.end(archive);
  });
}
