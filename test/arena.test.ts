import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { availableParallelism } from 'node:os';
import { SharedArena } from '../src/arena.js';
import { TYPE } from '../src/codec.js';
import type { OpName, TypedArray } from '../src/reduce-ops.js';
import { errorOf } from './helpers.js';

const like = (array: ArrayBufferView) => array as unknown as TypedArray;

test('create rounds each slot down to a multiple of 64 bytes and lays out the lines, then the slots, end to end', () => {
  // 1000 bytes for 3 ranks: 333 a rank, 320 rounded down; 3 lines of 64 bytes first.
  const arena = SharedArena.create(3, 1000);
  assert.equal([arena.size, arena.slotBytes, arena.dataBytes], [3, 320, 960]);
  assert.equal([0, 1, 2].map((rank) => arena.slotOffset(rank)), [192, 512, 832]);
  assert.ok(arena.buffer.byteLength >= 192 + 960, `${arena.buffer.byteLength} bytes`);
  // A slot seen as a kind: elements 2 to 5 of slot 1 start 16 bytes into it.
  const view = arena.view(1, like(new Float64Array(0)), 2, 5);
  assert.equal([view.constructor.name, view.byteOffset, view.length], ['Float64Array', 512 + 16, 3]);
  // 3 × 21,824-byte slots and their lines take 65,664 bytes, one WebAssembly page and a bit: the last slot is whole.
  const paged = SharedArena.create(3, 3 * 21_824);
  assert.is(paged.slotBytes, 21_824);
  assert.ok(paged.buffer.byteLength >= 3 * (64 + 21_824), `${paged.buffer.byteLength} bytes`);
  const last = paged.view(2, like(new Uint8Array(0)), 0, 21_824);
  assert.is(last.byteOffset + last.byteLength, 3 * (64 + 21_824));
});

test('create takes 64 bytes a slot, and refuses less with the numbers', () => {
  assert.is(SharedArena.create(3, 192).slotBytes, 64);
  const err = errorOf(() => SharedArena.create(3, 191));
  assert.instance(err, RangeError);
  assert.is(err.message, 'An arena of 191 bytes has less than 64 bytes a slot for 3 ranks');
});

test('the results go to slot 0 exactly when ranks outnumber cores', () => {
  const cores = availableParallelism();
  const fits = SharedArena.create(cores, cores * 64);
  const crowded = SharedArena.create(cores + 1, (cores + 1) * 64);
  assert.equal([fits.resultsInSlotZero, crowded.resultsInSlotZero], [false, true]);
  assert.equal([fits.resultSlot(cores - 1), crowded.resultSlot(cores)], [cores - 1, 0]);
});

test("each rank's line keeps the shape it wrote, whatever the other ranks write in theirs", () => {
  const size = 5;
  const arena = SharedArena.create(size, size * 64);
  const ops: OpName[] = ['sum', 'prod', 'min', 'max', 'sum'];
  const arrays = [new Float64Array(3), new Int32Array(70), new BigUint64Array(9), new Uint8Array(1000), new Int16Array(0)];
  for (let rank = 0; rank < size; rank++) arena.setShape(rank, like(arrays[rank]!), 10 + rank, ops[rank]!, rank - 1);
  const shapes = Array.from({ length: size }, (_, rank) => arena.shapeOf(rank));
  assert.equal(shapes, [
    { type: TYPE.float64, length: 3, call: 10, name: 'sum', root: -1 },
    { type: TYPE.int32, length: 70, call: 11, name: 'prod', root: 0 },
    { type: TYPE.biguint64, length: 9, call: 12, name: 'min', root: 1 },
    { type: TYPE.uint8, length: 1000, call: 13, name: 'max', root: 2 },
    { type: TYPE.int16, length: 0, call: 14, name: 'sum', root: 3 },
  ]);
  // Not in the slots: writing every slot whole leaves the lines as they were.
  arena.bytes.fill(0xff, arena.slotOffset(0), arena.slotOffset(0) + arena.dataBytes);
  assert.equal(Array.from({ length: size }, (_, rank) => arena.shapeOf(rank)), shapes);
});

test.run();
