// Three suites: `unit` (*.spec.ts beside the code in src/), `e2e` (test/e2e: the real app on a SQLite
// file) and `integration` (test/integration: real PostgreSQL, Redis, sshd, Docker, started by .ci/run).
const tsJest = ['ts-jest', { tsconfig: 'test/tsconfig.json' }];
const base = { testEnvironment: 'node', transform: { '^.+\\.ts$': tsJest }, moduleFileExtensions: ['ts', 'js', 'json'] };

module.exports = {
  projects: [
    { ...base, displayName: 'unit', rootDir: __dirname, testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    { ...base, displayName: 'e2e', rootDir: __dirname, testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'] },
    { ...base, displayName: 'integration', rootDir: __dirname, testMatch: ['<rootDir>/test/integration/**/*.int-spec.ts'] },
  ],
};
