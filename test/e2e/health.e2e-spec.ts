import { startTestApp, TestApp } from '../support/test-app';

describe('Health', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('answers liveness without a key', async () => {
    const res = await t.http.get('/health').expect(200);
    expect(res.body).toEqual({ status: 'ok' });
    expect(res.headers['x-request-id']).toMatch(/^req_/);
  });

  it('reports ready when the database answers and an executor is healthy, with the queue', async () => {
    const res = await t.http.get('/health/ready').expect(200);
    expect(res.body).toMatchObject({
      status: 'ready',
      checks: { database: 'ok', queue: 'ok (0 waiting, 0 running)', executors: expect.stringMatching(/^ok \(local\b/) },
    });
    // Each loaded executor's own state: local is healthy here; docker and ssh say why not (no engine, no hosts configured).
    expect(res.body.executors.local).toBe('ok');
    for (const state of Object.values(res.body.executors as Record<string, string>)) expect(state === 'ok' || state.startsWith('unhealthy: ')).toBe(true);
  });

  it('reports 503 NOT_READY when no executor can run', async () => {
    const broken = await startTestApp({ TENSORIFY_EXECUTORS: JSON.stringify({ local: { python: '/nonexistent/python3' } }) });
    try {
      const res = await broken.http.get('/health/ready').expect(503);
      expect(res.body.error.code).toBe('NOT_READY');
      expect(res.body.error.details.checks.database).toBe('ok');
      expect(res.body.error.details.checks.executors).toMatch(/^no healthy executor: .*\blocal: the Python interpreter "\/nonexistent\/python3" cannot run/);
      expect(res.body.error.details.executors.local).toBe('unhealthy: the Python interpreter "/nonexistent/python3" cannot run: not found');
    } finally {
      await broken.close();
    }
  });

  it('reports 503 NOT_READY once the database is gone', async () => {
    const dataSource = t.app.get(require('typeorm').DataSource);
    await dataSource.destroy();
    const res = await t.http.get('/health/ready').expect(503);
    expect(res.body.error.code).toBe('NOT_READY');
    expect(res.body.error.requestId).toBe(res.headers['x-request-id']);
    await dataSource.initialize();
  });
});
