'use strict';
// WORKER_WAKER_TIME_SCALE (default 1) stretches latency bounds, such as how fast a teardown or a
// termination must finish, for runs under emulation: scripts/platforms.js sets it for linux-arm64 under
// qemu-user, where everything runs about ten times slower. It never touches a conservation check or a
// count, only how long a test waits or how long a step may take.
const raw = process.env.WORKER_WAKER_TIME_SCALE ?? '1';
const TIME_SCALE = Number(raw);
if (!Number.isFinite(TIME_SCALE) || TIME_SCALE < 1) {
  throw new RangeError(`WORKER_WAKER_TIME_SCALE must be a number >= 1, got ${JSON.stringify(raw)}`);
}

/** `ms` stretched by the time scale. */
const scaled = (ms) => ms * TIME_SCALE;

module.exports = { TIME_SCALE, scaled };
