import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { APIConnectionError, APITimeoutError, TensorifyError } from './errors';
import { backoffMs, sleep } from './transport';

/** One line a program printed, with its index in the execution's log (0, 1, 2…). */
export interface LogLine {
  index: number;
  line: string;
}

export interface LogsOptions {
  /** Start after this line index (as a `Last-Event-ID`); by default the log is read from its first line. */
  after?: number;
  /** Stops the stream; the iteration then rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Reconnect when nothing (not even the server's keep-alive, sent every 15 s) has arrived for this
   * long; default 45 s.
   */
  idleTimeoutMs?: number;
  /** Reconnections in a row that bring no new line before giving up with APIConnectionError; default 5. */
  maxReconnects?: number;
}

/** Opens `GET /v1/executions/{id}/logs` after a line index: resolves to the stream's body once the headers are in. */
export type OpenLogStream = (lastEventId: string | undefined, signal: AbortSignal) => Promise<ReadableStream<Uint8Array>>;

/**
 * The lines of an execution, live, as an async iterator over the server's Server-Sent Events.
 * When the connection drops it reconnects with `Last-Event-ID` set to the last line received, so
 * each line is seen once, in order: none repeated, none skipped. The iteration ends with the
 * execution (`status` then holds how it ended). Iterating it again goes on after the last line
 * it delivered.
 *
 * ```ts
 * const logs = tensorify.executions.logs(executionId);
 * for await (const { index, line } of logs) console.log(index, line);
 * console.log(logs.status); // 'completed'
 * ```
 */
export class LogStream implements AsyncIterable<LogLine> {
  /** How the execution ended (`completed`, `failed`, `cancelled`, `timed_out`), once the stream has ended. */
  status: string | undefined;
  /** The index of the last line received (-1 before the first). */
  lastIndex: number;
  /** Connections opened so far (1 when it never had to reconnect). */
  connections = 0;

  constructor(
    private readonly open: OpenLogStream,
    private readonly options: LogsOptions = {},
  ) {
    this.lastIndex = options.after ?? -1;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<LogLine, void, undefined> {
    const { signal, idleTimeoutMs = 45_000, maxReconnects = 5 } = this.options;
    let failures = 0;
    for (;;) {
      signal?.throwIfAborted();
      const progress = this.lastIndex;
      let failure: unknown;
      try {
        const ended = yield* this.readOnce(idleTimeoutMs, signal);
        if (ended) return;
        failure = new APIConnectionError('The log stream ended before its end event');
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        // An error answer (404, 401…) is final. Anything else is the connection failing (undici's
        // "terminated" when the socket closes mid-body, a reset, the idle timer): worth another try.
        if (error instanceof TensorifyError && !(error instanceof APIConnectionError)) throw error;
        failure = error;
      }
      failures = this.lastIndex > progress ? 1 : failures + 1;
      if (failures > maxReconnects) {
        throw new APIConnectionError(`The log stream of this execution failed ${failures} times in a row without a new line`, { cause: failure });
      }
      await sleep(backoffMs(failures - 1), signal);
    }
  }

  /** One connection: yields the new lines; returns true when the `end` event came, false when the stream ended without it. */
  private async *readOnce(idleTimeoutMs: number, signal: AbortSignal | undefined): AsyncGenerator<LogLine, boolean, undefined> {
    const idle = new AbortController();
    const combined = signal ? AbortSignal.any([signal, idle.signal]) : idle.signal;
    this.connections++;
    const body = await this.open(this.lastIndex >= 0 ? String(this.lastIndex) : undefined, combined);
    const reader = body.getReader();
    const decoder = new TextDecoder();
    const events: EventSourceMessage[] = [];
    // A fresh parser per connection: a partial event cut by a dropped connection is never dispatched.
    const parser = createParser({ onEvent: (event) => events.push(event) });
    let timer: NodeJS.Timeout | undefined;
    const armIdleTimer = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const reason = new APITimeoutError(`Nothing arrived on the log stream for ${idleTimeoutMs} ms`);
        idle.abort(reason);
        reader.cancel(reason).catch(() => undefined);
      }, idleTimeoutMs);
    };
    try {
      armIdleTimer();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return false;
        armIdleTimer();
        parser.feed(decoder.decode(value, { stream: true }));
        while (events.length > 0) {
          const event = events.shift()!;
          if (event.event === 'end') {
            this.status = (JSON.parse(event.data) as { status: string }).status;
            return true;
          }
          // The server could not go on (its `error` event): reconnect from the last line.
          if (event.event === 'error') throw new APIConnectionError(`The server interrupted the log stream: ${event.data}`);
          const index = Number(event.id);
          // Lines up to the last one received were seen already (a replay overlapping a resume).
          if (!Number.isInteger(index) || index <= this.lastIndex) continue;
          this.lastIndex = index;
          yield { index, line: event.data };
        }
      }
    } catch (error) {
      if (idle.signal.aborted && !signal?.aborted) throw idle.signal.reason;
      throw error;
    } finally {
      clearTimeout(timer);
      // Closes the connection when the caller stops early (a `break`) or the stream failed.
      await reader.cancel().catch(() => undefined);
    }
  }
}
