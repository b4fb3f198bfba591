import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig, unknownSettingVariables } from './config';

/** The ConfigError thrown by loadConfig(env); fails the test when nothing is thrown. */
function configErrorOf(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  describe('defaults (no variables set)', () => {
    const config = loadConfig({});

    it('listens on port 3000', () => {
      expect(config.port).toBe(3000);
    });

    it('listens on every interface (0.0.0.0)', () => {
      expect(config.host).toBe('0.0.0.0');
    });

    it('keeps its data in ./data, resolved to an absolute path', () => {
      expect(config.dataDir).toBe(resolve('data'));
    });

    it('uses a SQLite file inside the data directory', () => {
      expect(config.database).toEqual({ type: 'sqlite', path: join(resolve('data'), 'tensorify.db') });
    });

    it('logs at level info', () => {
      expect(config.logLevel).toBe('info');
    });

    it('accepts bodies up to 1 MiB', () => {
      expect(config.bodyLimitBytes).toBe(1024 * 1024);
    });

    it('has no Redis, no bootstrap key, no config file and trusts no proxy', () => {
      expect(config).toMatchObject({ redisUrl: null, bootstrapApiKey: null, configFile: null, trustProxy: false });
    });
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ TENSORIFY_PORT: '', TENSORIFY_LOG_LEVEL: '' })).toMatchObject({ port: 3000, logLevel: 'info' });
  });

  it('puts the SQLite file in TENSORIFY_DATA_DIR when only the data dir is given', () => {
    const config = loadConfig({ TENSORIFY_DATA_DIR: '/srv/tensorify' });
    expect(config.dataDir).toBe('/srv/tensorify');
    expect(config.database).toEqual({ type: 'sqlite', path: '/srv/tensorify/tensorify.db' });
  });

  it('parses sizes with units for TENSORIFY_BODY_LIMIT', () => {
    expect(loadConfig({ TENSORIFY_BODY_LIMIT: '512kb' }).bodyLimitBytes).toBe(512 * 1024);
    expect(loadConfig({ TENSORIFY_BODY_LIMIT: '2mb' }).bodyLimitBytes).toBe(2 * 1024 * 1024);
  });

  describe('bad values', () => {
    const ALL_BAD = {
      TENSORIFY_PORT: 'abc',
      TENSORIFY_LOG_LEVEL: 'loud',
      TENSORIFY_DATABASE_URL: 'mysql://x',
      TENSORIFY_BOOTSTRAP_API_KEY: 'short',
      TENSORIFY_BODY_LIMIT: 'lots',
      TENSORIFY_TRUST_PROXY: 'nonsense!',
      TENSORIFY_REDIS_URL: 'http://x',
    };

    it('reports every bad value in one ConfigError, one problem per variable', () => {
      const error = configErrorOf(ALL_BAD);
      expect(error.problems).toHaveLength(Object.keys(ALL_BAD).length);
      for (const name of Object.keys(ALL_BAD)) {
        expect(error.problems.filter((p) => p.startsWith(`${name}:`))).toHaveLength(1);
        expect(error.message).toContain(name);
      }
    });

    it.each([
      ['TENSORIFY_PORT', 'abc'],
      ['TENSORIFY_PORT', '70000'],
      ['TENSORIFY_PORT', '-1'],
      ['TENSORIFY_PORT', '3000.5'],
      ['TENSORIFY_LOG_LEVEL', 'loud'],
      ['TENSORIFY_DATABASE_URL', 'mysql://x'],
      ['TENSORIFY_BOOTSTRAP_API_KEY', 'short'],
      ['TENSORIFY_BOOTSTRAP_API_KEY', 'tfy_has-a-dash-0123456789abcdefghijklmnop'],
      ['TENSORIFY_BODY_LIMIT', 'lots'],
      ['TENSORIFY_TRUST_PROXY', 'nonsense!'],
      ['TENSORIFY_REDIS_URL', 'http://x'],
      ['TENSORIFY_ENTERPRISE_RATE_LIMIT', '0'],
      ['TENSORIFY_AUTH_FAILURES_PER_MINUTE', 'many'],
    ])('rejects %s=%s naming the variable', (name, value) => {
      const error = configErrorOf({ [name]: value });
      expect(error.problems).toEqual([expect.stringMatching(new RegExp(`^${name}: `))]);
    });

    it('does not echo the credentials of a rejected database URL', () => {
      const error = configErrorOf({ TENSORIFY_DATABASE_URL: 'mysql://admin:hunter2secret@db:3306/app' });
      expect(error.message).toContain('TENSORIFY_DATABASE_URL');
      expect(error.message).not.toContain('hunter2secret');
    });
  });

  describe('TENSORIFY_DATABASE_URL', () => {
    it.each(['postgres://tensorify:secret@db.internal:5432/tensorify', 'postgresql://u:p@10.0.0.5/tensorify?sslmode=require'])(
      'uses PostgreSQL for %s',
      (url) => {
        expect(loadConfig({ TENSORIFY_DATABASE_URL: url }).database).toEqual({ type: 'postgres', url });
      },
    );

    it('refuses a PostgreSQL URL without a host', () => {
      expect(configErrorOf({ TENSORIFY_DATABASE_URL: 'postgres:///tensorify' }).problems).toEqual([expect.stringMatching(/^TENSORIFY_DATABASE_URL: /)]);
    });

    it('uses an explicit SQLite file for sqlite:<path>', () => {
      expect(loadConfig({ TENSORIFY_DATABASE_URL: 'sqlite:/var/lib/tensorify/db.sqlite' }).database).toEqual({
        type: 'sqlite',
        path: '/var/lib/tensorify/db.sqlite',
      });
    });
  });

  describe('TENSORIFY_CONFIG file', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'tensorify-config-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    const writeConfig = (content: unknown) => {
      const path = join(dir, 'tensorify.json');
      writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
      return path;
    };

    it('uses the values of the file', () => {
      const path = writeConfig({ port: 4100, logLevel: 'debug', bodyLimit: '2mb', enterpriseRateLimitPerMinute: 2500 });
      const config = loadConfig({ TENSORIFY_CONFIG: path });
      expect(config).toMatchObject({ port: 4100, logLevel: 'debug', bodyLimitBytes: 2 * 1024 * 1024, enterpriseRateLimitPerMinute: 2500, configFile: path });
    });

    it('lets an environment variable win over the file', () => {
      const path = writeConfig({ port: 4100, logLevel: 'debug' });
      const config = loadConfig({ TENSORIFY_CONFIG: path, TENSORIFY_PORT: '5200' });
      expect(config.port).toBe(5200);
      expect(config.logLevel).toBe('debug');
    });

    it('reports an unknown key of the file', () => {
      const path = writeConfig({ port: 4100, prot: 4200 });
      const error = configErrorOf({ TENSORIFY_CONFIG: path });
      expect(error.problems).toEqual([expect.stringMatching(/^TENSORIFY_CONFIG: .*unknown key "prot"/)]);
    });

    it('reports a bad value of the file under the variable it sets', () => {
      const path = writeConfig({ port: 'abc' });
      expect(configErrorOf({ TENSORIFY_CONFIG: path }).problems).toEqual([expect.stringMatching(/^TENSORIFY_PORT: /)]);
    });

    it('reports a missing file', () => {
      const path = join(dir, 'missing.json');
      const error = configErrorOf({ TENSORIFY_CONFIG: path });
      expect(error.problems).toEqual([expect.stringMatching(/^TENSORIFY_CONFIG: .*does not exist/)]);
      expect(error.message).toContain(path);
    });

    it('reports a file that is not JSON', () => {
      const path = writeConfig('{ port: 4100 ');
      expect(configErrorOf({ TENSORIFY_CONFIG: path }).problems).toEqual([expect.stringMatching(/^TENSORIFY_CONFIG: /)]);
    });

    it('reports the file problems together with the bad variables', () => {
      const path = writeConfig({ prot: 1 });
      const error = configErrorOf({ TENSORIFY_CONFIG: path, TENSORIFY_LOG_LEVEL: 'loud' });
      expect(error.problems).toHaveLength(2);
      expect(error.problems.some((p) => p.startsWith('TENSORIFY_CONFIG:'))).toBe(true);
      expect(error.problems.some((p) => p.startsWith('TENSORIFY_LOG_LEVEL:'))).toBe(true);
    });
  });

  describe('the returned config', () => {
    it('is frozen', () => {
      const config = loadConfig({});
      expect(Object.isFrozen(config)).toBe(true);
      expect(() => {
        (config as { port: number }).port = 1;
      }).toThrow(TypeError);
      expect(config.port).toBe(3000);
    });

    it('is frozen all the way down (database settings and proxy list cannot be changed either)', () => {
      const config = loadConfig({ TENSORIFY_TRUST_PROXY: 'loopback,10.0.0.0/8' });
      expect(Object.isFrozen(config.database)).toBe(true);
      expect(Object.isFrozen(config.trustProxy)).toBe(true);
      expect(() => {
        (config.database as { path: string }).path = '/tmp/elsewhere.db';
      }).toThrow(TypeError);
    });
  });
});

describe('unknownSettingVariables', () => {
  it('lists TENSORIFY_* variables that name no setting', () => {
    expect(unknownSettingVariables({ TENSORIFY_TYPO: '1', TENSORIFY_PORT: '3000', TENSORIFY_LOG_LEVEL: 'info', PATH: '/usr/bin', HOME: '/root' })).toEqual([
      'TENSORIFY_TYPO',
    ]);
  });

  it('lists nothing when every TENSORIFY_* variable is a setting', () => {
    expect(unknownSettingVariables({ TENSORIFY_PORT: '3000', TENSORIFY_CONFIG: '/etc/tensorify.json', NODE_ENV: 'production' })).toEqual([]);
    expect(unknownSettingVariables({ TENSORIFY_LOCAL_WARM: 'false', TENSORIFY_LOCAL_MEMORY_LIMIT_MB: '512' })).toEqual([]);
  });
});
