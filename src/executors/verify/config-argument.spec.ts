import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readConfigArgument } from './config-argument';

describe(readConfigArgument.name, () => {
  it('reads inline JSON and JSON files, and refuses anything but an object', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tensorify-verify-config-'));
    try {
      writeFileSync(path.join(dir, 'config.json'), '{"host": "gpu-1"}');
      writeFileSync(path.join(dir, 'broken.json'), '{');

      expect(await readConfigArgument('{"greeting": "hi"}')).toEqual({ greeting: 'hi' });
      expect(await readConfigArgument('config.json', dir)).toEqual({ host: 'gpu-1' });
      await expect(readConfigArgument('[1]')).rejects.toThrow('--config must be a JSON object, not an array');
      await expect(readConfigArgument('{bad')).rejects.toThrow(/^--config is no valid JSON: /);
      await expect(readConfigArgument('broken.json', dir)).rejects.toThrow(/^--config file broken\.json holds no valid JSON: /);
      await expect(readConfigArgument('missing.json', dir)).rejects.toThrow(
        /^--config must be a JSON object or the path of a JSON file; cannot read missing\.json: ENOENT/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
