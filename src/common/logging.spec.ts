import { Logger } from '@nestjs/common';
import pino from 'pino';
import { Writable } from 'node:stream';
import { isoTimeOncePerMs, maskSecrets, PinoNestLogger, requestLineWriter } from './logging';

function capture(options: pino.LoggerOptions = {}): { lines: () => Record<string, unknown>[]; text: () => string; logger: pino.Logger } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const text = () => chunks.join('');
  return {
    logger: pino({ level: 'trace', ...options }, sink),
    text,
    lines: () =>
      text()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, any>),
  };
}

describe(PinoNestLogger.name, () => {
  it('writes an error with its stack, the fields given and the context, as one JSON line', () => {
    const { logger, lines } = capture();
    const nest = new PinoNestLogger(logger);
    Logger.overrideLogger(nest);
    new Logger('AllExceptionsFilter').error({ err: new Error('disk on fire'), requestId: 'req_1' }, 'Unhandled error');
    const [line] = lines();
    expect(line).toMatchObject({ level: 50, msg: 'Unhandled error', requestId: 'req_1', context: 'AllExceptionsFilter' });
    expect((line.err as { stack: string }).stack).toContain('disk on fire');
  });

  it('keeps a plain message and its context', () => {
    const { logger, lines } = capture();
    new PinoNestLogger(logger).log('Nest application successfully started', 'NestApplication');
    expect(lines()[0]).toMatchObject({ level: 30, msg: 'Nest application successfully started', context: 'NestApplication' });
  });

  it('writes nothing below the level of the logger', () => {
    const { logger, text } = capture();
    logger.level = 'warn';
    new PinoNestLogger(logger).debug('noise');
    expect(text()).toBe('');
  });
});

describe('maskSecrets', () => {
  it('masks every key-shaped token in a text', () => {
    expect(maskSecrets('/v1/x?access_token=tfy_abcDEF123&b=tfy_Z9')).toBe('/v1/x?access_token=tfy_***&b=tfy_***');
  });
});

describe('requestLineWriter', () => {
  it('writes the line pino would write for the same fields, at the level asked, with the URL masked', () => {
    const fields = {
      requestId: 'req_0123456789abcdef0123456789abcdef',
      method: 'GET',
      url: '/v1/workflows?q="quoted"\\back\nslash&k=tfy_abcDEF123',
      statusCode: 404,
      durationMs: 1.25,
      workspaceId: 'ws_1',
      apiKeyId: 'key_1',
    };
    // As the root logger is made (createRootLogger): its time format and bindings.
    const options = { base: { pid: process.pid }, timestamp: isoTimeOncePerMs };
    const ours = capture(options);
    const theirs = capture(options);
    requestLineWriter(ours.logger)('warn', fields);
    theirs.logger.warn({ ...fields, url: maskSecrets(fields.url) }, 'request completed');
    const withoutTime = (line: Record<string, unknown>) => ({ ...line, time: undefined });
    expect(ours.lines().map(withoutTime)).toEqual(theirs.lines().map(withoutTime));
    expect(Object.keys(ours.lines()[0])).toEqual(Object.keys(theirs.lines()[0]));
    expect(ours.lines()[0].url).toBe('/v1/workflows?q="quoted"\\back\nslash&k=tfy_***');
  });

  it('leaves out the workspace and key of an unauthenticated request, and writes nothing below the level', () => {
    const { logger, lines, text } = capture({ base: { pid: process.pid }, timestamp: isoTimeOncePerMs });
    const write = requestLineWriter(logger);
    write('info', { requestId: 'req_1', method: 'GET', url: '/health', statusCode: 200, durationMs: 0.5 });
    expect(lines()[0]).toEqual({
      level: 30,
      time: expect.any(String),
      pid: process.pid,
      requestId: 'req_1',
      method: 'GET',
      url: '/health',
      statusCode: 200,
      durationMs: 0.5,
      msg: 'request completed',
    });
    logger.level = 'error';
    const before = text();
    write('warn', { requestId: 'req_2', method: 'GET', url: '/x', statusCode: 404, durationMs: 1 });
    expect(text()).toBe(before);
  });

  it('writes each line with its own URL and caller when they change from line to line', () => {
    const { logger, lines } = capture({ base: { pid: process.pid }, timestamp: isoTimeOncePerMs });
    const write = requestLineWriter(logger);
    const calls = [
      { url: '/v1/workflows/wf_a', workspaceId: 'ws_1', apiKeyId: 'key_1' },
      { url: '/v1/workflows/wf_a', workspaceId: 'ws_1', apiKeyId: 'key_2' },
      { url: '/v1/hooks/hk_SecretHookId0123', workspaceId: undefined, apiKeyId: undefined },
      { url: '/v1/workflows/wf_b', workspaceId: 'ws_2', apiKeyId: 'key_2' },
      { url: '/v1/workflows/wf_a', workspaceId: 'ws_1', apiKeyId: 'key_1' },
    ];
    for (const [i, call] of calls.entries()) write('info', { requestId: `req_${i}`, method: 'GET', statusCode: 200, durationMs: 1, ...call });
    expect(lines().map(({ url, workspaceId, apiKeyId }) => ({ url, workspaceId, apiKeyId }))).toEqual(
      calls.map((call) => ({ ...call, url: maskSecrets(call.url) })),
    );
    expect(lines()[2]).not.toHaveProperty('workspaceId');
    expect(lines()[2].url).toBe('/v1/hooks/hk_Secr***');
  });
});
