import { Inject, Injectable, Logger } from '@nestjs/common';
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, ServiceUnavailableError } from '../common/errors';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';

/** The key file's name in the data directory, when TENSORIFY_SECRETS_KEY is not given. */
export const SECRETS_KEY_FILE = 'secrets.key';

const ALGORITHM = 'aes-256-gcm';
const FORMAT = 'v1';

/** A short fingerprint of a key, stored with each ciphertext, so that a process holding another key says so instead of failing to decrypt. */
function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/**
 * Secrets at rest (webhook secrets, which HMAC needs in the clear, so they cannot be hashed):
 * AES-256-GCM (Node's crypto; no library needed for one cipher call) under the server's key,
 * with a fresh 96-bit IV per value and the row's id as additional data, so a ciphertext cannot be
 * moved to another row. Stored as `v1.<key id>.<iv>.<tag>.<ciphertext>` (base64url).
 *
 * The key is TENSORIFY_SECRETS_KEY, or else `<dataDir>/secrets.key`, generated (mode 0600) the
 * first time a secret is sealed or opened. Nothing here logs a secret or the key.
 */
@Injectable()
export class SecretBox {
  private readonly log = new Logger(SecretBox.name);
  private key?: { bytes: Buffer; id: string };

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  seal(plaintext: string, boundTo: string): string {
    const key = this.currentKey();
    const iv = randomBytes(12);
    const cipher = createCipheriv(ALGORITHM, key.bytes, iv).setAAD(Buffer.from(boundTo, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [FORMAT, key.id, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
  }

  /** The plaintext of `sealed`; 503 when it was sealed under another key (instances that do not share TENSORIFY_SECRETS_KEY). */
  open(sealed: string, boundTo: string): string {
    const key = this.currentKey();
    const [format, keyId, iv, tag, ciphertext] = sealed.split('.');
    if (format !== FORMAT || keyId !== key.id) {
      this.log.error(`A stored secret was sealed under key ${keyId}, but this process has key ${key.id}: give every instance the same TENSORIFY_SECRETS_KEY`);
      throw new ServiceUnavailableError(
        ErrorCode.NOT_READY,
        "This server cannot read the hook's secret (it was stored under another TENSORIFY_SECRETS_KEY); the operator must give every instance the same key",
      );
    }
    const decipher = createDecipheriv(ALGORITHM, key.bytes, Buffer.from(iv, 'base64url'))
      .setAAD(Buffer.from(boundTo, 'utf8'))
      .setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  }

  private currentKey(): { bytes: Buffer; id: string } {
    if (this.key === undefined) {
      const bytes = this.config.secretsKey ?? this.keyFromDataDir();
      this.key = { bytes, id: keyIdOf(bytes) };
    }
    return this.key;
  }

  /** Reads `<dataDir>/secrets.key`, or creates it: written aside, then linked into place, so two processes starting at once agree on one key. */
  private keyFromDataDir(): Buffer {
    const path = join(this.config.dataDir, SECRETS_KEY_FILE);
    if (this.config.redisUrl !== null) {
      this.log.warn(
        `TENSORIFY_SECRETS_KEY is not set in the distributed mode: this instance uses ${path}, which other instances do not share; ` +
          'webhooks created on one instance then fail on the others. Give every instance the same TENSORIFY_SECRETS_KEY',
      );
    }
    try {
      return this.readKeyFile(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    mkdirSync(this.config.dataDir, { recursive: true });
    const aside = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(aside, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    try {
      linkSync(aside, path);
      this.log.log(`Generated the key that encrypts webhook secrets: ${path} (keep it with the database; back both up)`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      unlinkSync(aside);
    }
    return this.readKeyFile(path);
  }

  private readKeyFile(path: string): Buffer {
    const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new Error(`${path} must hold 32 bytes as base64; it holds ${key.length}`);
    if ((statSync(path).mode & 0o077) !== 0) {
      chmodSync(path, 0o600);
      this.log.warn(`${path} was readable by other users; its mode is now 0600`);
    }
    return key;
  }
}
