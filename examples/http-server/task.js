'use strict';
// The request's work: about 50 µs of CPU (a hash loop), the same module for both pools.
function work(seed) {
  const end = performance.now() + 0.05;
  let h = seed | 0;
  while (performance.now() < end) h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) + 1;
  return { seed, hash: h >>> 0 };
}

module.exports = work;
