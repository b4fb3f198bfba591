import type { Executor, ExecutorCapabilities, PluginLogger } from '@tensorify/executor-sdk';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Clock } from '../common/clock';
import { createExecutorRegistry, ExecutorRegistry } from './executor-registry';
import type { LoadedPlugin } from './plugin-loader';

function fakeExecutor(capabilities: () => Promise<ExecutorCapabilities>, close?: () => Promise<void>): Executor {
  return { capabilities, run: async () => ({ exitCode: 0 }), ...(close ? { close } : {}) };
}

function plugin(id: string, executor?: Executor, loadError?: string): LoadedPlugin {
  return {
    id,
    displayName: id,
    version: '1.0.0',
    packageName: `tensorify-executor-${id}`,
    packagePath: `/plugins/${id}`,
    source: 'installed',
    ...(executor ? { executor } : {}),
    ...(loadError ? { loadError } : {}),
  };
}

const healthy = () => fakeExecutor(async () => ({ gpu: false }));
const silentLogger: PluginLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

describe(ExecutorRegistry.name, () => {
  describe('lookup', () => {
    const plugins = [plugin('ssh', healthy()), plugin('docker', undefined, 'create() failed: no socket'), plugin('local', healthy())];
    const registry = new ExecutorRegistry(plugins);

    it('lists every plugin, loaded or not, in load order', () => {
      expect(registry.list().map((p) => p.id)).toEqual(['ssh', 'docker', 'local']);
    });

    it('gets only loaded executors', () => {
      expect(registry.get('ssh')?.executor).toBe(plugins[0].executor);
      expect(registry.get('docker')).toBeUndefined();
      expect(registry.get('nope')).toBeUndefined();
    });

    it('defaults to local when it loaded', () => {
      expect(registry.default()?.id).toBe('local');
    });

    it('defaults to the first loaded executor without local', () => {
      const withoutLocal = new ExecutorRegistry([plugin('docker', undefined, 'broken'), plugin('ssh', healthy()), plugin('echo', healthy())]);

      expect(withoutLocal.default()?.id).toBe('ssh');
    });

    it('has no default when nothing loaded', () => {
      expect(new ExecutorRegistry([plugin('local', undefined, 'broken')]).default()).toBeUndefined();
    });
  });

  describe('capabilities', () => {
    let now: number;
    const clock: Clock = { now: () => now };
    beforeEach(() => (now = 1_000_000));

    it('reports a loaded executor as healthy unless it says otherwise', async () => {
      const registry = new ExecutorRegistry([
        plugin(
          'gpu',
          fakeExecutor(async () => ({ gpu: true, gpus: [{ model: 'A100' }] })),
        ),
      ]);

      expect(await registry.capabilities('gpu')).toEqual({ gpu: true, gpus: [{ model: 'A100' }], healthy: true });
    });

    it('reuses the answer for the cache period, then asks again', async () => {
      const capabilities = jest.fn(async () => ({ gpu: false, detail: `asked at ${now}` }));
      const registry = new ExecutorRegistry([plugin('local', fakeExecutor(capabilities))], { capabilitiesTtlMs: 5_000, clock });

      const first = await registry.capabilities('local');
      now += 4_999;
      const cached = await registry.capabilities('local');
      now += 1;
      const fresh = await registry.capabilities('local');

      expect(capabilities).toHaveBeenCalledTimes(2);
      expect(cached).toEqual(first);
      expect(fresh).toEqual({ gpu: false, healthy: true, detail: 'asked at 1005000' });
    });

    it('shares one call between concurrent callers', async () => {
      const capabilities = jest.fn(async () => ({ gpu: false }));
      const registry = new ExecutorRegistry([plugin('local', fakeExecutor(capabilities))], { clock });

      await Promise.all([registry.capabilities('local'), registry.capabilities('local')]);

      expect(capabilities).toHaveBeenCalledTimes(1);
    });

    it('reports an executor that does not answer in time as unhealthy instead of waiting', async () => {
      const hanging = fakeExecutor(() => new Promise<never>(() => undefined));
      const registry = new ExecutorRegistry([plugin('stuck', hanging)], { capabilitiesTimeoutMs: 50, clock });

      expect(await registry.capabilities('stuck')).toEqual({ gpu: false, healthy: false, detail: 'capabilities did not answer within 50 ms' });
    });

    it('reports an executor whose capabilities throw as unhealthy', async () => {
      const failing = fakeExecutor(async () => {
        throw new Error('docker daemon not reachable');
      });
      const registry = new ExecutorRegistry([plugin('docker', failing)]);

      expect(await registry.capabilities('docker')).toEqual({ gpu: false, healthy: false, detail: 'capabilities failed: docker daemon not reachable' });
    });

    it('reports a malformed answer as unhealthy', async () => {
      const registry = new ExecutorRegistry([
        plugin(
          'odd',
          fakeExecutor(async () => ({}) as ExecutorCapabilities),
        ),
      ]);

      expect(await registry.capabilities('odd')).toEqual({ gpu: false, healthy: false, detail: 'capabilities answered without a boolean "gpu"' });
    });

    it('has none for an executor that did not load', async () => {
      const registry = new ExecutorRegistry([plugin('docker', undefined, 'broken')]);

      expect(await registry.capabilities('docker')).toBeUndefined();
      expect(await registry.capabilities('nope')).toBeUndefined();
    });
  });

  describe('closeAll', () => {
    it('closes every loaded executor, even when one fails to close, and logs the failure', async () => {
      const closed: string[] = [];
      const warnings: string[] = [];
      const logger = { ...silentLogger, warn: (message: string) => void warnings.push(message) };
      const registry = new ExecutorRegistry(
        [
          plugin(
            'a',
            fakeExecutor(
              async () => ({ gpu: false }),
              async () => void closed.push('a'),
            ),
          ),
          plugin(
            'b',
            fakeExecutor(
              async () => ({ gpu: false }),
              async () => Promise.reject(new Error('already gone')),
            ),
          ),
          plugin('c', healthy()),
          plugin(
            'd',
            fakeExecutor(
              async () => ({ gpu: false }),
              async () => void closed.push('d'),
            ),
          ),
        ],
        { logger },
      );

      await expect(registry.closeAll()).resolves.toBeUndefined();

      expect(closed).toEqual(['a', 'd']);
      expect(warnings).toEqual(['Executor "b" failed to close: already gone']);
    });

    it('closes each executor only once', async () => {
      const close = jest.fn(async () => undefined);
      const registry = new ExecutorRegistry([
        plugin(
          'a',
          fakeExecutor(async () => ({ gpu: false }), close),
        ),
      ]);

      await Promise.all([registry.closeAll(), registry.closeAll()]);
      await registry.closeAll();

      expect(close).toHaveBeenCalledTimes(1);
    });
  });
});

describe(createExecutorRegistry.name, () => {
  let dataDir: string;
  beforeEach(() => (dataDir = mkdtempSync(path.join(tmpdir(), 'tensorify-registry-'))));
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('loads the configured plugins with their configuration, beside the first-party ones of plugins/', async () => {
    const echoPath = path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'plugins', 'good-executor');

    const registry = await createExecutorRegistry({ dataDir, executorPlugins: [echoPath], executors: { echo: { greeting: 'hi' } } }, silentLogger);

    expect(await registry.capabilities('echo')).toEqual({ gpu: false, healthy: true, detail: 'greets with "hi"' });
    expect(registry.get('echo')).toMatchObject({ source: 'configured', packagePath: echoPath });
    // plugins/local is found in plugins/ (whether or not it is built yet), and only there: not again through node_modules.
    const local = registry.list().filter((p) => p.packageName === '@tensorify/executor-local');
    expect(local).toEqual([
      expect.objectContaining({ id: 'local', source: 'first-party', packagePath: path.resolve(__dirname, '..', '..', 'plugins', 'local') }),
    ]);
    await registry.closeAll();
  });
});
