import { hash } from 'node:crypto';
import { API_KEY_PATTERN } from '../config/config';
import { randomBase62 } from '../common/ids';

export const API_KEY_SECRET_PREFIX = 'tfy_';
const SECRET_RANDOM_LENGTH = 43; // 43 base62 characters ≈ 256 bits
const DISPLAY_PREFIX_LENGTH = 12;

export function generateSecret(): string {
  return API_KEY_SECRET_PREFIX + randomBase62(SECRET_RANDOM_LENGTH);
}

export function isWellFormedSecret(secret: string): boolean {
  return API_KEY_PATTERN.test(secret);
}

/** SHA-256 of the secret, hex: what is stored. The one-shot `crypto.hash` (no Hash object), as it runs on every request. */
export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'hex');
}

/** What may be shown of a key after creation: enough to recognise it, far too little to use it. */
export function displayPrefix(secret: string): string {
  return secret.slice(0, DISPLAY_PREFIX_LENGTH);
}
