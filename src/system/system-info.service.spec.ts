import os from 'node:os';
import { gatherStaticFacts, SystemInfoService } from './system-info.service';

describe(SystemInfoService.name, () => {
  it('gathers the host facts once, in the background, and serves them with the current memory and load', async () => {
    const service = new SystemInfoService();
    service.gatherInBackground();
    const [first, second] = await Promise.all([service.get(), service.get()]);
    expect(first.os).toBe(second.os);
    expect(first.cpu.cores).toBeGreaterThanOrEqual(1);
    expect(first.memory.totalMb).toBe(Math.round(os.totalmem() / 1024 / 1024));
    expect(first.loadAverage).toHaveLength(3);
  });

  it('gathers nothing when stopped before the delay: no timer is left behind', async () => {
    jest.useFakeTimers();
    try {
      const service = new SystemInfoService();
      service.gatherInBackground(1_000);
      expect(jest.getTimerCount()).toBe(1);
      await service.onApplicationShutdown();
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  it("answers with Node's own facts, never an error, when systeminformation gives no answer in time", async () => {
    const fellBack: string[] = [];
    // Sources that never answer, as systeminformation on a machine too busy to answer in time. (The
    // real calls would go on after the test and load modules once Jest has torn the file down.)
    const never = () => new Promise<never>(() => undefined);
    const facts = await gatherStaticFacts((what, error) => fellBack.push(`${what}: ${error.message}`), 5, { osInfo: never, cpu: never, graphics: never });
    expect(fellBack.sort()).toEqual(['cpu: no answer within 5 ms', 'graphics: no answer within 5 ms', 'osInfo: no answer within 5 ms']);
    expect(facts.os).toEqual({
      platform: os.platform(),
      distro: 'unknown',
      release: 'unknown',
      kernel: os.release(),
      arch: os.arch(),
      hostname: os.hostname(),
    });
    expect(facts.cpu).toMatchObject({ brand: os.cpus()[0].model, cores: os.availableParallelism() });
    expect(facts.gpus).toEqual([]);
    expect(facts.python.version).toMatch(/^3\.\d+\.\d+/);
  });
});
