import { npmError } from './npm-process';

describe(npmError.name, () => {
  const log = 'npm error A complete log of this run can be found in: /root/.npm/_logs/2026-01-01T00_00_00_000Z-debug-0.log';

  it.each([
    [
      'a missing file',
      [
        'npm error code ENOENT',
        'npm error syscall open',
        'npm error path /tmp/x.tgz',
        'npm error errno -2',
        "npm error enoent ENOENT: no such file or directory, open '/tmp/x.tgz'",
        'npm error enoent This is related to npm not being able to find a file.',
        'npm error enoent',
        log,
      ],
      "ENOENT: no such file or directory, open '/tmp/x.tgz'",
    ],
    [
      'a package not on the registry',
      [
        'npm error code E404',
        'npm error 404 Not Found - GET https://registry.npmjs.org/no-such-thing - Not found',
        'npm error 404',
        "npm error 404  'no-such-thing@^1.0.0' is not in this registry.",
        log,
      ],
      '404 Not Found - GET https://registry.npmjs.org/no-such-thing - Not found (E404)',
    ],
    [
      'no network',
      [
        'npm warn retrying',
        'npm error code ENOTFOUND',
        'npm error syscall getaddrinfo',
        'npm error errno ENOTFOUND',
        'npm error network request to https://registry.npmjs.org/x failed, reason: getaddrinfo ENOTFOUND registry.npmjs.org',
        log,
      ],
      'request to https://registry.npmjs.org/x failed, reason: getaddrinfo ENOTFOUND registry.npmjs.org',
    ],
    [
      'a dependency tree npm cannot resolve',
      [
        'npm error code ERESOLVE',
        'npm error ERESOLVE unable to resolve dependency tree',
        'npm error',
        'npm error While resolving: tensorify-verify@0.0.0',
        'npm error For a full report see:',
        'npm error /root/.npm/_logs/x-eresolve-report.txt',
        log,
      ],
      'ERESOLVE unable to resolve dependency tree',
    ],
    [
      'an older npm',
      [
        'npm ERR! code ENOTCACHED',
        "npm ERR! request to https://registry.npmjs.org/x failed: cache mode is 'only-if-cached' but no cached response is available.",
      ],
      "request to https://registry.npmjs.org/x failed: cache mode is 'only-if-cached' but no cached response is available. (ENOTCACHED)",
    ],
    ['only a code', ['npm error code EACCES'], 'npm error EACCES'],
    ['nothing npm said', ['Killed'], undefined],
  ])('%s', (_, lines, expected) => {
    expect(npmError(lines.join('\n'))).toBe(expected);
  });
});
