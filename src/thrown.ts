/**
 * Whatever a worker throws, on its way to the main thread. JavaScript can throw anything (`null`, a string, an object
 * without a prototype, an error whose `code` is a function), and a report that cannot be cloned, or a handler that
 * reads `err.message` of `null`, would lose the failure or crash the launcher. So workers post plain values (strings,
 * numbers: SerializedError), and the main thread makes an Error of anything an 'error' event hands it.
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
  /** Its `cause`: an Error's in turn (CAUSE_DEPTH deep at most, a cycle cut), another value as it is or described. */
  cause?: SerializedError | Primitive;
  /** An AggregateError's `errors` (MAX_ERRORS at most, then a note). */
  errors?: SerializedError[];
}

type Primitive = string | number | boolean | bigint | null | undefined;

/** How deep a chain of causes (and of AggregateError's errors) is posted back: a deeper one ends in a note. */
const CAUSE_DEPTH = 8;
/** How many of an AggregateError's errors are posted back: the rest are counted in a note. */
const MAX_ERRORS = 100;
/**
 * How many errors one report carries in all, causes and errors of errors included: errors that hold others fan out
 * (ten errors, each holding the next eight times, reach a hundred million paths), so the walk has one budget.
 */
const MAX_SENT = 1000;

/**
 * `thrown` in plain values: an Error's name, message, stack, string `code`, fields that hold primitives, its `cause`
 * and an AggregateError's `errors`; anything else described. Node's own serializer (which an uncaught error in a
 * worker goes through) follows `cause` without looking for cycles, and a cause that is its own cause overflows the
 * launching thread's stack: so workers send their errors through this one (reportUncaughtErrors). It never throws:
 * what cannot be read (a getter or a Proxy trap that throws; on Node 24, any Proxy's `stack`, which V8 gives only on
 * the error itself) is left out. Each error is sent once: met again, below itself or elsewhere, it is a note.
 */
export function serializeError(thrown: unknown): SerializedError {
  return serializeWithin(thrown, { above: [], sent: new Set() }, 0);
}

/** Where a walk is: the errors above the one it serializes (to tell a cycle), and every error it has sent. */
interface Walk {
  above: unknown[];
  sent: Set<unknown>;
}

/** serializeError for an error `depth` causes down. */
function serializeWithin(thrown: unknown, walk: Walk, depth: number): SerializedError {
  const code = stringField(thrown, 'code');
  const stack = isError(thrown) ? stringField(thrown, 'stack') : undefined;
  const serialized: SerializedError = {
    name: (isError(thrown) && stringField(thrown, 'name')) || 'Error',
    message: messageOf(thrown),
    ...(stack === undefined ? {} : { stack }),
    ...(code === undefined ? {} : { code }),
  };
  if (!isError(thrown)) return serialized;
  walk.sent.add(thrown);
  const fields = primitiveFields(thrown);
  if (fields !== undefined) serialized.fields = fields;
  const below = { above: [...walk.above, thrown], sent: walk.sent };
  if (has(thrown, 'cause')) serialized.cause = serializeCause(read(thrown, 'cause'), below, depth + 1);
  const errors = read(thrown, 'errors');
  if (isArray(errors)) serialized.errors = serializeErrors(errors, below, depth + 1);
  return serialized;
}

/**
 * A cause, or one of an AggregateError's errors: an Error in turn, unless it is one above it (a cycle) or sent
 * already, too deep, or past the walk's budget.
 */
function serializeCause(cause: unknown, walk: Walk, depth: number): SerializedError | Primitive {
  if (isPrimitive(cause)) return cause;
  if (!isError(cause)) { // an object: its message, or what it is, and its fields (a symbol: described)
    const message = stringField(cause, 'message') ?? `a cause that is not an Error: ${describeSafely(cause)}`;
    const fields = primitiveFields(cause);
    return { name: 'Error', message, ...(fields === undefined ? {} : { fields }) };
  }
  if (walk.above.includes(cause)) return note('(a cycle: this cause is an error above it)');
  if (walk.sent.has(cause)) return note(`(the same error as one sent above: ${messageOf(cause)})`);
  if (depth > CAUSE_DEPTH) return note(`(more causes, not sent: ${CAUSE_DEPTH} are)`);
  if (walk.sent.size >= MAX_SENT) return note(`(more errors, not sent: ${MAX_SENT} are)`);
  return serializeWithin(cause, walk, depth);
}

/** An AggregateError's errors, MAX_ERRORS at most; each element read on its own (a getter may throw). */
function serializeErrors(errors: unknown[], walk: Walk, depth: number): SerializedError[] {
  const posted: SerializedError[] = [];
  const length = lengthOf(errors);
  let i = 0;
  for (; i < Math.min(length, MAX_ERRORS) && walk.sent.size < MAX_SENT; i++) {
    const error = serializeCause(read(errors, String(i)), walk, depth);
    posted.push(typeof error === 'object' && error !== null ? error : serializeWithin(error, walk, depth));
  }
  if (i < length) posted.push(note(`(${length - i} more errors, not sent)`));
  return posted;
}

function note(message: string): SerializedError {
  return { name: 'Error', message };
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
 * with its fields, its cause and an AggregateError's errors. One posted without a stack (a non-Error thrown) gets a
 * stack of its first line alone, not the frames of the thread that rebuilds it, which would say nothing of where it
 * was thrown.
 */
export function reviveError({ name, message, stack, code, fields, cause, errors }: SerializedError): Error {
  const revived = errors?.map(reviveError) ?? [];
  const error = name === 'AggregateError'
    ? new AggregateError(revived, message)
    : new (ERROR_CLASSES.get(name) ?? Error)(message);
  Object.assign(error, fields, { name, stack: stack ?? `${name}: ${message}` }, code === undefined ? {} : { code });
  if (errors !== undefined && name !== 'AggregateError') Object.assign(error, { errors: revived });
  if (cause !== undefined) {
    const value = typeof cause === 'object' && cause !== null ? reviveError(cause) : cause;
    Object.defineProperty(error, 'cause', { value, writable: true, configurable: true });
  }
  return error;
}

/**
 * In a worker: an error that nothing catches (from a timer, an unhandled rejection) is posted by `post`, in plain
 * values (serializeError), and the worker exits with code 1, as it would have. Without this, Node serializes the
 * error itself, and a cause that is its own cause crashed the launching thread. A program that installs a handler of
 * its own keeps it: the error is then that handler's, and the worker goes on, as it would have.
 */
export function reportUncaughtErrors(post: (error: SerializedError) => void): void {
  // Whether the program listens too, asked as Node announces the error (the monitor event comes first): by the time
  // our listener runs, Node has removed a `once` listener of the program's that ran before it.
  let programListens = false;
  process.on('uncaughtExceptionMonitor', () => {
    programListens = process.listeners('uncaughtException').some((listener) => listener !== handler);
  });
  const handler = (thrown: unknown) => {
    if (programListens) return;
    try {
      post(serializeError(thrown));
    } finally {
      process.exit(1);
    }
  };
  process.on('uncaughtException', handler);
}

function isPrimitive(value: unknown): value is Primitive {
  return value === null || ['string', 'number', 'boolean', 'bigint', 'undefined'].includes(typeof value);
}

/**
 * The own enumerable fields of an error (or of a cause that is an object), but those posted apart, that hold
 * primitives; undefined if none. A field named as a method of every error (`toString`) is left out: on the rebuilt
 * error it would shadow the method.
 */
function primitiveFields(error: object): Record<string, Primitive> | undefined {
  let fields: Record<string, Primitive> | undefined;
  let keys: string[];
  try {
    keys = Object.keys(error);
  } catch {
    return undefined; // a Proxy whose ownKeys trap throws
  }
  for (const key of keys) {
    if (POSTED_APART.has(key) || key in Error.prototype) continue;
    const value = read(error, key);
    if (key === 'code' && typeof value === 'string') continue; // posted as `code`
    if (isPrimitive(value)) (fields ??= {})[key] = value;
  }
  return fields;
}

/** Fields that serializeError posts on their own (a `code` that is not a string is posted among the fields). */
const POSTED_APART = new Set(['name', 'message', 'stack', 'cause']);

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
  const field = read(value, key);
  return typeof field === 'string' ? field : undefined;
}

/** `value[key]`; undefined for a primitive, and when reading it throws (a getter, a Proxy). */
function read(value: unknown, key: string): unknown {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined;
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/** `key in value`; false when asking throws (a Proxy's `has` trap). */
function has(value: object, key: string): boolean {
  try {
    return key in value;
  } catch {
    return false;
  }
}

/** `Array.isArray`, false where it throws (a revoked Proxy). */
function isArray(value: unknown): value is unknown[] {
  try {
    return Array.isArray(value);
  } catch {
    return false;
  }
}

/** An array's length; 0 when reading it throws (a Proxy). */
function lengthOf(array: unknown[]): number {
  const length = read(array, 'length');
  return typeof length === 'number' ? length : 0;
}
