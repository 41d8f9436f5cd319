/**
 * Whatever a worker throws, on its way to the main thread. JavaScript can throw anything (`null`, a string, an object
 * without a prototype, an error whose `code` is a function), and a report that cannot be cloned, or a handler that
 * reads `err.message` of `null`, would lose the failure or crash the launcher. So workers post plain strings, and
 * the main thread makes an Error of anything an 'error' event hands it.
 */
import { describe } from './describe.js';

/** An error as a worker posts it back: strings only, which structured clone always accepts. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
}

/** `thrown` as plain strings: an Error's name, message, stack and string `code`; anything else described. */
export function serializeError(thrown: unknown): SerializedError {
  const code = stringField(thrown, 'code');
  const stack = isError(thrown) ? stringField(thrown, 'stack') : undefined;
  return {
    name: (isError(thrown) && stringField(thrown, 'name')) || 'Error',
    message: messageOf(thrown),
    ...(stack === undefined ? {} : { stack }),
    ...(code === undefined ? {} : { code }),
  };
}

/** `thrown` itself when it is an Error; else an Error whose message says what was thrown. */
export function asError(thrown: unknown): Error {
  return isError(thrown) ? thrown : new Error(messageOf(thrown));
}

const ERROR_CLASSES = new Map<string, ErrorConstructor>(
  [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError].map((type) => [type.name, type]),
);

/** Rebuilds a posted error, of its built-in class where it had one; structured clone would lose `name` and `code`. */
export function reviveError({ name, message, stack, code }: SerializedError): Error {
  const error = new (ERROR_CLASSES.get(name) ?? Error)(message);
  Object.assign(error, { name }, stack === undefined ? {} : { stack }, code === undefined ? {} : { code });
  return error;
}

/**
 * What `thrown` says of itself: its `message` when it is a string (an Error's, or that of a thrown `{ message, code
 * }`), else what it is (`non-error thrown: null`, `non-error thrown: "boom"`).
 */
function messageOf(thrown: unknown): string {
  const message = stringField(thrown, 'message');
  if (message !== undefined) return message;
  return isError(thrown) ? '' : `non-error thrown: ${describeSafely(thrown)}`;
}

/** describe(), which reads `name` and `constructor`: either may be a getter that throws, and then it says less. */
function describeSafely(thrown: unknown): string {
  try {
    return describe(thrown);
  } catch {
    return typeof thrown === 'function' ? 'a function' : 'an object';
  }
}

/** `instanceof Error`, except that a revoked Proxy, on which `instanceof` itself throws, is not one. */
function isError(value: unknown): value is Error {
  try {
    return value instanceof Error;
  } catch {
    return false;
  }
}

/** `value[key]` when it is a string; undefined otherwise, and when reading it throws (a getter, a Proxy). */
function stringField(value: unknown, key: string): string | undefined {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined;
  try {
    const field = (value as Record<string, unknown>)[key];
    return typeof field === 'string' ? field : undefined;
  } catch {
    return undefined;
  }
}
