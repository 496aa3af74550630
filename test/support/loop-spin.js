'use strict';
// What the test build says of this thread's event-loop spin (acquireAsync's spinMicroseconds),
// shared by the spin suites. Load test/support/test-addon.js first, as they do.
const native = require('./test-addon');

const stats = () => native.asyncSpinStats();

/**
 * How often the loop spin's prepare callback has run (spun, skipped for a pending setImmediate,
 * or skipped by the back-off): unchanged while the prepare handle is stopped.
 */
const prepares = () => {
  const { spins, notSleeping, backingOff } = stats();
  return spins + notSleeping + backingOff;
};

/**
 * Makes each test of the calling file start from a back-off that has not seen earlier tests'
 * fruitless spins (the addon's state is per thread, and Jest runs several test files on one thread).
 */
const freshBackoffEachTest = () => beforeEach(() => native.asyncSpinReset());

module.exports = { stats, prepares, freshBackoffEachTest };
