// Tests are written in TypeScript and compiled by `tsc` on the host before they run (in the
// kernel-SCTP VM, transpiling would cost minutes under emulation), so jest runs plain JS.
/** @type {import('jest').Config} */
module.exports = {
  rootDir: __dirname,
  roots: ['<rootDir>/dist/test'],
  testMatch: ['**/*.test.js'],
  transform: {},
  watchman: false,
  testEnvironment: 'node',
  testTimeout: 120000,
  slowTestThreshold: 60,
};
