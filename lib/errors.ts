// Argument checks with Node-style messages: each error names the argument, the allowed range
// and the value received, and carries a stable `code`. Errors are made here, in the caller's
// realm, never by the addon: an Error the addon creates belongs to the realm that loaded the .node
// file, so `instanceof TypeError` fails for it in another realm (a Jest test, a vm context).
import { types } from 'node:util';

function describe(value: unknown): string {
  switch (typeof value) {
    case 'number':
    case 'boolean':
      return `${String(value)}`;
    case 'bigint':
      return `${value}n`;
    case 'string':
      return `type string (${JSON.stringify(value.length > 28 ? `${value.slice(0, 25)}...` : value)})`;
    case 'undefined':
      return 'undefined';
    case 'symbol':
      return `type symbol (${String(value)})`;
    case 'function':
      return `function ${value.name || '<anonymous>'}`;
    default:
      if (value === null) return 'null';
      return `an instance of ${constructorName(value as object)}`;
  }
}

// The class name of an object, found without running any of its code: no getters, no Proxy
// traps (a hostile argument must not be able to turn a TypeError into something else).
function constructorName(value: object): string {
  if (types.isProxy(value)) return 'Proxy';
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype === null || typeof prototype !== 'object' || types.isProxy(prototype)) return 'Object';
  const constructor = Object.getOwnPropertyDescriptor(prototype, 'constructor')?.value;
  if (typeof constructor !== 'function' || types.isProxy(constructor)) return 'Object';
  const name = Object.getOwnPropertyDescriptor(constructor, 'name')?.value;
  return typeof name === 'string' && name !== '' ? name : 'Object';
}

function withCode<E extends Error>(error: E, code: string): E {
  Object.defineProperty(error, 'code', { value: code, enumerable: true, writable: true, configurable: true });
  return error;
}

export function invalidType(name: string, expected: string, value: unknown): TypeError {
  return withCode(
    new TypeError(`The "${name}" argument must be ${expected}. Received ${describe(value)}`),
    'ERR_INVALID_ARG_TYPE',
  );
}

export function outOfRange(name: string, range: string, value: unknown): RangeError {
  return withCode(
    new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${describe(value)}`),
    'ERR_OUT_OF_RANGE',
  );
}

export function invalidReceiver(className: string, method: string): TypeError {
  return withCode(
    new TypeError(`${className}.prototype.${method} was called on an object that is not a ${className}`),
    'ERR_INVALID_THIS',
  );
}

/** `value` must be an integer in [min, max]. */
export function checkInteger(value: unknown, name: string, min: number, max: number): asserts value is number {
  if (typeof value !== 'number') throw invalidType(name, 'of type number', value);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw outOfRange(name, `an integer from ${min} to ${max}`, value);
  }
}

export function checkBigUint64Array(value: unknown, name: string): asserts value is BigUint64Array {
  if (!types.isBigUint64Array(value)) throw invalidType(name, 'an instance of BigUint64Array', value);
}
