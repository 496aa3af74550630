// The shared-memory fast path for task arguments and results: a value that is small and made only
// of primitives, plain objects and dense arrays is written into the task's record (RECORD_BYTES of
// a SharedArrayBuffer) instead of being posted. Anything else returns false from `encode` and the
// caller falls back to structured clone (postMessage), so the fast path must decode to exactly
// what `structuredClone` gives for every value it accepts (test/pool-payload.test.js compares
// them on generated values).
//
// Accepted (thresholds, all checked while encoding):
// - undefined, null, booleans, numbers (every float64, -0 and NaN included);
// - strings of at most MAX_STRING UTF-16 code units (copied as code units: lone surrogates stay);
// - plain objects (prototype Object.prototype or null) and arrays with no holes and no extra
//   properties, at most MAX_ENTRIES entries each, nested at most MAX_DEPTH deep, each object
//   reached once (a shared or circular reference keeps its identity only through structured
//   clone, so it takes the slow path);
// - the whole encoding fits in the record's payload bytes.
// Property order is kept (keys are written in `Object.keys` order, the order structured clone
// reads them); `__proto__` as an own key takes the slow path (assigning it would set the
// prototype).

import { types } from 'node:util';

export const MAX_STRING = 200;
export const MAX_ENTRIES = 64;
export const MAX_DEPTH = 8;

const T_UNDEFINED = 0;
const T_NULL = 1;
const T_FALSE = 2;
const T_TRUE = 3;
const T_NUMBER = 4;
const T_STRING = 5;
const T_OBJECT = 6;
const T_ARRAY = 7;

/** Writes and reads values in one region of shared memory. */
export class PayloadCodec {
  readonly #view: DataView;
  #offset = 0;
  #end = 0;
  #seen: object[] = [];

  constructor(buffer: SharedArrayBuffer) {
    this.#view = new DataView(buffer);
  }

  /**
   * Encodes `value` into bytes [start, end) of the buffer and returns where it ends, or -1
   * (having written garbage there) when the value is not eligible (see above).
   */
  encode(value: unknown, start: number, end: number): number {
    this.#offset = start;
    this.#end = end;
    this.#seen.length = 0;
    let ok = false;
    try {
      ok = this.#write(value, 0);
    } catch {
      // A getter threw: structured clone (the caller's fallback) throws it again where it is reported.
    }
    this.#seen.length = 0;
    return ok ? this.#offset : -1;
  }

  /** Decodes the value that `encode` wrote at `start`; `end` then says where it ended. */
  decode(start: number): unknown {
    this.#offset = start;
    return this.#read();
  }

  /** Where the last `decode` stopped reading. */
  get end(): number {
    return this.#offset;
  }

  #room(bytes: number): boolean {
    return this.#offset + bytes <= this.#end;
  }

  #write(value: unknown, depth: number): boolean {
    const view = this.#view;
    switch (typeof value) {
      case 'undefined':
        return this.#tag(T_UNDEFINED);
      case 'boolean':
        return this.#tag(value ? T_TRUE : T_FALSE);
      case 'number':
        if (!this.#room(9)) return false;
        view.setUint8(this.#offset, T_NUMBER);
        view.setFloat64(this.#offset + 1, value, true);
        this.#offset += 9;
        return true;
      case 'string':
        return this.#writeString(value, T_STRING);
      case 'object':
        if (value === null) return this.#tag(T_NULL);
        return depth < MAX_DEPTH && this.#writeObject(value, depth);
      default:
        return false; // bigint, symbol, function: structured clone's business
    }
  }

  #tag(tag: number): boolean {
    if (!this.#room(1)) return false;
    this.#view.setUint8(this.#offset++, tag);
    return true;
  }

  #writeString(value: string, tag: number): boolean {
    const length = value.length;
    if (length > MAX_STRING || !this.#room(3 + 2 * length)) return false;
    const view = this.#view;
    let at = this.#offset;
    view.setUint8(at, tag);
    view.setUint16(at + 1, length, true);
    at += 3;
    for (let i = 0; i < length; i++, at += 2) view.setUint16(at, value.charCodeAt(i), true);
    this.#offset = at;
    return true;
  }

  #writeObject(value: object, depth: number): boolean {
    // A Proxy: structured clone refuses it, and its traps must not run here.
    if (this.#seen.includes(value) || types.isProxy(value)) return false;
    this.#seen.push(value);
    const view = this.#view;
    if (Array.isArray(value)) {
      const length = value.length;
      // Holes and extra properties: keys() would differ from the indices. Index keys come first,
      // in order, so `length` keys ending with the last index are exactly 0 .. length - 1.
      if (length > MAX_ENTRIES || Object.getPrototypeOf(value) !== Array.prototype) return false;
      const keys = Object.keys(value);
      if (keys.length !== length || (length > 0 && keys[length - 1] !== String(length - 1))) return false;
      if (!this.#room(3)) return false;
      view.setUint8(this.#offset, T_ARRAY);
      view.setUint16(this.#offset + 1, length, true);
      this.#offset += 3;
      for (let i = 0; i < length; i++) if (!this.#write(value[i], depth + 1)) return false;
      return true;
    }
    const prototype: unknown = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) return false; // class instances, Date, Map, ...
    const keys = Object.keys(value);
    if (keys.length > MAX_ENTRIES || !this.#room(3)) return false;
    view.setUint8(this.#offset, T_OBJECT);
    view.setUint16(this.#offset + 1, keys.length, true);
    this.#offset += 3;
    const record = value as Record<string, unknown>;
    for (const key of keys) {
      if (key === '__proto__') return false;
      // The key's tag byte is unused; writeString's layout is reused as is.
      if (!this.#writeString(key, T_STRING) || !this.#write(record[key], depth + 1)) return false;
    }
    return true;
  }

  #read(): unknown {
    const view = this.#view;
    const tag = view.getUint8(this.#offset++);
    switch (tag) {
      case T_UNDEFINED:
        return undefined;
      case T_NULL:
        return null;
      case T_FALSE:
        return false;
      case T_TRUE:
        return true;
      case T_NUMBER: {
        const number = view.getFloat64(this.#offset, true);
        this.#offset += 8;
        return number;
      }
      case T_STRING:
        return this.#readStringBody();
      case T_ARRAY: {
        const length = view.getUint16(this.#offset, true);
        this.#offset += 2;
        const array = new Array<unknown>(length);
        for (let i = 0; i < length; i++) array[i] = this.#read();
        return array;
      }
      case T_OBJECT: {
        const count = view.getUint16(this.#offset, true);
        this.#offset += 2;
        const object: Record<string, unknown> = {};
        for (let i = 0; i < count; i++) {
          this.#offset++; // the key's tag
          const key = this.#readStringBody();
          object[key] = this.#read();
        }
        return object;
      }
      default:
        throw new Error(`worker-waker/pool: corrupt payload (tag ${tag})`);
    }
  }

  #readStringBody(): string {
    const view = this.#view;
    const length = view.getUint16(this.#offset, true);
    let at = this.#offset + 2;
    let text = '';
    // Short strings: concatenating code units is faster than building an array for a decoder.
    for (let i = 0; i < length; i++, at += 2) text += String.fromCharCode(view.getUint16(at, true));
    this.#offset = at;
    return text;
  }
}
