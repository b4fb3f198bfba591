import { performance } from 'node:perf_hooks';
import { useTestApp } from '../support/test-app';

describe('GET /v1/system', () => {
  const t = useTestApp();

  it('needs a key', async () => {
    const res = await t.http.get('/v1/system').expect(401);
    expect(res.body.error.code).toBe('UNAUTHORIZED');
  });

  // Gathered once (SystemInfoService's spec shows it, and that a slow probe never fails it):
  // how long the first call takes depends on how busy the machine is, so it is logged, not asserted.
  it("answers any scope with the machine's OS, CPU, memory, GPUs and Python", async () => {
    const workspace = await t.createWorkspace();
    const { key } = await t.createKey(workspace, ['executions:read']);
    const started = performance.now();
    const res = await t.http.get('/v1/system').set('Authorization', t.bearer(key)).expect(200);
    const elapsed = performance.now() - started;
    const body = res.body;
    expect(body.server).toEqual({ version: expect.stringMatching(/^\d+\.\d+\.\d+/), node: process.version, uptimeSeconds: expect.any(Number) });
    expect(body.os).toMatchObject({ platform: 'linux', arch: expect.any(String), hostname: expect.any(String), distro: expect.any(String) });
    expect(body.cpu.cores).toBeGreaterThanOrEqual(1);
    expect(body.memory.totalMb).toBeGreaterThan(0);
    expect(body.memory.availableMb).toBeLessThanOrEqual(body.memory.totalMb);
    expect(body.loadAverage).toHaveLength(3);
    expect(body.python.version).toMatch(/^3\.\d+\.\d+/);
    // This machine has no GPU: the list is empty (on one with a GPU it names it).
    expect(Array.isArray(body.gpus)).toBe(true);
    console.log(`GET /v1/system first call: ${elapsed.toFixed(1)} ms; gpus: ${JSON.stringify(body.gpus)}`);
  });
});
