import type { GpuInfo } from '@tensorify/executor-sdk';
import { graphics } from 'systeminformation';

/** Vendors whose GPUs PyTorch can use as its `cuda` device (CUDA, and ROCm builds). */
const COMPUTE_VENDORS: { pattern: RegExp; vendor: string }[] = [
  { pattern: /nvidia/i, vendor: 'NVIDIA' },
  { pattern: /\bamd\b|advanced micro devices|\bati\b/i, vendor: 'AMD' },
];

/**
 * The machine's compute GPUs, from systeminformation's graphics controllers (lspci, nvidia-smi):
 * those of NVIDIA and AMD, with their memory. A server's onboard display chip (ASPEED, Matrox…) is
 * not one. Detection failing counts as no GPU.
 */
export async function detectGpus(): Promise<GpuInfo[]> {
  let controllers: Awaited<ReturnType<typeof graphics>>['controllers'];
  try {
    ({ controllers } = await graphics());
  } catch {
    return [];
  }
  return controllers.flatMap((controller): GpuInfo[] => {
    const match = COMPUTE_VENDORS.find(({ pattern }) => pattern.test(`${controller.vendor ?? ''} ${controller.model ?? ''}`));
    if (match === undefined) return [];
    const vram = controller.memoryTotal ?? controller.vram;
    return [{ model: controller.model || controller.name || `${match.vendor} GPU`, vendor: match.vendor, ...(vram ? { vramMb: vram } : {}) }];
  });
}
