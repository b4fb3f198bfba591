import type { BootstrapResult } from './bootstrap.service';

/**
 * The text that shows a generated bootstrap key: the only time it is ever shown, on the console
 * and never in the logs. Empty when no key was generated.
 */
export function bootstrapKeyNotice(result: BootstrapResult | null, apiUrl?: string): string {
  if (!result?.generatedSecret) return '';
  const tryIt = apiUrl ? `  Try:  curl -H "Authorization: Bearer ${result.generatedSecret}" ${apiUrl}/v1/me\n\n` : '';
  return (
    `\n  First start: created workspace "default" (${result.workspaceId}) and its admin API key.\n` +
    `  Admin API key (shown only this once; store it now):\n\n      ${result.generatedSecret}\n\n` +
    tryIt
  );
}
