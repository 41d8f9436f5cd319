/**
 * How zerocopy's receiver reads every byte of a message where it lies in the ring: it adds up the message's 32-bit
 * words, mod 2^32, chunk by chunk, and compares the sum with the one the sender's message has (payload-whole.ts,
 * MessageSums). A sum is the cheapest pass that depends on every byte: a byte changed by d, at byte b of its word,
 * moves the sum by d * 2^(8b), never a multiple of 2^32. Two changes that cancel, or words swapped within a message,
 * it does not see; each chunk's own sum, compared with its place's (MessageSums.chunkSums), and the stamps catch pieces
 * of a message out of place.
 *
 * The pass is a WebAssembly SIMD loop where the ring lies in a shared WebAssembly.Memory (bandwidth.ts puts it in one,
 * RingBuffer.createIn): WebAssembly reads only its own memory, and a ring placed in one is read where it lies, 16 bytes
 * a load, at a byte address of the memory (RING_HEADER_BYTES + frame.offset). The loop, byte by byte below:
 *
 *     (func $sum (param $at i32) (param $end i32) (result i32)
 *           (local $stop i32) (local $total i32) (local $a v128) (local $b v128) (local $c v128) (local $d v128)
 *       block loop                                      ;; two pages at a time, while they fit
 *         (br_if 1 (i32.gt_u (i32.add $at 8192) $end))
 *         $stop = $at + 4096
 *         block loop                                    ;; 64 bytes of each page a turn
 *           (br_if 1 (i32.ge_u $at $stop))
 *           $a += (v128.load offset=0 $at), $b at 16, $c at 32, $d at 48     ;; i32x4.add
 *           $a += (v128.load offset=4096 $at), $b at 4112, $c at 4128, $d at 4144
 *           $at += 64
 *         end end
 *         $at += 4096
 *       end end
 *       64 bytes a turn while they fit, then 16; then $total = the lanes of $a + $b + $c + $d, and the last words
 *       one by one (i32.load), added to it
 *       $total)
 *
 * Why two pages at once: on the Zen 4 VM of docs/PERFORMANCE.md, reading lines the other core has just written, a
 * loop that walks two pages side by side (two streams for the core's prefetchers, as glibc's memcpy does for large
 * copies, four pages there) read 28 to 35 GB/s where one page at a time read 22 to 31, and four or eight 26 to 30
 * (`docs/probes/read-in-place.mjs`, 2 and 4 MiB regions, 2026-11-29). The same sum in a JavaScript loop read 12 to
 * 14: it is what a process gets that cannot reserve a WebAssembly.Memory (`ulimit -v` on Node 20, wasm.ts), over a
 * ring in a plain SharedArrayBuffer; zerocopy then made 9.4 to 13 GB/s where it made 23 to 42 with WebAssembly.
 */
import { CODES, compile, instantiate, join, memarg, memoryModule, OPCODES, signed, simd, type WasmMemory } from '../wasm.js';

/** Sums the 32-bit words of `length` bytes (a multiple of 4) from byte `at` of the ring's buffer, mod 2^32. */
export interface WordSum {
  readonly sum: (at: number, length: number) => number;
  /** True for the WebAssembly SIMD pass, false for the JavaScript loop. */
  readonly inWasm: boolean;
}

/** The pass over `buffer`: in WebAssembly when `memory` (whose buffer it is) is given, else in JavaScript. */
export function wordSumOver(buffer: SharedArrayBuffer, memory: WasmMemory | undefined): WordSum {
  if (memory !== undefined) {
    if (memory.buffer !== buffer) throw new TypeError('Expected the buffer of the WebAssembly.Memory given');
    const sum = instantiate(compile(moduleBytes()), memory).sum as (at: number, end: number) => number;
    return { sum: (at, length) => sum(at, at + length), inWasm: true };
  }
  const words = new Int32Array(buffer, 0, buffer.byteLength >> 2);
  return { sum: (at, length) => sumWords(words, at >> 2, (at + length) >> 2), inWasm: false };
}

/** The JavaScript pass: words `from` to `to` of `words`, four sums a turn. */
export function sumWords(words: Int32Array, from: number, to: number): number {
  let a = 0, b = 0, c = 0, d = 0;
  let i = from;
  for (; i + 4 <= to; i += 4) {
    a = (a + words[i]!) | 0;
    b = (b + words[i + 1]!) | 0;
    c = (c + words[i + 2]!) | 0;
    d = (d + words[i + 3]!) | 0;
  }
  for (; i < to; i++) a = (a + words[i]!) | 0;
  return (a + b + c + d) | 0;
}

const PAGE = 4096;
const I32X4_ADD = 0xae;
const I32X4_EXTRACT_LANE = 0x1b;
const V128_LOAD = 0x00;
// The function's parameters and locals, by their indices.
const [AT, END, STOP, TOTAL] = [0, 1, 2, 3];
const LANES = [4, 5, 6, 7]; // $a, $b, $c, $d

/** The module of the header's loop: one function, `sum(at, end)`. */
function moduleBytes(): Uint8Array {
  const { i32, v128 } = CODES;
  return memoryModule([{ name: 'sum', params: [i32, i32], results: [i32], locals: [[2, i32], [4, v128]], body: sumBody() }]);
}

function sumBody(): number[] {
  const { block, loop, end, br, brIf, localGet, localSet, i32Load, i32Const, i32GtU, i32GeU, i32Add } = OPCODES;
  const empty = CODES.emptyBlockType;
  const add = simd(I32X4_ADD);
  const increase = (local: number, bytes: number) => join([localGet, local, i32Const], signed(bytes), [i32Add, localSet, local]);
  // $lane += the 16 bytes at $at + offset, for the lanes given, 16 bytes apart from `offset` on.
  const gather = (lanes: number[], offset: number) => join(...lanes.map((lane, k) =>
    join([localGet, lane, localGet, AT], simd(V128_LOAD), memarg(offset + 16 * k), add, [localSet, lane])));
  // block loop: (br_if 1 (i32.gt_u (i32.add $at step) $end)) body; $at += step; (br 0) end end
  const whileFits = (step: number, body: number[], advance: number) => join(
    [block, empty, loop, empty],
    [localGet, AT, i32Const], signed(step), [i32Add, localGet, END, i32GtU, brIf, 1],
    body,
    increase(AT, advance),
    [br, 0],
    [end, end],
  );
  const pagePair = join(
    [localGet, AT, i32Const], signed(PAGE), [i32Add, localSet, STOP],
    [block, empty, loop, empty],
    [localGet, AT, localGet, STOP, i32GeU, brIf, 1],
    gather(LANES, 0),
    gather(LANES, PAGE),
    increase(AT, 64),
    [br, 0],
    [end, end],
  );
  const lane = (index: number) => join([localGet, LANES[0]!], simd(I32X4_EXTRACT_LANE), [index]);
  return join(
    whileFits(2 * PAGE, pagePair, PAGE), // the inner loop moved $at a page; the pair's second page is passed here
    whileFits(64, gather(LANES, 0), 64),
    whileFits(16, gather(LANES.slice(0, 1), 0), 16),
    // $a = $a + $b + $c + $d, then its four lanes into $total
    [localGet, LANES[0]!, localGet, LANES[1]!], add, [localGet, LANES[2]!], add, [localGet, LANES[3]!], add, [localSet, LANES[0]!],
    lane(0), lane(1), [i32Add], lane(2), [i32Add], lane(3), [i32Add, localSet, TOTAL],
    // the last words, one at a time
    [block, empty, loop, empty],
    [localGet, AT, localGet, END, i32GeU, brIf, 1],
    [localGet, TOTAL, localGet, AT, i32Load], memarg(0, 2), [i32Add, localSet, TOTAL],
    increase(AT, 4),
    [br, 0],
    [end, end],
    [localGet, TOTAL],
  );
}
