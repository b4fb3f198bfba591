import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_SCHEMES = ['tensorify', 'github', 'none'] as const;
export type SignatureScheme = (typeof SIGNATURE_SCHEMES)[number];

/** The header each scheme reads (lower-case, as Node gives them); it is left out of the trigger's output. */
export const SIGNATURE_HEADERS: Record<Exclude<SignatureScheme, 'none'>, string> = {
  tensorify: 'tensorify-signature',
  github: 'x-hub-signature-256',
};

/** How far a `tensorify` signature's timestamp may be from the server's clock: older (or newer) deliveries are refused as replays. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

const hmacHex = (secret: string, ...parts: (string | Buffer)[]) => {
  const hmac = createHmac('sha256', secret);
  for (const part of parts) hmac.update(part);
  return hmac.digest('hex');
};

/** Compares two hex digests in constant time (a length mismatch is refused without comparing). */
function sameDigest(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given.toLowerCase(), 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** `Tensorify-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. */
export function tensorifySignature(secret: string, body: Buffer | string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${hmacHex(secret, `${unixSeconds}.`, body)}`;
}

/** `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`, as GitHub sends it. */
export function githubSignature(secret: string, body: Buffer | string): string {
  return `sha256=${hmacHex(secret, body)}`;
}

/**
 * Why a delivery's signature is refused, or null when it is good. `header` is the scheme's header
 * (undefined when missing); `nowMs` the server's clock. Several `v1=` values may be given (a
 * sender rolling its secret); one matching is enough.
 */
export function signatureProblem(scheme: SignatureScheme, header: string | string[] | undefined, body: Buffer, secret: string, nowMs: number): string | null {
  if (scheme === 'none') return null;
  const name = scheme === 'tensorify' ? 'Tensorify-Signature' : 'X-Hub-Signature-256';
  if (header === undefined || header === '') return `Missing ${name} header: this hook's deliveries must be signed (signature "${scheme}")`;
  if (Array.isArray(header)) return `Send one ${name} header, not ${header.length}`;
  if (scheme === 'github') {
    const match = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
    if (!match) return `${name} must be "sha256=<64 hex digits>"`;
    return sameDigest(hmacHex(secret, body), match[1]) ? null : `${name} does not match the body: wrong secret, or the body changed on the way`;
  }
  const fields = header.split(',').map((part) => part.trim().split('='));
  const timestamps = fields.filter(([key]) => key === 't').map(([, value]) => value);
  const signatures = fields.filter(([key, value]) => key === 'v1' && /^[0-9a-fA-F]{64}$/.test(value ?? '')).map(([, value]) => value);
  if (timestamps.length !== 1 || !/^\d{1,12}$/.test(timestamps[0] ?? '') || signatures.length === 0) {
    return `${name} must be "t=<unix seconds>,v1=<64 hex digits>"`;
  }
  const t = Number(timestamps[0]);
  if (Math.abs(nowMs / 1000 - t) > SIGNATURE_TOLERANCE_SECONDS) {
    return `${name} timestamp ${t} is more than ${SIGNATURE_TOLERANCE_SECONDS} s from the server's clock (${Math.floor(nowMs / 1000)}): sign each delivery when you send it`;
  }
  const expected = hmacHex(secret, `${t}.`, body);
  return signatures.some((given) => sameDigest(expected, given)) ? null : `${name} does not match "<t>.<body>": wrong secret, or the body changed on the way`;
}
