'use strict';
// The demo's tiny task: a 32-bit integer hash of x (a few dozen nanoseconds of work), the same
// module for both pools. Tasks are numbers in, numbers out.
function mix(x) {
  let h = x | 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

module.exports = mix;
