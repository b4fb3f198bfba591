import { useTestApp } from '../support/test-app';

/** The configured default of enterprise workspaces without a limit of their own (not the built-in 1000). */
const ENTERPRISE_DEFAULT = 2500;
const NOW = '2026-11-28T12:00:00.000Z';

describe('Workspaces', () => {
  const t = useTestApp({ TENSORIFY_ENTERPRISE_RATE_LIMIT: String(ENTERPRISE_DEFAULT) });
  let admin: string;
  let counter = 0;
  const uniqueName = (label: string) => `${label}-${++counter}`;

  beforeAll(() => {
    admin = t.bearer(t.adminKey);
  });

  const create = (body: object) => t.http.post('/v1/workspaces').set('Authorization', admin).send(body);
  const patch = (id: string, body: object) => t.http.patch(`/v1/workspaces/${id}`).set('Authorization', admin).send(body);
  const get = (id: string) => t.http.get(`/v1/workspaces/${id}`).set('Authorization', admin);

  describe('POST /v1/workspaces', () => {
    it('creates a workspace: 201 with a ws_ id, its plan, its limit and timestamps', async () => {
      const name = uniqueName('ml-research');
      const res = await create({ name, plan: 'pro' }).expect(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(/^ws_[0-9A-Za-z]{16}$/),
        name,
        plan: 'pro',
        rateLimitPerMinute: 300,
        retentionDays: 30,
        retentionDaysOverridden: false,
        createdAt: NOW,
        updatedAt: NOW,
      });
    });

    it('gives a free workspace 60 requests per minute', async () => {
      const res = await create({ name: uniqueName('free'), plan: 'free' }).expect(201);
      expect(res.body.rateLimitPerMinute).toBe(60);
    });

    it('gives an enterprise workspace its own rateLimitPerMinute', async () => {
      const res = await create({ name: uniqueName('big'), plan: 'enterprise', rateLimitPerMinute: 7 }).expect(201);
      expect(res.body).toMatchObject({ plan: 'enterprise', rateLimitPerMinute: 7 });
    });

    it('gives an enterprise workspace without a limit of its own TENSORIFY_ENTERPRISE_RATE_LIMIT', async () => {
      const res = await create({ name: uniqueName('big'), plan: 'enterprise' }).expect(201);
      expect(res.body.rateLimitPerMinute).toBe(ENTERPRISE_DEFAULT);
    });

    it('can be read back with GET /v1/workspaces/:id', async () => {
      const created = (await create({ name: uniqueName('read-back'), plan: 'free' }).expect(201)).body;
      const res = await get(created.id).expect(200);
      expect(res.body).toEqual(created);
    });

    it('refuses a duplicate name with 409 CONFLICT', async () => {
      const name = uniqueName('taken');
      await create({ name, plan: 'free' }).expect(201);
      const res = await create({ name, plan: 'pro' }).expect(409);
      expect(res.body.error).toMatchObject({ code: 'CONFLICT', details: { field: 'name' } });
      expect(res.body.error.message).toContain(name);
    });

    it('refuses rateLimitPerMinute on the free plan with 400 VALIDATION_ERROR', async () => {
      const res = await create({ name: uniqueName('cheeky'), plan: 'free', rateLimitPerMinute: 1000 }).expect(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
      expect(res.body.error.details.fields).toHaveProperty('rateLimitPerMinute');
    });

    it('refuses rateLimitPerMinute on the pro plan with 400 VALIDATION_ERROR', async () => {
      const res = await create({ name: uniqueName('cheeky'), plan: 'pro', rateLimitPerMinute: 1000 }).expect(400);
      expect(res.body.error.details.fields).toHaveProperty('rateLimitPerMinute');
    });

    it('refuses an unknown plan with 400 VALIDATION_ERROR naming the field', async () => {
      const res = await create({ name: uniqueName('gold'), plan: 'gold' }).expect(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
      expect(res.body.error.details.fields).toHaveProperty('plan');
    });

    it.each([
      ['no name', { plan: 'free' }, 'name'],
      ['a blank name', { name: '   ', plan: 'free' }, 'name'],
      ['a name over 200 characters', { name: 'x'.repeat(201), plan: 'free' }, 'name'],
      ['no plan', { name: 'no-plan' }, 'plan'],
      ['a zero limit', { name: 'zero', plan: 'enterprise', rateLimitPerMinute: 0 }, 'rateLimitPerMinute'],
      ['a fractional limit', { name: 'frac', plan: 'enterprise', rateLimitPerMinute: 1.5 }, 'rateLimitPerMinute'],
      ['an unknown field', { name: 'typo', plan: 'free', paln: 'pro' }, 'paln'],
    ])('refuses %s with 400 VALIDATION_ERROR', async (_case, body, field) => {
      const res = await create(body).expect(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
      expect(res.body.error.details.fields).toHaveProperty([field]);
    });

    it('stores nothing when it refuses', async () => {
      const name = uniqueName('refused');
      await create({ name, plan: 'free', rateLimitPerMinute: 5 }).expect(400);
      await create({ name, plan: 'free' }).expect(201);
    });
  });

  describe('GET /v1/workspaces', () => {
    it('lists workspaces newest first, including the bootstrap workspace "default"', async () => {
      const older = (await create({ name: uniqueName('older'), plan: 'free' }).expect(201)).body;
      t.clock.advance(1000);
      const newer = (await create({ name: uniqueName('newer'), plan: 'free' }).expect(201)).body;
      const res = await t.http.get('/v1/workspaces?limit=200').set('Authorization', admin).expect(200);
      const ids = res.body.workspaces.map((w: { id: string }) => w.id);
      expect(ids[0]).toBe(newer.id);
      expect(ids.indexOf(newer.id)).toBeLessThan(ids.indexOf(older.id));
      expect(res.body.workspaces).toContainEqual(expect.objectContaining({ name: 'default', plan: 'enterprise' }));
      expect(res.body.workspaces).toContainEqual(newer);
      expect(res.body.nextCursor).toBeNull();
    });

    it('pages through every workspace exactly once with limit and nextCursor', async () => {
      for (let i = 0; i < 5; i++) {
        await create({ name: uniqueName('paged'), plan: 'free' }).expect(201);
        if (i % 2 === 0) t.clock.advance(1); // some share a timestamp, some do not
      }
      const all = (await t.http.get('/v1/workspaces?limit=200').set('Authorization', admin).expect(200)).body.workspaces.map((w: { id: string }) => w.id);
      expect(all.length).toBeGreaterThan(5);

      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = cursor ? `?limit=2&cursor=${encodeURIComponent(cursor)}` : '?limit=2';
        const res = await t.http.get(`/v1/workspaces${query}`).set('Authorization', admin).expect(200);
        expect(res.body.workspaces.length).toBeLessThanOrEqual(2);
        seen.push(...res.body.workspaces.map((w: { id: string }) => w.id));
        cursor = res.body.nextCursor;
        pages++;
      } while (cursor && pages < 100);
      expect(seen).toEqual(all);
      expect(pages).toBe(Math.ceil(all.length / 2));
    });

    it('refuses a cursor it did not issue with 400 VALIDATION_ERROR', async () => {
      const res = await t.http.get('/v1/workspaces?cursor=not-a-cursor').set('Authorization', admin).expect(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
    });

    it.each(['0', '201', 'ten'])('refuses limit=%s with 400 VALIDATION_ERROR', async (limit) => {
      const res = await t.http.get(`/v1/workspaces?limit=${limit}`).set('Authorization', admin).expect(400);
      expect(res.body.error.details.fields).toHaveProperty('limit');
    });
  });

  describe('GET /v1/workspaces/:id', () => {
    it.each(['ws_DoesNotExist0000', 'not-an-id'])('answers 404 WORKSPACE_NOT_FOUND for %s', async (id) => {
      const res = await get(id).expect(404);
      expect(res.body.error).toMatchObject({ code: 'WORKSPACE_NOT_FOUND', requestId: res.headers['x-request-id'] });
      expect(res.body.error.message).toContain(id);
    });
  });

  describe('PATCH /v1/workspaces/:id', () => {
    it('changes the plan, and the limit and the default retention with it, and moves updatedAt', async () => {
      const ws = (await create({ name: uniqueName('grows'), plan: 'free' }).expect(201)).body;
      t.clock.advance(5000);
      const res = await patch(ws.id, { plan: 'pro' }).expect(200);
      expect(res.body).toEqual({
        ...ws,
        plan: 'pro',
        rateLimitPerMinute: 300,
        retentionDays: 30,
        updatedAt: new Date(Date.parse(ws.updatedAt) + 5000).toISOString(),
      });
      expect((await get(ws.id).expect(200)).body).toEqual(res.body);
    });

    it('renames a workspace', async () => {
      const ws = (await create({ name: uniqueName('old-name'), plan: 'pro' }).expect(201)).body;
      const name = uniqueName('new-name');
      const res = await patch(ws.id, { name }).expect(200);
      expect(res.body).toMatchObject({ id: ws.id, name, plan: 'pro', rateLimitPerMinute: 300 });
    });

    it('moves a workspace to enterprise with a limit of its own', async () => {
      const ws = (await create({ name: uniqueName('upgrade'), plan: 'pro' }).expect(201)).body;
      const res = await patch(ws.id, { plan: 'enterprise', rateLimitPerMinute: 5000 }).expect(200);
      expect(res.body).toMatchObject({ plan: 'enterprise', rateLimitPerMinute: 5000 });
    });

    it("changes an enterprise workspace's own limit", async () => {
      const ws = (await create({ name: uniqueName('tune'), plan: 'enterprise', rateLimitPerMinute: 7 }).expect(201)).body;
      const res = await patch(ws.id, { rateLimitPerMinute: 12 }).expect(200);
      expect(res.body.rateLimitPerMinute).toBe(12);
    });

    it('keeps the own limit of an enterprise workspace when only its name changes', async () => {
      const ws = (await create({ name: uniqueName('keep'), plan: 'enterprise', rateLimitPerMinute: 7 }).expect(201)).body;
      const res = await patch(ws.id, { name: uniqueName('kept') }).expect(200);
      expect(res.body.rateLimitPerMinute).toBe(7);
    });

    it('resets an enterprise workspace to TENSORIFY_ENTERPRISE_RATE_LIMIT with rateLimitPerMinute: null', async () => {
      const ws = (await create({ name: uniqueName('reset'), plan: 'enterprise', rateLimitPerMinute: 7 }).expect(201)).body;
      const res = await patch(ws.id, { rateLimitPerMinute: null }).expect(200);
      expect(res.body).toMatchObject({ plan: 'enterprise', rateLimitPerMinute: ENTERPRISE_DEFAULT });
      expect((await get(ws.id).expect(200)).body.rateLimitPerMinute).toBe(ENTERPRISE_DEFAULT);
    });

    it('drops the own limit when an enterprise workspace moves to pro', async () => {
      const ws = (await create({ name: uniqueName('down'), plan: 'enterprise', rateLimitPerMinute: 7 }).expect(201)).body;
      expect((await patch(ws.id, { plan: 'pro' }).expect(200)).body.rateLimitPerMinute).toBe(300);
      expect((await patch(ws.id, { plan: 'enterprise' }).expect(200)).body.rateLimitPerMinute).toBe(ENTERPRISE_DEFAULT);
    });

    it('refuses an own limit for a non-enterprise workspace with 400 and changes nothing', async () => {
      const ws = (await create({ name: uniqueName('pro-limit'), plan: 'pro' }).expect(201)).body;
      const res = await patch(ws.id, { rateLimitPerMinute: 5000 }).expect(400);
      expect(res.body.error.details.fields).toHaveProperty('rateLimitPerMinute');
      expect((await get(ws.id).expect(200)).body).toEqual(ws);
    });

    it('refuses an unknown plan with 400 VALIDATION_ERROR', async () => {
      const ws = (await create({ name: uniqueName('plan'), plan: 'pro' }).expect(201)).body;
      const res = await patch(ws.id, { plan: 'platinum' }).expect(400);
      expect(res.body.error.details.fields).toHaveProperty('plan');
    });

    it("refuses another workspace's name with 409 CONFLICT", async () => {
      const first = (await create({ name: uniqueName('first'), plan: 'free' }).expect(201)).body;
      const second = (await create({ name: uniqueName('second'), plan: 'free' }).expect(201)).body;
      const res = await patch(second.id, { name: first.name }).expect(409);
      expect(res.body.error.code).toBe('CONFLICT');
      expect((await get(second.id).expect(200)).body.name).toBe(second.name);
    });

    it('answers 404 WORKSPACE_NOT_FOUND for an unknown workspace', async () => {
      const res = await patch('ws_DoesNotExist0000', { plan: 'pro' }).expect(404);
      expect(res.body.error.code).toBe('WORKSPACE_NOT_FOUND');
    });
  });
});
