// Five suites: `unit` (*.spec.ts beside the code in src/), `e2e` (test/e2e: the real app on a SQLite
// file), `codegen` (test/codegen: generated programs checked and run with python3), `integration` (test/integration: real PostgreSQL, Redis, sshd, Docker, started by .ci/run) and
// `e2e-postgres` (the e2e suite on PostgreSQL; part of `npm run test:integration`).
const tsJest = ['ts-jest', { tsconfig: 'test/tsconfig.json' }];
// Every answer of an e2e test app is checked against the OpenAPI document; a test fails on a violation.
const CONTRACT_CHECK = '<rootDir>/test/support/openapi-contract.setup.ts';
const base = { testEnvironment: 'node', transform: { '^.+\\.ts$': tsJest }, moduleFileExtensions: ['ts', 'js', 'json'] };

module.exports = {
  // Suites that start real servers and processes get room for a slow, busy machine (a global option: projects ignore it).
  testTimeout: 30_000,
  projects: [
    { ...base, displayName: 'unit', rootDir: __dirname, testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    { ...base, displayName: 'e2e', rootDir: __dirname, testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'], setupFilesAfterEnv: [CONTRACT_CHECK] },
    // The plugins' tests that need no service: the first-party local executor (real processes and virtualenvs), the example
    // third-party plugin in plugins/examples, the ssh executor's Python run here without SSH, the docker executor without an
    // engine, the SDK's conformance programs. (Those needing sshd or Docker are *.int-spec.ts, in `integration`.)
    {
      ...base,
      displayName: 'local-executor',
      rootDir: __dirname,
      testMatch: ['<rootDir>/plugins/**/test/**/*.spec.ts'],
    },
    // The compiler's output run for real: python3, and black and pyflakes pinned in a cached test venv (test/support/python.ts).
    { ...base, displayName: 'codegen', rootDir: __dirname, testMatch: ['<rootDir>/test/codegen/**/*.codegen-spec.ts'] },
    {
      // Real PostgreSQL, Redis, sshd, Docker engine and Slurm (started by .ci/run), the executor plugins' own suites included.
      ...base,
      displayName: 'integration',
      rootDir: __dirname,
      testMatch: ['<rootDir>/test/integration/**/*.int-spec.ts', '<rootDir>/plugins/*/test/**/*.int-spec.ts'],
    },
    {
      // The e2e suite again, each test app on a fresh PostgreSQL database (the process tests spawn SQLite servers).
      ...base,
      displayName: 'e2e-postgres',
      rootDir: __dirname,
      testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/process.e2e-spec.ts', '<rootDir>/test/e2e/process-crash.e2e-spec.ts'],
      setupFiles: ['<rootDir>/test/support/use-postgres.ts'],
      setupFilesAfterEnv: [CONTRACT_CHECK],
    },
  ],
};
