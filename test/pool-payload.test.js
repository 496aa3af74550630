'use strict';
// The pool's shared-memory fast path (lib/pool/payload.ts) against structuredClone: for every
// value the fast path accepts, what it decodes must equal what structured clone gives, exactly
// (-0, NaN, lone surrogates, undefined properties, key order, prototypes dropped); the values it
// refuses (holes, shared references, class instances, big values) go by postMessage, which is
// structured clone itself. Checked on generated values and end to end through a pool.
const path = require('node:path');
const fc = require('fast-check');
const { PayloadCodec, MAX_STRING, MAX_ENTRIES } = require('../dist/pool/payload');
const { Pool, MAX_FAST_BYTES } = require('worker-waker/pool');
const { within } = require('./support/pool');

const BYTES = MAX_FAST_BYTES;
const codec = new PayloadCodec(new SharedArrayBuffer(BYTES + 16));

/** Exact equality as structured clone defines it: Object.is for primitives, same keys in the same order, plain prototypes, holes kept. */
function sameClone(a, b) {
  return shape(a) === shape(b);
}
// A serialization that keeps all of that. Prototypes are compared by kind, not identity:
// structuredClone is the main realm's function, and Jest runs this file in another realm.
function shape(value) {
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value !== 'object' || value === null) return `${typeof value}:${String(value)}`;
  const proto = Object.getPrototypeOf(value);
  const plain = proto !== null && Object.getPrototypeOf(proto) === null && proto.constructor.name === 'Object';
  const kind = Array.isArray(value) ? 'array' : plain ? 'object' : proto === null ? 'null-prototype' : 'other';
  const keys = Reflect.ownKeys(value).filter((k) => typeof k === 'string');
  return `${kind}(${Array.isArray(value) ? value.length : ''}){${keys.map((k) => `${k}:${shape(value[k])}`).join(',')}}`;
}

const leaf = fc.oneof(
  fc.double(), // every float64, -0, NaN and the infinities included
  fc.constantFrom(-0, NaN, 0, 2 ** 53, -Infinity),
  fc.string({ maxLength: 40, unit: 'binary' }), // lone surrogates included
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
);
const key = fc.oneof(fc.string({ maxLength: 8 }), fc.nat(20).map(String), fc.constantFrom('__proto__', 'constructor', 'length'));
const value = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, leaf, tie('object'), tie('array'), tie('sparse'), tie('instance'), tie('nullProto')),
  object: fc.dictionary(key, tie('node'), { maxKeys: 6 }),
  array: fc.array(tie('node'), { maxLength: 6 }),
  sparse: fc.sparseArray(tie('node'), { maxLength: 6 }),
  instance: tie('object').map((fields) => Object.assign(new (class Point {})(), fields)),
  nullProto: tie('object').map((fields) => Object.assign(Object.create(null), fields)),
}));

test('whatever the fast path accepts decodes exactly as structuredClone gives it', () => {
  let accepted = 0;
  fc.assert(
    fc.property(value.node, (input) => {
      const end = codec.encode(input, 0, BYTES);
      if (end < 0) return true; // refused: takes the postMessage path, which is structured clone
      accepted++;
      const decoded = codec.decode(0);
      expect(codec.end).toBe(end);
      const cloned = structuredClone(input);
      if (!sameClone(decoded, cloned)) throw new Error(`fast path ${shape(decoded)} vs structuredClone ${shape(cloned)}`);
      return true;
    }),
    { numRuns: 3000, seed: 12 },
  );
  expect(accepted).toBeGreaterThan(500); // the property did test the fast path
});

test('the fast path refuses what it cannot copy exactly, and values past its thresholds', () => {
  const refused = (input) => codec.encode(input, 0, BYTES) === -1;
  const shared = { a: 1 };
  const circular = {};
  circular.self = circular;
  expect(refused([1, , 3])).toBe(true); // a hole
  expect(refused(Object.assign([1, 2], { extra: true }))).toBe(true);
  expect(refused({ a: shared, b: shared })).toBe(true); // identity kept only by structured clone
  expect(refused(circular)).toBe(true);
  expect(refused(new Date(0))).toBe(true);
  expect(refused(new (class Point {})())).toBe(true);
  expect(refused(new Proxy({}, {}))).toBe(true);
  expect(refused(1n)).toBe(true);
  expect(refused(JSON.parse('{"__proto__": 1}'))).toBe(true);
  expect(refused('x'.repeat(MAX_STRING + 1))).toBe(true);
  expect(refused('x'.repeat(MAX_STRING))).toBe(false);
  expect(refused(Array.from({ length: MAX_ENTRIES + 1 }, () => 0))).toBe(true);
  expect(refused(Array.from({ length: 200 }, (_, i) => i))).toBe(true); // more bytes than the record
});

test('end to end: values through a pool equal structuredClone, fast path or not', async () => {
  const pool = new Pool({ filename: path.join(__dirname, 'fixtures', 'pool-tasks.js'), threads: 1 });
  try {
    const samples = fc.sample(value.node, { numRuns: 300, seed: 7 });
    const results = await within(20000, Promise.all(samples.map((input) => pool.run(input, { name: 'echo' }))), 'the echoes');
    samples.forEach((input, i) => {
      const cloned = structuredClone(input);
      if (!sameClone(results[i], cloned)) throw new Error(`sample ${i}: pool ${shape(results[i])} vs structuredClone ${shape(cloned)}`);
    });
  } finally {
    await pool.close();
  }
});
