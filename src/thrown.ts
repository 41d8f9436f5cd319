/**
 * Whatever a worker throws, on its way to the main thread. JavaScript can throw anything (`null`, a string, an object
 * without a prototype, an error whose `code` is a function), and a report that cannot be cloned, or a handler that
 * reads `err.message` of `null`, would lose the failure or crash the launcher. So workers post plain strings, and
 * the main thread makes an Error of anything an 'error' event hands it.
 */
import { describe } from './describe.js';

/** An error as a worker posts it back: strings and other primitives only, which structured clone always accepts. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  /** The error's other own enumerable fields that hold a primitive (`status: 404`, a numeric `code`). */
  fields?: Record<string, Primitive>;
  /** Its `cause`: an Error's in turn (CAUSE_DEPTH deep at most, a cycle cut), another value's as it is or described. */
  cause?: SerializedError | Primitive;
  /** An AggregateError's `errors`. */
  errors?: SerializedError[];
}

type Primitive = string | number | boolean | bigint | null | undefined;

/** How deep a chain of causes (and of AggregateError's errors) is posted back: a deeper one ends in a note. */
const CAUSE_DEPTH = 8;

/**
 * `thrown` in plain values: an Error's name, message, stack, string `code`, fields that hold primitives, its `cause`
 * and an AggregateError's `errors`; anything else described. Node's own serializer (which an uncaught error in a
 * worker goes through) follows `cause` without looking for cycles, and a cause that is its own cause overflows the
 * launching thread's stack: so workers send their errors through this one (reportUncaughtErrors).
 */
export function serializeError(thrown: unknown, seen = new Set<unknown>(), depth = 0): SerializedError {
  const code = stringField(thrown, 'code');
  const stack = isError(thrown) ? stringField(thrown, 'stack') : undefined;
  const serialized: SerializedError = {
    name: (isError(thrown) && stringField(thrown, 'name')) || 'Error',
    message: messageOf(thrown),
    ...(stack === undefined ? {} : { stack }),
    ...(code === undefined ? {} : { code }),
  };
  if (!isError(thrown)) return serialized;
  seen.add(thrown);
  const fields = primitiveFields(thrown);
  if (fields !== undefined) serialized.fields = fields;
  const cause = field(thrown, 'cause');
  if (cause.present) serialized.cause = serializeCause(cause.value, seen, depth + 1);
  const errors = field(thrown, 'errors');
  if (Array.isArray(errors.value)) {
    serialized.errors = errors.value.map((error) => serializeCause(error, seen, depth + 1)).map(asSerialized);
  }
  return serialized;
}

/** A cause, or one of an AggregateError's errors: an Error in turn, unless it is one seen above or too deep. */
function serializeCause(cause: unknown, seen: Set<unknown>, depth: number): SerializedError | Primitive {
  if (!isError(cause)) return isPrimitive(cause) ? cause : serializeError(cause, seen, depth); // a symbol described
  if (seen.has(cause)) return { name: 'Error', message: '(a cycle: this cause is an error above it)' };
  if (depth > CAUSE_DEPTH) return { name: 'Error', message: `(more causes, not sent: ${CAUSE_DEPTH} are)` };
  return serializeError(cause, seen, depth);
}

/** One of an AggregateError's errors, which serializeCause leaves as it is when it is a primitive: as an error. */
function asSerialized(error: SerializedError | Primitive): SerializedError {
  return typeof error === 'object' && error !== null ? error : serializeError(error);
}

/** `thrown` itself when it is an Error; else an Error whose message says what was thrown. */
export function asError(thrown: unknown): Error {
  return isError(thrown) ? thrown : new Error(messageOf(thrown));
}

const ERROR_CLASSES = new Map<string, ErrorConstructor>(
  [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError].map((type) => [type.name, type]),
);

/**
 * Rebuilds a posted error, of its built-in class where it had one (structured clone would lose `name` and `code`),
 * with its fields, its cause and an AggregateError's errors.
 */
export function reviveError({ name, message, stack, code, fields, cause, errors }: SerializedError): Error {
  const revived = errors?.map(reviveError) ?? [];
  const error = name === 'AggregateError' ? new AggregateError(revived, message) : new (ERROR_CLASSES.get(name) ?? Error)(message);
  Object.assign(error, fields, { name }, stack === undefined ? {} : { stack }, code === undefined ? {} : { code });
  if (errors !== undefined && name !== 'AggregateError') Object.assign(error, { errors: revived });
  if (cause !== undefined) {
    Object.defineProperty(error, 'cause', { value: isSerialized(cause) ? reviveError(cause) : cause, writable: true, configurable: true });
  }
  return error;
}

function isSerialized(value: unknown): value is SerializedError {
  return typeof value === 'object' && value !== null && typeof (value as SerializedError).message === 'string';
}

/**
 * In a worker: an error that nothing catches (from a timer, an unhandled rejection) is posted by `post`, in plain
 * values (serializeError), and the worker exits with code 1, as it would have. Without this, Node serializes the
 * error itself, and a cause that is its own cause crashes the launching thread.
 */
export function reportUncaughtErrors(post: (error: SerializedError) => void): void {
  process.on('uncaughtException', (thrown: unknown) => {
    try {
      post(serializeError(thrown));
    } finally {
      process.exit(1);
    }
  });
}

function isPrimitive(value: unknown): value is Primitive {
  return value === null || ['string', 'number', 'boolean', 'bigint', 'undefined'].includes(typeof value);
}

/** The own enumerable fields of an error, but for those posted apart, that hold primitives; undefined if none. */
function primitiveFields(error: Error): Record<string, Primitive> | undefined {
  let fields: Record<string, Primitive> | undefined;
  let keys: string[];
  try {
    keys = Object.keys(error);
  } catch {
    return undefined; // a Proxy whose ownKeys trap throws
  }
  for (const key of keys) {
    if (POSTED_APART.has(key)) continue;
    const { value } = field(error, key);
    if (key === 'code' && typeof value === 'string') continue; // posted as `code`
    if (isPrimitive(value)) (fields ??= {})[key] = value;
  }
  return fields;
}

/** Fields that serializeError posts on their own (a `code` that is not a string is posted among the fields). */
const POSTED_APART = new Set(['name', 'message', 'stack', 'cause', 'errors']);

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
  const read = field(value, key).value;
  return typeof read === 'string' ? read : undefined;
}

/** `value[key]`, and whether `value` has it at all; absent when reading it throws (a getter, a Proxy). */
function field(value: unknown, key: string): { present: boolean; value: unknown } {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return { present: false, value: undefined };
  try {
    return key in value ? { present: true, value: (value as Record<string, unknown>)[key] } : { present: false, value: undefined };
  } catch {
    return { present: false, value: undefined };
  }
}
