import { randomInt } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Uniformly random base62 text from the OS's CSPRNG (rejection sampling inside randomInt). */
export function randomBase62(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += BASE62[randomInt(62)];
  return out;
}

export const ID_PREFIX = { workflow: 'wf', workspace: 'ws', apiKey: 'key', execution: 'exec', hook: 'hk' } as const;

/** A public id such as `wf_3mT8c0RkQ2xZp9Lb`: a type prefix and 16 random base62 characters. */
export function newId(prefix: (typeof ID_PREFIX)[keyof typeof ID_PREFIX]): string {
  return `${prefix}_${randomBase62(16)}`;
}

/** True when `value` could be an id of this prefix; anything else cannot exist, so it is a 404 without a query. */
export function looksLikeId(prefix: string, value: string): boolean {
  return value.length <= 64 && value.startsWith(`${prefix}_`) && /^[A-Za-z0-9]+$/.test(value.slice(prefix.length + 1));
}
