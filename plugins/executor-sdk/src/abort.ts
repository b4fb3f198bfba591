/** Thrown by {@link untilAborted} and {@link SharedBuilds} when a run's signal aborts while it waits. */
export class AbortedError extends Error {
  override readonly name = 'AbortedError';
}

/**
 * Settles as `promise` does, or rejects with {@link AbortedError} as soon as `signal` aborts
 * (at once when it already has). The promise itself goes on: stop its work through a signal of
 * its own.
 *
 * @example
 * ```ts
 * const image = await untilAborted(pullImage(name), context.signal);
 * ```
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new AbortedError('aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AbortedError('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes the promise's own rejection on unchanged
        reject(error);
      },
    );
  });
}
