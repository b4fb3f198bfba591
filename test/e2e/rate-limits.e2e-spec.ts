import type { Response } from 'supertest';
import { useTestApp } from '../support/test-app';

/**
 * Plan rate limits, exact to the request: the clock is fake, so a window only moves when the
 * test advances it. Every test uses workspaces of its own, so their counters start at zero.
 */
describe('Rate limits per workspace plan', () => {
  const t = useTestApp();

  /** A new workspace of this plan and a key of it holding every non-admin scope. */
  async function workspaceKey(plan: 'free' | 'pro' | 'enterprise' = 'free', rateLimitPerMinute?: number) {
    const workspaceId = await t.createWorkspace(plan, rateLimitPerMinute);
    const { key } = await t.createKey(workspaceId);
    return { workspaceId, key };
  }

  const me = (key: string) => t.http.get('/v1/me').set('Authorization', t.bearer(key));

  /** Makes `count` requests that must all pass, checking the remaining count of each. */
  async function spend(key: string, count: number, limit: number, remainingBefore: number): Promise<void> {
    for (let i = 1; i <= count; i++) {
      const res = await me(key);
      expect(res.status).toBe(200);
      expect(res.headers['x-ratelimit-limit']).toBe(String(limit));
      expect(res.headers['x-ratelimit-remaining']).toBe(String(remainingBefore - i));
    }
  }

  function expectRateLimitHeaders(res: Response, limit: number, remaining: number, reset: number): void {
    expect({
      limit: res.headers['x-ratelimit-limit'],
      remaining: res.headers['x-ratelimit-remaining'],
      reset: res.headers['x-ratelimit-reset'],
      policy: res.headers['ratelimit-policy'],
      rateLimit: res.headers['ratelimit'],
    }).toEqual({
      limit: String(limit),
      remaining: String(remaining),
      reset: String(reset),
      policy: `"workspace";q=${limit};w=60`,
      rateLimit: `"workspace";r=${remaining};t=${reset}`,
    });
  }

  function expectRateLimited(res: Response): void {
    expect(res.status).toBe(429);
    expect(res.body.error).toMatchObject({ code: 'RATE_LIMITED', requestId: res.headers['x-request-id'] });
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
  }

  describe('free plan (60 per minute)', () => {
    it('lets 60 requests through and refuses the 61st with 429 RATE_LIMITED and Retry-After', async () => {
      const { key } = await workspaceKey('free');
      await spend(key, 60, 60, 60);
      expectRateLimited(await me(key));
    });

    it('counts X-RateLimit-Remaining down from 59 to 0, with the full header set on each response', async () => {
      const { key } = await workspaceKey('free');
      for (let remaining = 59; remaining >= 0; remaining--) {
        const res = await me(key).expect(200);
        expectRateLimitHeaders(res, 60, remaining, 60);
      }
    });

    it('reports the seconds left in the window as X-RateLimit-Reset, and as Retry-After once refused', async () => {
      const { key } = await workspaceKey('free');
      expectRateLimitHeaders(await me(key).expect(200), 60, 59, 60);
      t.clock.advance(15_000);
      expectRateLimitHeaders(await me(key).expect(200), 60, 58, 45);
      await spend(key, 58, 60, 58);
      t.clock.advance(5_000);
      const refused = await me(key);
      expectRateLimited(refused);
      expect(refused.headers['retry-after']).toBe('40');
      expectRateLimitHeaders(refused, 60, 0, 40);
    });

    it('lets requests through again once the window has passed', async () => {
      const { key } = await workspaceKey('free');
      await spend(key, 60, 60, 60);
      expectRateLimited(await me(key));
      t.clock.advance(59_999);
      expectRateLimited(await me(key));
      t.clock.advance(1);
      expectRateLimitHeaders(await me(key).expect(200), 60, 59, 60);
    });

    it('counts 403 FORBIDDEN, 404 and 400 responses too, with the headers on each', async () => {
      const workspaceId = await t.createWorkspace('free');
      const { key } = await t.createKey(workspaceId, ['workflows:read']);
      const auth = t.bearer(key);
      let remaining = 60;
      for (let i = 0; i < 20; i++) {
        const forbidden = await t.http.get('/v1/workspaces').set('Authorization', auth).expect(403);
        expectRateLimitHeaders(forbidden, 60, --remaining, 60);
        const notFound = await t.http.get('/v1/workflows/wf_DoesNotExist0000').set('Authorization', auth).expect(404);
        expectRateLimitHeaders(notFound, 60, --remaining, 60);
        const invalid = await t.http.get('/v1/workflows?limit=0').set('Authorization', auth).expect(400);
        expectRateLimitHeaders(invalid, 60, --remaining, 60);
      }
      const refused = await t.http.get('/v1/workflows').set('Authorization', auth);
      expectRateLimited(refused);
      expectRateLimitHeaders(refused, 60, 0, 60);
    });
  });

  it('lets a pro workspace make 300 requests and refuses the 301st', async () => {
    const { key } = await workspaceKey('pro');
    await spend(key, 300, 300, 300);
    const refused = await me(key);
    expectRateLimited(refused);
    expect(refused.headers['x-ratelimit-limit']).toBe('300');
  });

  it('lets an enterprise workspace make its own rateLimitPerMinute requests (7) and refuses the 8th', async () => {
    const { key } = await workspaceKey('enterprise', 7);
    await spend(key, 7, 7, 7);
    const refused = await me(key);
    expectRateLimited(refused);
    expectRateLimitHeaders(refused, 7, 0, 60);
  });

  it('shares one limit between all keys of a workspace', async () => {
    const workspaceId = await t.createWorkspace('free');
    const first = await t.createKey(workspaceId);
    const second = await t.createKey(workspaceId);
    await spend(first.key, 30, 60, 60);
    await spend(second.key, 30, 60, 30);
    expectRateLimited(await me(first.key));
    expectRateLimited(await me(second.key));
  });

  it('keeps the limits of different workspaces independent', async () => {
    const exhausted = await workspaceKey('free');
    const other = await workspaceKey('free');
    await spend(exhausted.key, 60, 60, 60);
    expectRateLimited(await me(exhausted.key));
    expectRateLimitHeaders(await me(other.key).expect(200), 60, 59, 60);
  });

  describe('requests whose body is refused', () => {
    const post = (key: string, path: string) => t.http.post(path).set('Authorization', t.bearer(key)).set('Content-Type', 'application/json');

    it.each([
      ['malformed JSON', '/v1/workflows', '{"name":', 400, 'INVALID_JSON'],
      ['a body that fails validation', '/v1/workflows', '{"name":""}', 400, 'VALIDATION_ERROR'],
      ['a body over the size limit', '/v1/workflows/validate', `{"name":"${'x'.repeat(1_100_000)}"}`, 413, 'PAYLOAD_TOO_LARGE'],
    ])('count like any other, with the rate-limit headers on the refusal: %s', async (_name, path, body, status, code) => {
      const { key } = await workspaceKey('free');
      const refused = await post(key, path).send(body);
      expect({ status: refused.status, code: refused.body.error?.code }).toEqual({ status, code });
      expectRateLimitHeaders(refused, 60, 59, 60);
      expectRateLimitHeaders(await me(key).expect(200), 60, 58, 60);
    });

    it('are refused with 429 once the limit is reached, before the body is looked at', async () => {
      const { key } = await workspaceKey('free');
      for (let i = 0; i < 60; i++) await post(key, '/v1/workflows').send('{"name":').expect(400);
      const res = await post(key, '/v1/workflows').send('{"name":');
      expectRateLimited(res);
    });
  });

  describe('public routes', () => {
    it('carry no rate-limit headers', async () => {
      const { key } = await workspaceKey('free');
      for (const res of [await t.http.get('/health').expect(200), await t.http.get('/health').set('Authorization', t.bearer(key)).expect(200)]) {
        expect(res.headers).not.toHaveProperty('x-ratelimit-limit');
        expect(res.headers).not.toHaveProperty('x-ratelimit-remaining');
        expect(res.headers).not.toHaveProperty('ratelimit-policy');
        expect(res.headers).not.toHaveProperty('ratelimit');
      }
    });

    it("are not counted against the workspace, even when called with the workspace's key", async () => {
      const { key } = await workspaceKey('free');
      expectRateLimitHeaders(await me(key).expect(200), 60, 59, 60);
      for (let i = 0; i < 70; i++) await t.http.get('/health').set('Authorization', t.bearer(key)).expect(200);
      expectRateLimitHeaders(await me(key).expect(200), 60, 58, 60);
    });
  });

  describe('plan changes', () => {
    const setPlan = (workspaceId: string, body: object) =>
      t.http.patch(`/v1/workspaces/${workspaceId}`).set('Authorization', t.bearer(t.adminKey)).send(body).expect(200);

    it('applies the pro limit (300) from the next request after a free workspace is upgraded', async () => {
      const { workspaceId, key } = await workspaceKey('free');
      await spend(key, 30, 60, 60);
      await setPlan(workspaceId, { plan: 'pro' });
      expectRateLimitHeaders(await me(key).expect(200), 300, 269, 60);
      await spend(key, 269, 300, 269);
      expectRateLimited(await me(key));
    });

    it('lets a free workspace that hit its limit through at once when it is upgraded to pro', async () => {
      const { workspaceId, key } = await workspaceKey('free');
      await spend(key, 60, 60, 60);
      expectRateLimited(await me(key));
      await setPlan(workspaceId, { plan: 'pro' });
      const res = await me(key).expect(200);
      expect(res.headers['x-ratelimit-limit']).toBe('300');
    });

    it('applies the free limit from the next request after a pro workspace is downgraded', async () => {
      const { workspaceId, key } = await workspaceKey('pro');
      await spend(key, 100, 300, 300);
      await setPlan(workspaceId, { plan: 'free' });
      const refused = await me(key);
      expectRateLimited(refused);
      expect(refused.headers['x-ratelimit-limit']).toBe('60');
    });

    it("applies an enterprise workspace's new own limit from the next request", async () => {
      const { workspaceId, key } = await workspaceKey('enterprise', 7);
      await spend(key, 7, 7, 7);
      expectRateLimited(await me(key));
      await setPlan(workspaceId, { rateLimitPerMinute: 12 });
      expect((await me(key).expect(200)).headers['x-ratelimit-limit']).toBe('12');
    });
  });
});
