// The local executor's tests: real python3, real processes, real virtualenvs (pip install from the
// configured index). Run from the repository root: npx jest -c plugins/local/jest.config.js
module.exports = {
  displayName: 'local-executor',
  rootDir: __dirname,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.spec.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/test/tsconfig.json' }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  // Building a virtualenv takes a few seconds, more on a slow, busy machine.
  testTimeout: 90_000,
};
