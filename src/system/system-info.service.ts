import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { execFile } from 'node:child_process';
import os from 'node:os';
import type { Systeminformation } from 'systeminformation';
import { PACKAGE_VERSION } from '../common/package-info';
import { withTimeout } from '../common/timeout';

/** A GPU as systeminformation reports it. */
export interface SystemGpu {
  model: string;
  vendor: string;
  /** Memory in MiB; null when the driver does not tell. */
  vramMb: number | null;
}

/** The machine's facts that do not change while the server runs: gathered once, right after the server listens. */
export interface StaticFacts {
  os: { platform: string; distro: string; release: string; kernel: string; arch: string; hostname: string };
  cpu: { manufacturer: string; brand: string; cores: number; physicalCores: number; speedGHz: number | null };
  gpus: SystemGpu[];
  python: { executable: string; version: string | null; detail?: string };
}

export interface SystemFacts extends StaticFacts {
  server: { version: string; node: string; uptimeSeconds: number };
  memory: { totalMb: number; availableMb: number };
  loadAverage: number[];
  collectedAt: string;
}

/**
 * How long systeminformation may take for one fact before Node's own (coarser) answer stands in
 * for it: on a busy machine its probes (lsb_release, lscpu, lspci …) can take many seconds.
 */
const GATHER_TIMEOUT_MS = 10_000;
const MIB = 1024 * 1024;

/**
 * Host facts for `GET /v1/system`. The static part (OS, CPU, GPUs, Python) is gathered once with
 * systeminformation a second after the server listens (`runServer` calls `gatherInBackground`):
 * a request to /v1/system does not wait for lspci or nvidia-smi, and neither the boot nor the
 * first requests wait for systeminformation's parsing (some 150 ms of CPU). Where nobody calls it
 * (the e2e tests' app), the first request gathers them. Memory and load are read from the kernel on each request (microseconds). Gathering
 * never fails: a fact that systeminformation cannot give in time, or at all, is taken from Node's
 * `os` module instead (and logged), so the answer does not depend on how busy the machine is.
 */
@Injectable()
export class SystemInfoService implements OnApplicationShutdown {
  private readonly logger = new Logger(SystemInfoService.name);
  private facts?: Promise<StaticFacts>;
  private gatherTimer?: NodeJS.Timeout;

  /** Starts gathering the static facts after `delayMs` (unless a request asks for them first). */
  gatherInBackground(delayMs = 0): void {
    this.gatherTimer = setTimeout(() => {
      // A failure is logged (and retried by the next request) in staticFacts: here it must not become an unhandled rejection, which ends the process.
      this.staticFacts().catch(() => undefined);
    }, delayMs);
    this.gatherTimer.unref();
  }

  /** A stop right after the start waits for the gathering (at most its timeout): nothing of it runs on after the app is closed. */
  async onApplicationShutdown(): Promise<void> {
    clearTimeout(this.gatherTimer);
    await this.facts?.catch(() => undefined);
  }

  async get(): Promise<SystemFacts> {
    const facts = await this.staticFacts();
    return {
      server: { version: PACKAGE_VERSION, node: process.version, uptimeSeconds: Math.round(process.uptime()) },
      ...facts,
      memory: { totalMb: Math.round(os.totalmem() / MIB), availableMb: Math.round(os.freemem() / MIB) },
      loadAverage: os.loadavg().map((load) => Math.round(load * 100) / 100),
      collectedAt: new Date().toISOString(),
    };
  }

  private staticFacts(): Promise<StaticFacts> {
    this.facts ??= gatherStaticFacts((what, error) => this.logger.warn(`systeminformation ${what}(): ${error.message}; Node's own answer stands in`));
    return this.facts;
  }
}

/** Told which systeminformation call Node's answer stood in for, and why. */
export type OnFallback = (what: string, error: Error) => void;

/** Where the static facts come from: systeminformation, unless a test hands in its own. */
export interface FactSources {
  osInfo: () => Promise<Systeminformation.OsData>;
  cpu: () => Promise<Systeminformation.CpuData>;
  graphics: () => Promise<Pick<Systeminformation.GraphicsData, 'controllers'>>;
}

// Required when the facts are first gathered, after the boot: requiring systeminformation alone
// costs some 100 ms of CPU, which the boot would otherwise pay before its first request.
const systeminformation = () => import('systeminformation');
const SYSTEMINFORMATION: FactSources = {
  osInfo: async () => (await systeminformation()).osInfo(),
  cpu: async () => (await systeminformation()).cpu(),
  graphics: async () => (await systeminformation()).graphics(),
};

/** The host's static facts; never rejects (see SystemInfoService). */
export async function gatherStaticFacts(onFallback: OnFallback, timeoutMs = GATHER_TIMEOUT_MS, sources: FactSources = SYSTEMINFORMATION): Promise<StaticFacts> {
  const factOr = <T>(what: string, gather: () => Promise<T>, fallback: () => T): Promise<T> =>
    withTimeout(gather(), timeoutMs, `no answer within ${timeoutMs} ms`).catch((error: Error) => {
      onFallback(what, error);
      return fallback();
    });
  const [system, processor, display, python] = await Promise.all([
    factOr('osInfo', sources.osInfo, nodeOsInfo),
    factOr('cpu', sources.cpu, nodeCpu),
    factOr('graphics', sources.graphics, () => ({ controllers: [] })),
    pythonVersion('python3'),
  ]);
  return {
    os: { platform: system.platform, distro: system.distro, release: system.release, kernel: system.kernel, arch: system.arch, hostname: system.hostname },
    cpu: {
      manufacturer: processor.manufacturer,
      brand: processor.brand,
      cores: processor.cores,
      physicalCores: processor.physicalCores,
      speedGHz: processor.speed || null,
    },
    gpus: display.controllers
      .filter((controller) => /nvidia|\bamd\b|advanced micro devices|\bati\b/i.test(`${controller.vendor} ${controller.model}`))
      .map((controller) => ({
        model: controller.model || controller.name || 'GPU',
        vendor: controller.vendor,
        vramMb: controller.memoryTotal ?? controller.vram ?? null,
      })),
    python,
  };
}

/** The OS as Node sees it: no distribution name or release, which only systeminformation reads. */
function nodeOsInfo(): Pick<Systeminformation.OsData, 'platform' | 'distro' | 'release' | 'kernel' | 'arch' | 'hostname'> {
  return { platform: os.platform(), distro: 'unknown', release: 'unknown', kernel: os.release(), arch: os.arch(), hostname: os.hostname() };
}

/** The CPU as Node sees it: the model name and logical cores (physical cores are not told apart). */
function nodeCpu(): Pick<Systeminformation.CpuData, 'manufacturer' | 'brand' | 'cores' | 'physicalCores' | 'speed'> {
  const [first] = os.cpus();
  const cores = os.availableParallelism();
  return { manufacturer: 'unknown', brand: first?.model ?? 'unknown', cores, physicalCores: cores, speed: first ? first.speed / 1000 : 0 };
}

/** The version `python --version` prints, or why it cannot run. */
function pythonVersion(executable: string): Promise<StaticFacts['python']> {
  return new Promise((resolve) => {
    execFile(executable, ['--version'], { timeout: 5000 }, (error, stdout, stderr) => {
      const match = /Python (\S+)/.exec(`${stdout}${stderr}`);
      if (match) resolve({ executable, version: match[1] });
      else resolve({ executable, version: null, detail: error ? error.message : 'no version printed' });
    });
  });
}
