import type { LoggerService } from '@nestjs/common';
import pino, { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { LogSink } from './log-sink';
import { numberText } from './number-text';

const SECRET_IN_TEXT = /(tfy|whsec)_[0-9A-Za-z]+/g;
/** A hook id past its first characters: with `signature: none` the hook's URL is its only secret. */
const HOOK_ID_IN_TEXT = /\b(hk_[0-9A-Za-z]{4})[0-9A-Za-z]+/g;

/** What each of those starts with: a text without any is left as it is, without running the two replaces (every request's URL is masked). */
const MAYBE_SECRET = /tfy_|whsec_|hk_/;

/** Masks anything shaped like an API key or webhook secret (and hook ids but their start), wherever it appears in a logged string. */
export function maskSecrets(text: string): string {
  if (!MAYBE_SECRET.test(text)) return text;
  return text.replace(SECRET_IN_TEXT, '$1_***').replace(HOOK_ID_IN_TEXT, '$1***');
}

let lastTimeMs = -1;
let lastTime = '';

/**
 * pino's `isoTime` (`,"time":"2026-01-02T03:04:05.678Z"`), formatted once per millisecond rather
 * than once per line: under load many lines share a millisecond.
 */
export function isoTimeOncePerMs(): string {
  const now = Date.now();
  if (now !== lastTimeMs) {
    lastTimeMs = now;
    lastTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTime;
}

/**
 * stdout for the logger: lines gathered by a LogSink (a write per 4 KiB under load, none waiting
 * over 10 ms), written by pino's SonicBoom synchronously; what is waiting is written at exit. One
 * per process, as stdout is, whichever loggers write to it.
 */
let stdout: LogSink | undefined;
export function stdoutSink(): LogSink {
  if (stdout === undefined) {
    const sink = new LogSink(pino.destination({ dest: 1, sync: true }));
    process.once('exit', () => {
      try {
        sink.flushSync();
      } catch {
        // stdout is gone (a closed pipe): there is nowhere left to write
      }
    });
    stdout = sink;
  }
  return stdout;
}

/**
 * The one pino logger of the process: JSON lines on stdout. Fastify logs through it (each line of a
 * request carries its `requestId`), and so does Nest through `PinoNestLogger`. Authorization headers
 * and anything named secret or key are redacted; URLs are logged with key-shaped text masked.
 */
export function createRootLogger(config: Pick<AppConfig, 'logLevel'>, destination: pino.DestinationStream = stdoutSink()): Logger {
  return pino(
    {
      level: config.logLevel,
      base: { pid: process.pid },
      timestamp: isoTimeOncePerMs,
      redact: { paths: ['req.headers.authorization', 'headers.authorization', 'secret', 'key'], censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.err },
    },
    destination,
  );
}

const LEVEL_NUMBER = { info: 30, warn: 40, error: 50 } as const;

export interface RequestLine {
  requestId: string;
  method: string;
  url: string;
  statusCode: number;
  durationMs: number;
  workspaceId?: string;
  apiKeyId?: string;
}

/** The level of a request's line by its status: 5xx an error, 4xx a warning, else info (every path that answers requests logs so). */
export function requestLineLevel(status: number): keyof typeof LEVEL_NUMBER {
  return status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
}

/**
 * Writes the one line per request (`request completed`) exactly as pino would write it through
 * the root logger (`{"level":30,"time":"…","pid":…,"requestId":…,…,"msg":"request completed"}`), to the
 * same destination, at the same levels, but without pino's generic per-line work (its JSON
 * serialiser walking the object, the redaction hook, the mixin and hook checks), some 8% of the CPU
 * of a cached GET. Every string is JSON-escaped; the URL is logged with key-shaped text masked.
 */
export function requestLineWriter(logger: Logger): (level: keyof typeof LEVEL_NUMBER, line: RequestLine) => void {
  const internals = logger as unknown as Record<symbol, unknown>;
  const stream = internals[pino.symbols.streamSym] as pino.DestinationStream;
  // The logger's bindings as pino serialised them once (`,"pid":…` for the root logger).
  const bindings = internals[pino.symbols.chindingsSym] as string;
  // The last URL and caller as written: a busy client repeats them, and each is masked and escaped once.
  let lastUrl = '';
  let lastUrlJson = '""';
  let lastWorkspaceId: string | undefined;
  let lastApiKeyId: string | undefined;
  let lastWho = '';
  return (level, { requestId, method, url, statusCode, durationMs, workspaceId, apiKeyId }) => {
    if (!logger.isLevelEnabled(level)) return;
    if (url !== lastUrl) {
      lastUrl = url;
      lastUrlJson = JSON.stringify(maskSecrets(url));
    }
    if (workspaceId !== lastWorkspaceId || apiKeyId !== lastApiKeyId) {
      lastWorkspaceId = workspaceId;
      lastApiKeyId = apiKeyId;
      lastWho = workspaceId === undefined ? '' : `,"workspaceId":${JSON.stringify(workspaceId)},"apiKeyId":${JSON.stringify(apiKeyId)}`;
    }
    stream.write(
      `{"level":${LEVEL_NUMBER[level]}${isoTimeOncePerMs()}${bindings},"requestId":${JSON.stringify(requestId)},"method":${JSON.stringify(method)},` +
        `"url":${lastUrlJson},"statusCode":${statusCode},"durationMs":${numberText(durationMs)}${lastWho},"msg":"request completed"}\n`,
    );
  };
}

/** Nest's LoggerService on top of pino, so framework and application messages are JSON lines too. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...rest: unknown[]) {
    this.write('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]) {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]) {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]) {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]) {
    this.write('trace', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]) {
    this.write('fatal', message, rest);
  }

  /**
   * Nest calls `logger.log(message, context)` or, from `new Logger(ctx).error(obj, msg)`,
   * `(obj, msg, context)`; the last string argument is the context, an object first argument is
   * merged into the line, and an error-stack string becomes `stack`.
   */
  private write(level: pino.Level, message: unknown, rest: unknown[]): void {
    if (!this.logger.isLevelEnabled(level)) return;
    const args = [...rest];
    const context = typeof args[args.length - 1] === 'string' ? (args.pop() as string) : undefined;
    const fields: Record<string, unknown> = context ? { context } : {};
    let text: string | undefined;
    if (message instanceof Error) fields.err = message;
    else if (message !== null && typeof message === 'object') Object.assign(fields, message);
    else text = String(message);
    for (const arg of args) {
      if (typeof arg === 'string' && text === undefined) text = arg;
      else if (typeof arg === 'string') fields.stack = arg;
      else if (arg instanceof Error) fields.err = arg;
    }
    this.logger[level](fields, text);
  }
}
