import type { IncomingMessage } from 'node:http';
import { generateRequestId, newRequestId } from './request-id';

describe('request ids', () => {
  it('are req_ and the 32 hex digits of a random UUID, each new', () => {
    const ids = Array.from({ length: 100 }, () => newRequestId());
    for (const id of ids) expect(id).toMatch(/^req_[0-9a-f]{8}[0-9a-f]{4}4[0-9a-f]{3}[89ab][0-9a-f]{15}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("keep the caller's X-Request-Id when it is sane, and replace it otherwise", () => {
    const withId = (id: string) => ({ headers: { 'x-request-id': id } }) as unknown as IncomingMessage;
    expect(generateRequestId(withId('my-trace-12345'))).toBe('my-trace-12345');
    expect(generateRequestId(withId('short'))).toMatch(/^req_[0-9a-f]{32}$/);
    expect(generateRequestId(withId('has space in it'))).toMatch(/^req_[0-9a-f]{32}$/);
  });
});
