'use strict';
// Jest's globalSetup: every test process, and every worker thread and child process they start,
// loads the test build of the addon (lib/binding.ts), so that the lib and the diagnostics the tests
// read (test/support/test-addon.js) are one copy of the addon even across threads. The test build
// is the release code plus exports. The release binary itself is held to the same shape by
// test/binding-shape.test.js and run as a user runs it by test/package.test.js and test/docs.test.js
// (their children see no WORKER_WAKER_TEST_BUILD).
module.exports = () => {
  process.env.WORKER_WAKER_TEST_BUILD = '1';
};
