// What a task threw, carried from the worker to the caller. Structured clone alone would give the
// main realm's built-in errors (so `instanceof TypeError` fails under Jest, whose tests run in
// another realm) and drop `code` and other own properties of an error. So the worker describes
// an error as plain data (`describeThrown`) and the pool rebuilds it in its own realm
// (`rebuildThrown`): a built-in class stays that class, any other class becomes an `Error` that
// keeps its `name`; message, the worker-side stack, `code`, a clonable `cause` and other clonable
// own properties are kept. A thrown value that is not an error travels as structured clone gives it.

import { types } from 'node:util';

const BUILT_IN: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};
const MAX_CAUSE_DEPTH = 8;
// Marks a described error among property values (a user's own `{ error: true }` is not one).
const DESCRIBED = 'worker-waker/pool described error';

/** A thrown error as clonable data. */
export interface ErrorDescription {
  readonly error: true;
  readonly described: typeof DESCRIBED;
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  /** Own properties other than message and stack: [key, value (or a described error), enumerable]. */
  readonly props: [key: string, value: unknown, enumerable: boolean][];
}

/** A thrown non-error value, sent as structured clone carries it. */
export interface ThrownValue {
  readonly error: false;
  readonly value: unknown;
}

function isErrorLike(value: unknown): value is Error {
  return value instanceof Error || (typeof value === 'object' && value !== null && types.isNativeError(value));
}

function clonable(value: unknown): boolean {
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

function describeError(error: Error, depth: number): ErrorDescription {
  const props: [string, unknown, boolean][] = [];
  for (const key of Object.getOwnPropertyNames(error)) {
    if (key === 'message' || key === 'stack' || key === 'name') continue;
    const descriptor = Object.getOwnPropertyDescriptor(error, key);
    if (descriptor === undefined || !('value' in descriptor)) continue; // getters are not run
    const value: unknown = descriptor.value;
    if (isErrorLike(value) && depth < MAX_CAUSE_DEPTH) props.push([key, describeError(value, depth + 1), descriptor.enumerable === true]);
    else if (clonable(value)) props.push([key, value, descriptor.enumerable === true]);
  }
  let name = 'Error';
  let message = '';
  let stack: string | undefined;
  try {
    name = String(error.name);
    message = String(error.message);
    stack = typeof error.stack === 'string' ? error.stack : undefined;
  } catch {
    // A getter that throws: keep what was read.
  }
  return { error: true, described: DESCRIBED, name, message, stack, props };
}

/** Worker side: what to post for `thrown`. */
export function describeThrown(thrown: unknown): ErrorDescription | ThrownValue {
  if (isErrorLike(thrown)) return describeError(thrown, 0);
  return { error: false, value: thrown };
}

/** Worker side: the description of a thrown value that structured clone refused. */
export function unclonableThrown(thrown: unknown, cloneError: unknown): ErrorDescription {
  const kind = typeof thrown === 'object' ? 'an object' : `a ${typeof thrown}`;
  const reason = cloneError instanceof Error ? cloneError.message : String(cloneError);
  return describeError(new Error(`The task threw ${kind} that cannot be cloned to the caller: ${reason}`), 0);
}

function rebuildError(description: ErrorDescription): Error {
  const { name, message, stack, props } = description;
  const ErrorClass = Object.hasOwn(BUILT_IN, name) ? BUILT_IN[name]! : Error;
  const error = new ErrorClass(message);
  if (error.name !== name) Object.defineProperty(error, 'name', { value: name, writable: true, enumerable: false, configurable: true });
  if (stack !== undefined) Object.defineProperty(error, 'stack', { value: stack, writable: true, enumerable: false, configurable: true });
  for (const [key, value, enumerable] of props) {
    const rebuilt = isDescription(value) ? rebuildError(value) : value;
    Object.defineProperty(error, key, { value: rebuilt, writable: true, enumerable, configurable: true });
  }
  return error;
}

function isDescription(value: unknown): value is ErrorDescription {
  return typeof value === 'object' && value !== null && (value as { described?: unknown }).described === DESCRIBED;
}

/** Main side: the value to reject the task's promise with. */
export function rebuildThrown(thrown: ErrorDescription | ThrownValue): unknown {
  return thrown.error ? rebuildError(thrown) : thrown.value;
}
