import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { LogSink } from './log-sink';

describe(LogSink.name, () => {
  let dir: string;
  let file: string;
  const written = () => readFileSync(file, 'utf8');
  /** The file once it holds `text` (test/support's waitFor is outside src/'s tsconfig root). */
  const writtenWith = async (text: string) => {
    for (let waited = 0; !written().includes(text) && waited < 10_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    return written();
  };
  const sinkTo = (flushChars = 4096, flushMs = 10) => new LogSink(pino.destination({ dest: file, sync: true }), { flushChars, flushMs });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tensorify-log-sink-'));
    file = join(dir, 'out.log');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a lone line of a quiet moment on its own, with no more lines coming after it', async () => {
    const sink = sinkTo();
    sink.write('{"msg":"alone"}\n');
    expect(await writtenWith('alone')).toBe('{"msg":"alone"}\n');
    // And again after a pause: the window re-arms.
    sink.write('{"msg":"later"}\n');
    expect(await writtenWith('later')).toBe('{"msg":"alone"}\n{"msg":"later"}\n');
  });

  it('holds lines below the chunk size, and writes them all in one go, in order, once the chunk is full', () => {
    const line = (i: number) => `{"n":${i},"pad":"${'x'.repeat(20)}"}\n`;
    const sink = sinkTo(4 * line(0).length);
    for (let i = 0; i < 3; i++) sink.write(line(i));
    expect(written()).toBe(''); // three lines wait (no timer can have fired within this synchronous test)
    sink.write(line(3));
    expect(written()).toBe([0, 1, 2, 3].map(line).join(''));
    sink.write(line(4));
    expect(written()).toBe([0, 1, 2, 3].map(line).join(''));
    sink.flushSync();
    expect(written()).toBe([0, 1, 2, 3, 4].map(line).join(''));
  });

  it('writes what waits on flush(), and calls back', () => {
    const sink = sinkTo();
    sink.write('{"msg":"one"}\n');
    const done = jest.fn();
    sink.flush(done);
    expect(written()).toBe('{"msg":"one"}\n');
    expect(done).toHaveBeenCalledWith();
  });

  it("keeps a pino logger's lines whole and in order, multi-byte text included", () => {
    const sink = sinkTo(256);
    const logger = pino({ base: undefined, timestamp: false }, sink);
    for (let i = 0; i < 200; i++) logger.info({ i, text: 'größe ✓ 検証' }, 'line');
    sink.flushSync();
    const lines = written()
      .trimEnd()
      .split('\n')
      .map((text) => JSON.parse(text) as { i: number; text: string });
    expect(lines.map((line) => line.i)).toEqual([...Array(200).keys()]);
    expect(new Set(lines.map((line) => line.text))).toEqual(new Set(['größe ✓ 検証']));
  });
});
