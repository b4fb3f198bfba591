import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppConfig } from '../config/config';
import { SECRETS_KEY_FILE, SecretBox } from './secret-box';

describe(SecretBox.name, () => {
  let dataDir: string;
  const box = (secretsKey: Buffer | null = null) => new SecretBox({ dataDir, secretsKey, redisUrl: null } as unknown as AppConfig);

  beforeEach(() => (dataDir = mkdtempSync(join(tmpdir(), 'tensorify-secret-box-'))));
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('seals with a fresh IV each time and opens what it sealed, bound to its row', () => {
    const sealed = box(Buffer.alloc(32, 7)).seal('whsec_abc', 'hk_1');
    expect(sealed).toMatch(/^v1\.[0-9a-f]{8}\./);
    expect(sealed).not.toContain('abc');
    expect(box(Buffer.alloc(32, 7)).seal('whsec_abc', 'hk_1')).not.toBe(sealed);
    expect(box(Buffer.alloc(32, 7)).open(sealed, 'hk_1')).toBe('whsec_abc');
    expect(() => box(Buffer.alloc(32, 7)).open(sealed, 'hk_2')).toThrow();
  });

  it('refuses, with 503 NOT_READY, what another key sealed', () => {
    const sealed = box(Buffer.alloc(32, 7)).seal('whsec_abc', 'hk_1');
    expect(() => box(Buffer.alloc(32, 8)).open(sealed, 'hk_1')).toThrow(expect.objectContaining({ status: 503, code: 'NOT_READY' }));
  });

  it('without a configured key, generates one into the data directory (mode 0600) and keeps using it', () => {
    const sealed = box().seal('whsec_abc', 'hk_1');
    const file = join(dataDir, SECRETS_KEY_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64')).toHaveLength(32);
    expect(box().open(sealed, 'hk_1')).toBe('whsec_abc');
  });
});
