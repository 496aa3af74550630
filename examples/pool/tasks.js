'use strict';
// The demo's tasks, one module for both pools:
//   default   a 32-bit integer hash of a number (tens of nanoseconds of work)
//   object    an object of 10 fields in, an object of 10 fields out
//   later     awaits one setImmediate turn of the worker's event loop, then hashes
function mix(x) {
  let h = x | 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The demo's small object for `x` (10 fields). */
function makeObject(x) {
  return { id: x, name: `item-${x % 1000}`, x: x * 0.5, y: -x, z: x % 7, active: x % 2 === 0, tag: 'demo', score: x / 3, count: x % 100, owner: 'pool' };
}

function object(input) {
  return {
    id: input.id,
    name: input.name.toUpperCase(),
    x: input.x * 2,
    y: input.y + 1,
    z: input.z,
    active: !input.active,
    tag: input.tag,
    score: Math.round(input.score),
    count: input.count + 1,
    hash: mix(input.id),
  };
}

async function later(x) {
  await new Promise((resolve) => setImmediate(resolve));
  return mix(x);
}

module.exports = mix;
module.exports.mix = mix;
module.exports.object = object;
module.exports.later = later;
module.exports.makeObject = makeObject;
