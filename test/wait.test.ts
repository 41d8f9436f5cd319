/**
 * The Waiter on one thread: what it tells `onWait` (the deadlock watchdog's ear), for each strategy. Only waits
 * that cannot end early are timed, so nothing here depends on the machine's speed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AbortedError, TimeoutError } from '../src/errors.js';
import { Waiter, type WaitStrategy } from '../src/wait.js';
import { errorOf } from './helpers.js';

const WORD = 0, SLEEPER = 1, STATE = 2, ABORT_BIT = 1;

function waiterWith(strategy: WaitStrategy, spinMicros: number): { waiter: Waiter; words: Int32Array; heard: boolean[] } {
  const words = new Int32Array(new SharedArrayBuffer(16));
  const heard: boolean[] = [];
  const waiter = new Waiter(words, STATE, ABORT_BIT, { strategy, spinMicros, onWait: (waiting) => heard.push(waiting) });
  return { waiter, words, heard };
}

test('a wait on a word that has already moved returns at once, and onWait hears nothing', () => {
  for (const strategy of ['spin', 'park', 'spinThenPark'] as const) {
    const { waiter, words, heard } = waiterWith(strategy, 30);
    words[WORD] = 7;
    waiter.wait(WORD, 0, SLEEPER, Infinity, undefined, 'read');
    assert.equal(heard, [], strategy);
  }
});

test('a wait that lasts is reported once, start and end, for every strategy (spin too, which never parks)', () => {
  for (const strategy of ['spin', 'park', 'spinThenPark'] as const) {
    const { waiter, words, heard } = waiterWith(strategy, 200);
    const err = errorOf(() => waiter.wait(WORD, 0, SLEEPER, performance.now() + 5, 5, 'read'));
    assert.instance(err, TimeoutError, strategy);
    assert.is(err.message, 'read timed out after 5 ms', strategy);
    assert.equal(heard, [true, false], strategy);
    assert.is(words[SLEEPER], 0, `${strategy}: the sleeper flag is down again`);
  }
});

test('an abort ends a wait with AbortedError: unreported while it spins, reported start and end once it parks', () => {
  for (const [strategy, heardBefore] of [['spinThenPark', []], ['spin', []], ['park', [true, false]]] as const) {
    const { waiter, words, heard } = waiterWith(strategy, 200);
    words[STATE] = ABORT_BIT;
    // A deadline, far off: a wait that missed the abort ends in a TimeoutError that says so, not in a hang
    const err = errorOf(() => waiter.wait(WORD, 0, SLEEPER, performance.now() + 2000, 2000, 'recv'));
    assert.instance(err, AbortedError, strategy);
    assert.is(err.message, 'recv aborted: the channel was aborted', strategy);
    assert.equal(heard, heardBefore, strategy);
    assert.is(words[SLEEPER], 0, strategy);
  }
});

test('a wait that goes on tells onStillWaiting of its looks in vain, about every 25 ms, parked or spinning; a short one does not', () => {
  for (const strategy of ['spin', 'park', 'spinThenPark'] as const) {
    const words = new Int32Array(new SharedArrayBuffer(16));
    const heard: string[] = [];
    const waiter = new Waiter(words, STATE, ABORT_BIT, {
      strategy, spinMicros: 30, onWait: (waiting) => heard.push(String(waiting)), onStillWaiting: () => heard.push('look'),
    });
    // 260 ms at least (a timeout ends it): 10 looks or so, fewer if the machine is slow, never more than one a 25 ms
    const started = performance.now();
    const err = errorOf(() => waiter.wait(WORD, 0, SLEEPER, performance.now() + 260, 260, 'recv'));
    const ms = performance.now() - started;
    assert.is(err.message, 'recv timed out after 260 ms', strategy);
    const looks = heard.filter((what) => what === 'look').length;
    assert.is(heard[0], 'true', strategy);
    assert.is(heard[heard.length - 1], 'false', strategy);
    assert.ok(looks >= 2 && looks <= Math.ceil(ms / 25) + 1, `${strategy}: ${looks} looks in ${ms.toFixed(0)} ms`);
    words[WORD] = 1; // a word that has moved: no wait, no look
    heard.length = 0;
    waiter.wait(WORD, 0, SLEEPER, Infinity, undefined, 'recv');
    assert.equal(heard, [], strategy);
  }
});

test.run();
