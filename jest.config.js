// Runs TypeScript as native ESM (unified, remark-parse and execa are ESM-only).
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } },
    ],
  },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // The production-server tier needs scripts/temporal-postgres.sh up: `npm run test:postgres`.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/postgres/'],
  // Stops with one line naming `npm run setup` when the Temporal CLI, pytest, Chromium or docker-compose is missing,
  // and gives the run one workflow bundle, built by the first test file that needs it (test/support/bundle.ts).
  globalSetup: '<rootDir>/test/global-setup.ts',
  testTimeout: 120000,
};
