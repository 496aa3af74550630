'use strict';
// Helpers shared by the pool tests.

/** Rejects after `ms` so that a hang fails the test instead of timing out the suite. */
function within(ms, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

module.exports = { within };
