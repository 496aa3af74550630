'use strict';
// Test cases generated from the API table (lib/surface.ts): for each argument of each member, the
// values it must accept and the values it must refuse, with the error the contract names. The
// expected messages are written here, not taken from lib/, so that a check in lib/ that drifts from
// the table fails.
const { SURFACE } = require('../../dist/surface');

const isFixedLimit = (limit) => typeof limit === 'number' || typeof limit === 'bigint';
const limitOf = (limit, args) => (isFixedLimit(limit) ? limit : limit(args));

/** "2n ** 62n" for a power of two, else "123n": how the range of a bigint argument reads. */
function bigintText(value) {
  const log2 = value.toString(2).length - 1;
  return value > 1n && value === 1n << BigInt(log2) ? `2n ** ${log2}n` : `${value}n`;
}

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Valid arguments for `member`, by name and in order: arrays from `fixtures` (by argument name),
 * each integer one above its lowest value (so that a limit that depends on it is not 0), within its
 * range given the arguments before and the arrays; `fixed` names values to keep.
 */
function validArgs(member, fixtures, fixed = {}) {
  const named = { ...fixed };
  for (const arg of member.args) {
    if (arg.type === 'BigUint64Array') named[arg.name] = fixtures[arg.name];
  }
  for (const arg of member.args) {
    if (arg.name in fixed) continue;
    if (arg.type === 'integer') {
      const min = limitOf(arg.min, named);
      named[arg.name] = Math.min(min + 1, limitOf(arg.max, named));
    } else if (arg.type === 'number') {
      named[arg.name] = arg.min;
    } else if (arg.type === 'bigint') {
      named[arg.name] = arg.min + 1n;
    }
  }
  return named;
}

/**
 * Refused values of one argument: [value, error class, code, message pattern]. The message names
 * the argument and, for a RangeError, the range.
 */
function refusedValues(arg, named) {
  const typeError = (expected) => new RegExp(`^The "${escape(arg.name)}" argument must be ${escape(expected)}\\. Received `);
  const rangeError = (range, name = arg.name) =>
    new RegExp(`^The value of "${escape(name)}" is out of range\\. It must be ${escape(range)}\\. Received `);
  const cases = [];
  const wrongType = (values, pattern) => {
    for (const value of values) cases.push([value, TypeError, 'ERR_INVALID_ARG_TYPE', pattern]);
  };
  const outOfRange = (values, pattern) => {
    for (const value of values) cases.push([value, RangeError, 'ERR_OUT_OF_RANGE', pattern]);
  };
  switch (arg.type) {
    case 'integer': {
      const min = limitOf(arg.min, named);
      const max = limitOf(arg.max, named);
      const nonNumbers = ['1', 1n, null, {}, true, Object(1)];
      if (!arg.optional) nonNumbers.push(undefined);
      wrongType(nonNumbers, typeError('of type number'));
      const below = min - 1 >= -Number.MAX_SAFE_INTEGER ? [min - 1] : [];
      outOfRange([...below, max + 1, min + 0.5, NaN, Infinity, -Infinity], rangeError(`an integer from ${min} to ${max}`));
      break;
    }
    case 'number':
      // The contract: anything but a number >= min is out of range, a non-number too.
      outOfRange([arg.min - 1, -Infinity, NaN, undefined, '5', 5n, null, {}], rangeError(`a number >= ${arg.min} (Infinity allowed)`));
      break;
    case 'bigint':
      wrongType([3, '1', undefined, null, {}, Object(1n)], typeError('of type bigint'));
      outOfRange([arg.min - 1n, arg.limit, arg.limit * 4n], rangeError(`>= ${bigintText(arg.min)} and < ${bigintText(arg.limit)}`));
      break;
    case 'BigUint64Array':
      wrongType(
        [[0n], new BigInt64Array(100), new Float64Array(100), new Uint32Array(200), null, undefined, {}, new SharedArrayBuffer(800)],
        typeError('an instance of BigUint64Array'),
      );
      if (arg.minLength > 0) {
        outOfRange([new BigUint64Array(arg.minLength - 1)], rangeError(`at least ${arg.minLength}`, `${arg.name}.length`));
      }
      break;
    case 'SharedArrayBuffer':
      wrongType([new ArrayBuffer(1024), 'x', 1, null, {}, new BigUint64Array(128)], new RegExp(`^The "${arg.name}" argument must be `));
      break;
    case 'WorkerWaker':
      wrongType([undefined, null, {}, 'x', new SharedArrayBuffer(1024)], new RegExp(`^The "${arg.name}" argument must be an instance of WorkerWaker`));
      break;
    default:
      // options: checked by the acquireAsync tests, which reject rather than throw.
      break;
  }
  return cases;
}

/**
 * The refused calls of `member`, one argument at a time: `{ member, args, position, value,
 * ErrorClass, code, message }`, the other arguments as `named` has them.
 */
function refusedCallsOf(member, named) {
  return member.args.flatMap((arg, position) =>
    refusedValues(arg, named).map(([value, ErrorClass, code, message]) => {
      const args = member.args.map((other) => named[other.name]);
      args[position] = value;
      return { member: member.name, args, position, value, ErrorClass, code, message };
    }),
  );
}

/** Every refused call of the synchronous methods of `className`, the other arguments valid. */
function refusedCalls(className, fixtures) {
  return SURFACE[className]
    .filter((member) => member.kind === 'method' && !member.async)
    .flatMap((member) => refusedCallsOf(member, validArgs(member, fixtures)));
}

/** Every refused constructor call of `className`, the other arguments as `valid` names them. */
function refusedConstructorCalls(className, valid) {
  return refusedCallsOf(SURFACE[className].find((member) => member.kind === 'constructor'), valid);
}

/** Each method's valid arguments at the lowest and the highest value of each integer argument. */
function boundaryCalls(className, fixtures) {
  const calls = [];
  for (const member of SURFACE[className]) {
    if (member.kind !== 'method' || member.async) continue;
    member.args.forEach((arg, position) => {
      if (arg.type !== 'integer') return;
      const named = validArgs(member, fixtures);
      for (const value of [limitOf(arg.min, named), limitOf(arg.max, named)]) {
        // The arguments after this one are chosen again: their ranges may depend on it.
        const withValue = validArgs(member, fixtures, { ...Object.fromEntries(member.args.slice(0, position).map((a) => [a.name, named[a.name]])), [arg.name]: value });
        calls.push({ member: member.name, args: member.args.map((other) => withValue[other.name]), position, value });
      }
    });
  }
  return calls;
}

/** What an option accepts, as its errors say it: [TypeError text, RangeError text or undefined]. */
function optionTexts(option) {
  switch (option.type) {
    case 'integer':
      if (option.auto) return ["a number or 'auto'", `an integer >= ${option.min}, Infinity or 'auto'`];
      return ['of type number', `an integer from ${option.min} to ${option.max}`];
    case 'number':
      return ['of type number', option.finite ? `a finite number > ${option.min}` : `a number >= ${option.min} (Infinity allowed)`];
    case 'path':
      return ['an absolute path or a file: URL', undefined];
    case 'string':
      return ['a string', undefined];
    case 'array':
      return ['an array', undefined];
    case 'AbortSignal':
      return ['an AbortSignal', undefined];
    case 'clonable':
      return ['a value structured clone copies', undefined];
    case 'object':
      return [option.shareEnv ? 'an object or worker_threads.SHARE_ENV' : 'an object', undefined];
    default:
      throw new Error(`${option.name}: no text for an option of type ${option.type}`);
  }
}

/**
 * Refused values of each option of `fields` (and of the fields of a nested object), one option at
 * a time: `{ option, path, value, ErrorClass, code, message }`; `path` is where the value goes in
 * the options object (['resourceLimits', 'stackSizeMb']), `option` how the error names it.
 */
function refusedOptions(fields, parents = []) {
  const cases = [];
  for (const option of fields) {
    const path = [...parents, option.name];
    const name = path.join('.');
    const [expected, range] = optionTexts(option);
    const pattern = (text) => new RegExp(`^The "${escape(name)}" option must be ${escape(text)}[.:] `);
    const refuse = (values, ErrorClass, code, text) => {
      for (const value of values) cases.push({ option: name, path, value, ErrorClass, code, message: pattern(text) });
    };
    const wrongType = (values) => refuse(option.required ? [...values, undefined] : values, TypeError, 'ERR_INVALID_ARG_TYPE', expected);
    const outOfRange = (values) => refuse(values, RangeError, 'ERR_OUT_OF_RANGE', range);
    switch (option.type) {
      case 'integer':
        wrongType(['1', 1n, null, {}, true, Object(1)]);
        outOfRange([option.min - 1, option.min + 0.5, NaN, -Infinity, ...(option.max === Infinity ? [] : [option.max + 1, Infinity])]);
        break;
      case 'number':
        wrongType(['1', 1n, null, {}, true, Object(1)]);
        outOfRange([option.min - 1, NaN, -Infinity, ...(option.finite ? [option.min, Infinity] : [])]);
        break;
      case 'path':
        wrongType(['relative/task.js', 'http://example.com/task.js', new URL('https://example.com/task.js'), 5, null, {}, true]);
        break;
      case 'string':
        wrongType([5, 1n, null, {}, true]);
        break;
      case 'array':
        wrongType(['buffer', { length: 1, 0: new ArrayBuffer(1) }, new Uint8Array(1), 5, null]);
        break;
      case 'AbortSignal':
        wrongType([{}, new EventTarget(), { aborted: false }, 5, 'signal', true]);
        break;
      case 'clonable':
        wrongType([() => 1, { s: Symbol('x') }, { f() {} }]);
        break;
      case 'object':
        wrongType([5, 'x', true, null, () => {}, ...(option.shareEnv ? [Symbol('env')] : [])]);
        if (option.fields) cases.push(...refusedOptions(option.fields, path));
        break;
      default:
        throw new Error(`${name}: no refused values for an option of type ${option.type}`);
    }
  }
  return cases;
}

/**
 * Values each option must accept, at the edges of its range: `{ option, path, value }`. `given`
 * supplies those the table cannot make (a path, a string), by option name.
 */
function acceptedOptions(fields, given = {}, parents = []) {
  const cases = [];
  for (const option of fields) {
    const path = [...parents, option.name];
    const name = path.join('.');
    const accept = (values) => {
      for (const value of values) cases.push({ option: name, path, value });
    };
    switch (option.type) {
      case 'integer':
        accept([option.min, option.max, ...(option.auto ? ['auto'] : [])]);
        break;
      case 'number':
        // An open range has no edge: a finite option takes a plain value (64 MB is a workable limit of each kind).
        accept(option.finite ? [64] : [option.min, Infinity]);
        break;
      case 'AbortSignal':
        accept([null, new AbortController().signal]);
        break;
      case 'array':
        accept([[]]);
        break;
      case 'clonable':
        accept([{ nested: [1, 'two', new Map([[3, 4n]])] }, null]);
        break;
      case 'object':
        accept([{}, ...(option.shareEnv ? [require('node:worker_threads').SHARE_ENV] : [])]);
        if (option.fields) cases.push(...acceptedOptions(option.fields, given, path));
        break;
      default:
        break;
    }
    if (name in given) accept(given[name]);
  }
  return cases;
}

/** An options object: `base` with `value` at `path`. */
function withOption(base, path, value) {
  const options = { ...base };
  if (path.length === 1) options[path[0]] = value;
  else options[path[0]] = withOption(options[path[0]] ?? {}, path.slice(1), value);
  return options;
}

/** The refused values of an options object itself: anything but an object (left out, when optional). */
function refusedOptionsObjects(arg) {
  const values = [null, 5, 'options', true, 1n];
  if (!arg.optional) values.push(undefined);
  return values.map((value) => ({ value, message: new RegExp(`^The "${escape(arg.name)}" argument must be an object\\. Received `) }));
}

module.exports = {
  SURFACE,
  limitOf,
  isFixedLimit,
  validArgs,
  refusedValues,
  refusedCalls,
  refusedConstructorCalls,
  boundaryCalls,
  bigintText,
  optionTexts,
  refusedOptions,
  acceptedOptions,
  withOption,
  refusedOptionsObjects,
};
