/**
 * Turns a byte stream (a child's stdout or stderr) into log lines.
 *
 * - Lines end at `\n`; a `\r` before it is dropped (CRLF), a final line without `\n` is
 *   emitted by {@link LineSplitter.end}.
 * - Bytes are decoded line by line, so a character split across two chunks is decoded whole;
 *   invalid UTF-8 becomes U+FFFD, and so does NUL (log stores such as PostgreSQL refuse it).
 * - A line longer than `maxBytes` is emitted as soon as it passes the limit: its first
 *   `maxBytes` bytes (cut on a character boundary) and {@link cutMarker}; the rest of it, up to
 *   the next `\n`, is dropped. At most `maxBytes` + 1 bytes are held per stream.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  /** Inside a line already emitted cut: drop bytes until its end. */
  private dropping = false;
  private readonly decoder = new TextDecoder('utf-8', { fatal: false });

  constructor(
    private readonly maxBytes: number,
    private readonly emit: (line: string) => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      if (newline === -1) {
        // Copied: the tail is held until its line ends.
        this.append(Buffer.from(chunk.subarray(start)));
        return;
      }
      this.append(chunk.subarray(start, newline));
      this.endLine();
      start = newline + 1;
    }
  }

  /** Emits the last line when the stream ended without a newline. */
  end(): void {
    if (this.size > 0) this.endLine();
    this.dropping = false;
  }

  private append(bytes: Buffer): void {
    if (this.dropping || bytes.length === 0) return;
    this.parts.push(bytes);
    this.size += bytes.length;
    // One byte of slack: a line of exactly maxBytes may still be followed by the `\r` of a CRLF.
    if (this.size > this.maxBytes + 1) {
      this.emitCut(this.take());
      this.dropping = true;
    }
  }

  private endLine(): void {
    if (this.dropping) {
      this.dropping = false;
      this.parts = [];
      this.size = 0;
      return;
    }
    let line = this.take();
    if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    if (line.length > this.maxBytes) this.emitCut(line);
    else this.emit(this.decode(line));
  }

  private take(): Buffer {
    const line = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    return line;
  }

  private emitCut(line: Buffer): void {
    let end = this.maxBytes;
    // Do not split a UTF-8 sequence: back up to the first byte of the character at the cut.
    while (end > 0 && (line[end] & 0xc0) === 0x80) end--;
    this.emit(this.decode(line.subarray(0, end)) + cutMarker(this.maxBytes));
  }

  private decode(bytes: Buffer): string {
    return this.decoder.decode(bytes).replace(/\0/g, '\uFFFD');
  }
}

/** What ends a line that was cut. */
export function cutMarker(maxBytes: number): string {
  return ` … [line cut: longer than ${maxBytes} bytes]`;
}
