/** Jest runs the compiled JS in dist/ through the package entry: the tests exercise what ships. */
module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.test.js'],
  // The test build of the addon for every test process, worker and child (see the file).
  globalSetup: '<rootDir>/test/support/global-setup.js',
  // .dev/ caches tools and a Debian root for scripts/platforms.js: not the project's modules.
  modulePathIgnorePatterns: ['<rootDir>/.dev/'],
  testTimeout: 20000,
  // Worker threads and child processes: keep runs bounded on the 2-core CI machines.
  maxWorkers: 2,
};
