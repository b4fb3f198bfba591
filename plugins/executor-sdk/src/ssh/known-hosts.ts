import { createHash, createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** A host key's fingerprint as `ssh-keygen -lf` prints it: `SHA256:` and the unpadded base64 of the key blob's SHA-256. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** A fingerprint as configured, padding dropped, for comparison. */
export function normaliseFingerprint(text: string): string {
  return text.trim().replace(/=+$/, '');
}

/** The key type named inside an SSH public key blob (`ssh-ed25519`, `ssh-rsa`…). */
export function keyType(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const length = key.readUInt32BE(0);
  return length > 0 && length < 64 && key.length >= 4 + length ? key.subarray(4, 4 + length).toString('latin1') : 'unknown';
}

interface KnownHostsEntry {
  marker?: '@revoked' | '@cert-authority';
  patterns: string;
  type: string;
  key: Buffer;
}

/** The entries of a known_hosts file that concern one host. */
export interface HostKeys {
  /** Keys listed for the host (not revoked). */
  keys: { type: string; key: Buffer }[];
  /** Revoked keys (`@revoked` lines, whatever host they name). */
  revoked: Buffer[];
}

/** The name a known_hosts file lists a host under: `host` on port 22, else `[host]:port`. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/**
 * Reads an OpenSSH known_hosts file and picks what concerns `host`:`port`. Understands plain
 * pattern lists (`a,b,*.example.com,!c.example.com`, `[host]:port`), hashed names
 * (`|1|salt|hash`), `@revoked` and (ignored: host certificates are not supported) `@cert-authority`.
 * A missing file lists nothing.
 */
export async function readKnownHosts(file: string, host: string, port: number): Promise<HostKeys> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { keys: [], revoked: [] };
    throw new Error(`cannot read the known_hosts file ${file}: ${(error as Error).message}`);
  }
  return matchKnownHosts(parseKnownHosts(text), knownHostsName(host, port));
}

export function parseKnownHosts(text: string): KnownHostsEntry[] {
  const entries: KnownHostsEntry[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let marker: KnownHostsEntry['marker'];
    if (fields[0].startsWith('@')) {
      if (fields[0] !== '@revoked' && fields[0] !== '@cert-authority') continue;
      marker = fields.shift() as KnownHostsEntry['marker'];
    }
    const [patterns, type, blob] = fields;
    if (!patterns || !type || !blob || !/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) continue;
    entries.push({ marker, patterns, type, key: Buffer.from(blob, 'base64') });
  }
  return entries;
}

export function matchKnownHosts(entries: readonly KnownHostsEntry[], name: string): HostKeys {
  const keys: HostKeys['keys'] = [];
  const revoked: Buffer[] = [];
  for (const entry of entries) {
    if (entry.marker === '@revoked') {
      revoked.push(entry.key);
      continue;
    }
    if (entry.marker === '@cert-authority') continue;
    if (hostMatches(entry.patterns, name)) keys.push({ type: entry.type, key: entry.key });
  }
  return { keys, revoked };
}

/** Whether a known_hosts host field names `name`: a hashed name, or patterns where a negated match vetoes. */
export function hostMatches(patterns: string, name: string): boolean {
  if (patterns.startsWith('|1|')) {
    const [, , salt, hash] = patterns.split('|');
    if (!salt || !hash) return false;
    const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return digest === hash;
  }
  let matched = false;
  for (const pattern of patterns.split(',')) {
    if (pattern.startsWith('!')) {
      if (wildcard(pattern.slice(1), name)) return false;
    } else if (wildcard(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

function wildcard(pattern: string, name: string): boolean {
  const source = pattern
    .toLowerCase()
    .split('')
    .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`).test(name.toLowerCase());
}

/** The host key algorithms to offer, the ones known_hosts lists for the host first (as OpenSSH does). */
export function hostKeyAlgorithms(knownTypes: readonly string[]): string[] | undefined {
  if (knownTypes.length === 0) return undefined;
  const all = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  const first = knownTypes.flatMap((type) => (type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type])).filter((type) => all.includes(type));
  return [...new Set([...first, ...all])];
}

export type HostKeyVerdict =
  | { ok: true; how: 'known_hosts' | 'fingerprint' | 'unknown-accepted'; fingerprint: string; type: string }
  | { ok: false; reason: string; fingerprint: string; type: string };

/**
 * Checks an offered host key. With pinned fingerprints, the key must be one of them. Without, it
 * must be a key known_hosts lists for the host; a host known_hosts lists with other keys only is
 * a mismatch, always refused; a host it does not list is unknown, accepted only with
 * `acceptUnknown`. A key marked @revoked is always refused.
 */
export function verifyHostKey(offered: Buffer, known: HostKeys, pinned: readonly string[], acceptUnknown: boolean, knownHostsPath: string): HostKeyVerdict {
  const print = fingerprint(offered);
  const type = keyType(offered);
  const mismatch = (expected: string): HostKeyVerdict => ({
    ok: false,
    fingerprint: print,
    type,
    reason: `HOST KEY MISMATCH: the host offered ${type} ${print}, which is not ${expected} (a changed host key, or someone in the middle): refused`,
  });
  if (known.revoked.some((key) => key.equals(offered))) {
    return { ok: false, fingerprint: print, type, reason: `the host key ${type} ${print} is marked @revoked in ${knownHostsPath}` };
  }
  if (pinned.length > 0) {
    if (pinned.some((pin) => normaliseFingerprint(pin) === print)) return { ok: true, how: 'fingerprint', fingerprint: print, type };
    return mismatch(`the pinned fingerprint${pinned.length > 1 ? 's' : ''} ${pinned.join(', ')}`);
  }
  if (known.keys.some((entry) => entry.key.equals(offered))) return { ok: true, how: 'known_hosts', fingerprint: print, type };
  if (known.keys.length > 0) {
    return mismatch(
      `the key${known.keys.length > 1 ? 's' : ''} ${knownHostsPath} lists for it (${known.keys.map((entry) => `${entry.type} ${fingerprint(entry.key)}`).join(', ')})`,
    );
  }
  if (acceptUnknown) return { ok: true, how: 'unknown-accepted', fingerprint: print, type };
  return {
    ok: false,
    fingerprint: print,
    type,
    reason: `unknown host key ${type} ${print}: not in ${knownHostsPath} and no fingerprint is pinned (add it with ssh-keyscan, pin it in "fingerprints", or set acceptUnknownHostKeys)`,
  };
}
