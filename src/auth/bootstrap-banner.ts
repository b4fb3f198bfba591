import type { BootstrapResult } from './bootstrap.service';

/** Prints a generated bootstrap key, the only time it is ever shown (to the console, never to the logs). */
export function printBootstrapKey(result: BootstrapResult | null, apiUrl?: string): void {
  if (!result?.generatedSecret) return;
  process.stderr.write(
    `\n  First start: created workspace "default" (${result.workspaceId}) and its admin API key.\n` +
      `  Admin API key (shown only this once; store it now):\n\n      ${result.generatedSecret}\n\n` +
      (apiUrl ? `  Try:  curl -H "Authorization: Bearer ${result.generatedSecret}" ${apiUrl}/v1/me\n\n` : ''),
  );
}
