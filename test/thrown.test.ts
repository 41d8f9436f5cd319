import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { reviveError, serializeError } from '../src/thrown.js';

/** What arrives in the launching thread: serialized in the worker, cloned by postMessage, rebuilt. */
const roundTrip = (thrown: unknown) => reviveError(structuredClone(serializeError(thrown)));

test('an error whose errors cannot be read keeps its own name and message, and what can be read', () => {
  const errors = [new Error('a')];
  Object.defineProperty(errors, 1, { get() { throw new Error('getter boom'); }, enumerable: true });
  const aggregate = new AggregateError([], 'validation failed');
  Object.defineProperty(aggregate, 'errors', { value: errors });
  const revived = roundTrip(aggregate) as AggregateError;
  assert.instance(revived, AggregateError);
  assert.is(revived.message, 'validation failed');
  assert.equal(revived.errors.map((e: Error) => e.message), ['a', 'non-error thrown: undefined']);

  const trapped = new AggregateError([], 'trapped');
  Object.defineProperty(trapped, 'errors', { value: new Proxy([1, 2], { get(target, key) {
    if (key === 'length') return 2;
    throw new Error('trap');
  } }) });
  const revivedTrapped = roundTrip(trapped) as AggregateError;
  assert.instance(revivedTrapped, AggregateError);
  assert.is(revivedTrapped.message, 'trapped');
  // Its length could be read, none of its elements: two of them, each unreadable
  assert.equal(revivedTrapped.errors.map((e: Error) => e.message), ['non-error thrown: undefined', 'non-error thrown: undefined']);

  const revoked = new AggregateError([], 'revoked');
  const { proxy, revoke } = Proxy.revocable([], {});
  revoke();
  Object.defineProperty(revoked, 'errors', { value: proxy }); // even Array.isArray throws on it
  const revivedRevoked = roundTrip(revoked) as AggregateError;
  assert.instance(revivedRevoked, AggregateError);
  assert.is(revivedRevoked.message, 'revoked');
  assert.equal(revivedRevoked.errors, [], 'nothing of it can be read');
});

test("a Proxy of an error whose has trap throws keeps the error's name, message and stack", () => {
  const inner = new TypeError('the real message');
  const proxy = new Proxy(inner, { has() { throw new Error('has trap'); } });
  const serialized = serializeError(proxy);
  // Node 24's V8 (13.6) makes an error's `stack` an accessor that answers for the error itself only: read through a
  // Proxy, even one without traps, it is undefined (Node 20's V8 11.3: a plain value, read as any other). There is no
  // stack to keep then, and the rebuilt error has its first line as its stack, as a thrown non-Error does.
  const readable = typeof new Proxy(new Error(), {}).stack === 'string';
  assert.equal([serialized.name, serialized.message, serialized.stack],
    ['TypeError', 'the real message', readable ? inner.stack : undefined]);
  assert.is(roundTrip(proxy).stack, readable ? inner.stack : 'TypeError: the real message');
});

test("a thrown non-Error comes back with its first line as its stack, not the rebuilding thread's frames", () => {
  const revived = roundTrip('oops');
  assert.is(revived.message, 'non-error thrown: "oops"');
  assert.is(revived.stack, 'Error: non-error thrown: "oops"');
  const thrown = new RangeError('with frames');
  assert.is(roundTrip(thrown).stack, thrown.stack, 'an Error keeps its own stack');
});

test('the same error twice is no cycle; a cause that is its own is cut; a chain ends in a note', () => {
  const twice = new Error('shared');
  assert.equal((roundTrip(new AggregateError([twice, twice], 'twice')) as AggregateError).errors.map((e: Error) => e.message),
    ['shared', '(the same error as one sent above: shared)']);
  const loop = new Error('loop');
  loop.cause = loop;
  assert.is((roundTrip(loop).cause as Error).message, '(a cycle: this cause is an error above it)');
  let chain = new Error('0');
  for (let i = 1; i <= 20; i++) chain = new Error(String(i), { cause: chain });
  const messages: string[] = [];
  for (let e: unknown = roundTrip(chain); e instanceof Error; e = e.cause) messages.push(e.message);
  assert.equal(messages, ['20', '19', '18', '17', '16', '15', '14', '13', '12', '(more causes, not sent: 8 are)']);
});

test('fields: primitives kept, objects and methods of every error left out; a cause that is an object described', () => {
  const err = Object.assign(new Error('fields'), { status: 422, errors: 3, ok: false, big: 5n, nested: { a: 1 }, toString: 'x' });
  const revived = roundTrip(err) as Error & Record<string, unknown>;
  assert.equal([revived.status, revived.errors, revived.ok, revived.big, revived.nested], [422, 3, false, 5n, undefined]);
  assert.is(String(revived), 'Error: fields');
  const cause = roundTrip(new Error('x', { cause: { status: 500 } })).cause as Error & { status?: number };
  assert.equal([cause.message, cause.status], ['a cause that is not an Error: an object', 500]);
  assert.is(roundTrip(new Error('x', { cause: 'why' })).cause, 'why');
});

test('errors that hold one another many times over are sent once each, and 1,000 at most in all', () => {
  // Ten errors, each holding the next eight times: 8^10 paths, which a walk that sent each path took hours over.
  let below = new Error('leaf');
  for (let i = 0; i < 10; i++) below = new AggregateError(Array(8).fill(below), `level ${i}`);
  const level9 = roundTrip(below) as AggregateError;
  const [first, second] = level9.errors as AggregateError[];
  assert.is(first!.message, 'level 8');
  assert.is(second!.message, '(the same error as one sent above: level 8)');
  // Errors that make fresh errors each time they are asked: distinct, so only the budget stops them.
  class Fresh extends Error {
    get errors() { return Array.from({ length: 6 }, () => new Fresh('fresh')); }
  }
  let sent = 0;
  const countSent = (e: { message: string; errors?: unknown[] }): void => {
    if (e.message === 'fresh' || e.message === 'top') sent++; // not a note
    for (const inner of e.errors ?? []) countSent(inner as typeof e);
  };
  countSent(structuredClone(serializeError(new Fresh('top'))));
  assert.is(sent, 1000);
});

test("an AggregateError's errors: 100 sent, the rest counted", () => {
  const many = new AggregateError(Array.from({ length: 250 }, (_, i) => new Error(String(i))), 'many');
  const errors = (roundTrip(many) as AggregateError).errors as Error[];
  assert.is(errors.length, 101);
  assert.equal([errors[0]!.message, errors[99]!.message, errors[100]!.message], ['0', '99', '(150 more errors, not sent)']);
});

test.run();
