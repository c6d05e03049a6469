// The tier that runs on the real Temporal server on PostgreSQL (scripts/temporal-postgres.sh up):
// `npm run test:postgres`. One file at a time: its tests share one cluster and crash its server.
import base from './jest.config.js';

export default {
  ...base,
  testMatch: ['<rootDir>/test/postgres/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  maxWorkers: 1,
  testTimeout: 300000,
};
