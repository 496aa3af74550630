'use strict';
// The test build of the addon, loaded by the package itself: require this before anything from
// dist/, and both it and the lib use build/Release/worker_waker_test.node (the release exports
// plus the diagnostics in test-addon.d.ts). One copy matters: some diagnostics count per copy of
// the addon (waitQueues, asyncPending).
process.env.WORKER_WAKER_TEST_BUILD = '1';
const { native } = require('../../dist/binding');

if (typeof native.waitQueues !== 'function') {
  throw new Error('dist/binding was loaded with the release addon before test/support/test-addon.js: require this helper first');
}
module.exports = native;
