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

  it('reports ready when the database answers', async () => {
    const res = await t.http.get('/health/ready').expect(200);
    expect(res.body).toEqual({ status: 'ready', checks: { database: 'ok' } });
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
