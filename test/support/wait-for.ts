import { inspect } from 'node:util';

/**
 * Asks `ask` every `intervalMs` until `until` holds for its answer, and resolves with that answer;
 * after `timeoutMs` it rejects, naming `what` and showing the last answer. For what a test cannot be
 * told about and must look at again: an execution's status, a cache another process moves.
 */
export async function waitFor<T>(
  ask: () => T | Promise<T>,
  until: (answer: T) => boolean,
  { timeoutMs = 20_000, intervalMs = 25, what = 'the answer' }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await ask();
    if (until(answer)) return answer;
    if (Date.now() > deadline) throw new Error(`${what} never matched within ${timeoutMs} ms; last: ${inspect(answer, { depth: 3, breakLength: Infinity })}`);
    await new Promise((done) => setTimeout(done, intervalMs));
  }
}
