import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { execFile } from 'node:child_process';
import os from 'node:os';
import { cpu, graphics, osInfo } from 'systeminformation';
import { PACKAGE_VERSION } from '../common/package-info';

/** A GPU as systeminformation reports it. */
export interface SystemGpu {
  model: string;
  vendor: string;
  /** Memory in MiB; null when the driver does not tell. */
  vramMb: number | null;
}

/** The machine's facts that do not change while the server runs: gathered once, at boot. */
interface StaticFacts {
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

/** How long the boot-time gathering may take before the facts are served with what is missing marked so. */
const GATHER_TIMEOUT_MS = 10_000;
const MIB = 1024 * 1024;

/**
 * Host facts for `GET /v1/system`. The static part (OS, CPU, GPUs, Python) is gathered with
 * systeminformation when the module starts, so the first request does not wait for lspci or
 * nvidia-smi; memory and load are read from the kernel on each request (microseconds).
 */
@Injectable()
export class SystemInfoService implements OnModuleInit {
  private readonly logger = new Logger(SystemInfoService.name);
  private facts?: Promise<StaticFacts>;

  onModuleInit(): void {
    // A failure is logged (and retried by the next request) in staticFacts: here it must not become an unhandled rejection, which ends the process.
    this.staticFacts().catch(() => undefined);
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
    this.facts ??= gatherStaticFacts().catch((error: Error) => {
      this.logger.warn(`Gathering host facts failed: ${error.message}`);
      this.facts = undefined; // the next request tries again
      throw error;
    });
    return this.facts;
  }
}

async function gatherStaticFacts(): Promise<StaticFacts> {
  const [system, processor, display, python] = await Promise.all([
    withTimeout(osInfo(), 'osInfo'),
    withTimeout(cpu(), 'cpu'),
    withTimeout(graphics(), 'graphics').catch(() => ({ controllers: [] })),
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

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`systeminformation ${what}() gave no answer within ${GATHER_TIMEOUT_MS} ms`)), GATHER_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
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
