import { Logger } from '@nestjs/common';
import pino from 'pino';
import { Writable } from 'node:stream';
import { maskSecrets, PinoNestLogger } from './logging';

function capture(): { lines: () => Record<string, unknown>[]; text: () => string; logger: pino.Logger } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const text = () => chunks.join('');
  return {
    logger: pino({ level: 'trace' }, sink),
    text,
    lines: () =>
      text()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
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
