import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium (`apt-get install -y chromium`): Playwright's core drives it, and downloads no browser of its own. */
export const CHROMIUM_PATH = process.env.TENSORIFY_TEST_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Headless, no sandbox (containers, root), and nothing Chromium would reach out for on its own: on a
 * machine without a network its background connections (component updates, sync, QUIC) otherwise
 * leave it refusing the test's own connections.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Starts headless Chromium. `launch` gives it a fresh, temporary user-data-dir (a new profile each
 * time, deleted on `close()`), so no state carries over between runs.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`No Chromium at ${CHROMIUM_PATH}: install Debian's (apt-get install -y chromium) or set TENSORIFY_TEST_CHROMIUM`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true, timeout: 60_000 });
}

/** `test-output/<name>` at the repository root (gitignored), emptied, for screenshots and the like. */
export function testOutputDir(name: string): string {
  const dir = resolve(__dirname, '..', '..', 'test-output', name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}
