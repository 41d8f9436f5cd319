// Probe: what it costs a receiver to read every byte of a message where it lies, against reading only its stamps
// and against copying it out. Two threads stream messages through a region of a shared WebAssembly.Memory (4 MiB,
// zerocopy's ring since 2026-11-29; SLOTS=4 for 1 MiB, its ring before) in pieces of 256 KiB (the chunks of the
// benchmark's zerocopy mode), at most SLOTS - 1 pieces in flight (what a ring of SLOTS such frames holds). The sender
// copies each piece in from its own memory with C's memcpy (as the rings do, src/copy.ts); the receiver, each way by
// turns (WAYS=a,b,... picks them; default stamps,simd,simd2,js,copy,cmp):
//   stamps   reads the piece's first and last 8 bytes (what zerocopy's receiver read of a chunk before 2026-11-29)
//   simd     sums the piece's 32-bit words in WebAssembly SIMD, in place: four i32x4 sums, 64 bytes a turn
//   simdN    the same, N runs STRIDE bytes apart at once (a page unless set): N streams for the prefetchers, as glibc's
//            memcpy reads 4 pages at once for large copies (simd2 is zerocopy's pass, src/bench/word-sum.ts)
//   js       the same sum in a JavaScript loop over an Int32Array, four words a turn
//   touch    one word of every 64-byte line in a JavaScript loop (every line pulled, most bytes not read)
//   copy     copies the piece out into a buffer of the message's size (what shared's recvInto does)
//   cmp      compares the piece with the receiver's own copy of what it should be: C's memcmp, through Node's
//            Buffer.prototype.compare (reads twice the bytes: the message's and the expected ones)
// and, on one thread with nobody writing:
//   alone    the simd2 sum over a 1 MiB region that stays in the core's cache: the pass's own ceiling
// GB/s (10^9 bytes) of messages received, each the receiver's span of SECONDS after one warm-up message; each size
// takes every way by turns, REPS rounds; compare the ways of one row. A row of 2 GB/s in every way is this VM
// collapsing (docs/PERFORMANCE.md, "The collapses are this VM's far state"), not the ways.
// 2026-11-29: docs/PERFORMANCE.md, "Method" (what each receiver ends with).
// Run: node docs/probes/read-in-place.mjs [MiB,MiB,...]   (default 0.25,1,4,16; REPS=N rounds, default 3; SECONDS=s;
//      SLOTS=n pieces in the region, default 16; WAYS; STRIDE=bytes)
import { Buffer } from 'node:buffer';
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';

const fill = Buffer.prototype.fill;
const compare = Buffer.prototype.compare;
const PIECE = 256 << 10;
const SLOTS = Number(process.env.SLOTS ?? 16); // a 4 MiB region of 16 slots unless set
if (!(Number.isInteger(SLOTS) && SLOTS >= 2)) throw new RangeError(`SLOTS must be an integer from 2, got ${process.env.SLOTS}`);
const AHEAD = SLOTS - 1; // the most pieces the sender may be ahead of the receiver (a ring of SLOTS frames holds one less)
const REGION = 65536; // where the slots start in the memory (the first page holds nothing)
const SECONDS = Number(process.env.SECONDS ?? 0.3);
const DONE = 0, SENT = 16, RECEIVED = 32; // Int32 slots, one cache line apart
const ALONE_BYTES = 1 << 20; // alone: a region that stays in one core's L2
const WAYS = (process.env.WAYS ?? 'stamps,simd,simd2,js,copy,cmp').split(',');
/** simdN: N runs at once, STRIDE bytes apart (a page unless set). */
const STRIDE = Number(process.env.STRIDE ?? 4096);

if (isMainThread) {
  const sizes = (process.argv[2] ?? '0.25,1,4,16').split(',').map((mib) => Math.round((Number(mib) * 2 ** 20) / PIECE) * PIECE);
  const gb = (x) => x.toFixed(1).padStart(8);
  console.log(`GB/s (1 GB = 10^9 bytes), each figure one run of ${SECONDS} s; alone: one thread, a hot 1 MiB region`);
  const ratios = ['stamps', 'copy'].filter((way) => WAYS.includes('simd2') && WAYS.includes(way));
  console.log(`    size ${WAYS.map((way) => way.padStart(8)).join(' ')}    alone${ratios.map((way) => `  simd2/${way}`.padStart(14)).join('')}`);
  for (let round = 0; round < Number(process.env.REPS ?? 3); round++) {
    for (const size of sizes) {
      const rates = {};
      for (const way of WAYS) rates[way] = await pair(way, size);
      const alone = await single();
      const label = `${(size / 2 ** 20).toFixed(2)} MiB`.padStart(8);
      const ratio = (x) => `${x.toFixed(2)}x`.padStart(14);
      console.log(`${label} ${WAYS.map((way) => gb(rates[way])).join(' ')} ${gb(alone)}${ratios.map((way) => ratio(rates.simd2 / rates[way])).join('')}`);
    }
  }
} else {
  const { role, way, size, memory, words } = workerData;
  parentPort.postMessage(role === 'sender' ? send(size, memory, words) : role === 'receiver' ? receive(way, size, memory, words) : alone(memory));
}

/** Streams messages of `size` bytes into the slots until the receiver says DONE. */
function send(size, memory, words) {
  const source = new Float64Array(size / 8);
  for (let i = 0; i < source.length; i++) source[i] = i + 0.5;
  const bytes = new Uint8Array(source.buffer);
  const pieces = [];
  for (let at = 0; at < size; at += PIECE) pieces.push(bytes.subarray(at, at + PIECE));
  const target = new Uint8Array(memory.buffer);
  let piece = 0;
  for (let seq = 0; Atomics.load(words, DONE) === 0; seq++) {
    source[0] = seq; // a stamp
    for (let k = 0; k < pieces.length; k++) {
      while (piece - Atomics.load(words, RECEIVED) >= AHEAD) if (Atomics.load(words, DONE) !== 0) return 0;
      const slot = REGION + (piece % SLOTS) * PIECE;
      fill.call(target, pieces[k], slot, slot + PIECE);
      Atomics.store(words, SENT, ++piece);
    }
  }
  return 0;
}

/** Receives for SECONDS after one message, reading each piece `way`'s way; GB/s. */
function receive(way, size, memory, words) {
  const sum = way.startsWith('simd') ? sumModule(memory, Number(way.slice(4) || 1), STRIDE) : undefined;
  const ints = new Int32Array(memory.buffer);
  const data = new Uint8Array(memory.buffer);
  const own = new Uint8Array(size);
  const expectedElements = new Float64Array(size / 8); // cmp: what the message should be, compared with it (memcmp)
  for (let i = 0; i < expectedElements.length; i++) expectedElements[i] = i + 0.5;
  const expected = new Uint8Array(expectedElements.buffer);
  let seq = 0;
  let differ = 0; // cmp: pieces that were not what they should be (memcmp stops at the first byte that differs)
  const perMessage = size / PIECE;
  let piece = 0;
  let checksum = 0;
  const one = () => {
    for (let k = 0; k < perMessage; k++) {
      while (Atomics.load(words, SENT) <= piece);
      const slot = REGION + (piece % SLOTS) * PIECE;
      if (way === 'stamps') checksum = (checksum + ints[slot >> 2] + ints[(slot + PIECE - 8) >> 2]) | 0;
      else if (sum !== undefined) checksum = (checksum + sum(slot, slot + PIECE)) | 0;
      else if (way === 'js') checksum = (checksum + sumWords(ints, slot >> 2, (slot + PIECE) >> 2)) | 0;
      else if (way === 'cmp') {
        if (k === 0) expectedElements[0] = seq; // the sender's stamp
        if (compare.call(data, expected, k * PIECE, (k + 1) * PIECE, slot, slot + PIECE) !== 0) differ++;
      }
      else if (way === 'touch') checksum = (checksum + touchLines(ints, slot >> 2, (slot + PIECE) >> 2)) | 0;
      else fill.call(own, data.subarray(slot, slot + PIECE), k * PIECE, (k + 1) * PIECE);
      Atomics.store(words, RECEIVED, ++piece);
    }
    seq++;
  };
  one();
  if (sum !== undefined) { // the SIMD sum agrees with the JavaScript one, on words of every value
    const copy = new WebAssembly.Memory({ initial: 5, maximum: 5, shared: true });
    const check = new Int32Array(copy.buffer, REGION, PIECE / 4);
    for (let i = 0; i < check.length; i++) check[i] = Math.imul(i, 0x9e3779b9);
    if (sum !== undefined && sumModule(copy, Number(way.slice(4) || 1), STRIDE)(REGION, REGION + PIECE) !== sumWords(check, 0, check.length)) throw new Error('the SIMD sum is wrong');
  }
  let count = 0;
  const started = performance.now();
  while (performance.now() - started < SECONDS * 1000) {
    one();
    count++;
  }
  const elapsed = performance.now() - started;
  Atomics.store(words, DONE, 1);
  if (checksum === 0.5) console.log(checksum); // never: keeps the reads
  if (differ > 0) throw new Error(`cmp: ${differ} pieces differed from what was sent`);
  return (count * size) / elapsed / 1e6;
}

/** The simd2 sum over a hot 1 MiB region, one thread: GB/s. */
function alone(memory) {
  const sum = sumModule(memory, 2, 4096);
  new Uint8Array(memory.buffer).fill(1, REGION, REGION + ALONE_BYTES);
  let total = 0;
  for (let k = 0; k < 100; k++) total = (total + sum(REGION, REGION + ALONE_BYTES)) | 0; // warm up
  let passes = 0;
  const started = performance.now();
  while (performance.now() - started < SECONDS * 1000) {
    total = (total + sum(REGION, REGION + ALONE_BYTES)) | 0;
    passes++;
  }
  if (total === 0.5) console.log(total);
  return (passes * ALONE_BYTES) / (performance.now() - started) / 1e6;
}

/** One word of every 64-byte line of `ints` from `from` to `to`, summed: the lines pulled, most bytes not read. */
function touchLines(ints, from, to) {
  let a = 0;
  for (let i = from; i < to; i += 16) a = (a + ints[i]) | 0;
  return a;
}

/** The 32-bit words of `ints` from `from` to `to`, summed mod 2^32, four a turn. */
function sumWords(ints, from, to) {
  let a = 0, b = 0, c = 0, d = 0;
  for (let i = from; i < to; i += 4) {
    a = (a + ints[i]) | 0;
    b = (b + ints[i + 1]) | 0;
    c = (c + ints[i + 2]) | 0;
    d = (d + ints[i + 3]) | 0;
  }
  return (a + b + c + d) | 0;
}

/**
 * `sum(at, end)`: the 32-bit words from byte `at` to `end` summed mod 2^32, in WebAssembly SIMD over `memory`, in
 * four v128 sums, 64 bytes a stream a turn. With `streams` > 1 it reads that many runs `stride` bytes apart at once
 * (`end - at` a multiple of streams * stride), as glibc's memcpy does for large copies (4 pages at once): each run is a
 * stream of its own for the hardware's prefetchers. The module, byte by byte:
 *   (func (param $at i32) (param $end i32) (result i32) (local $a v128) (local $b v128) (local $c v128) (local $d v128)
 *         (local $next i32) (local $group i32)
 *     block loop                                       ;; a group of `streams` runs
 *       (br_if 1 (i32.ge_u (local.get $at) (local.get $end)))
 *       $group = $at + stride
 *       block loop                                     ;; 64 bytes of each run a turn
 *         (br_if 1 (i32.ge_u (local.get $at) (local.get $group)))
 *         for each run k: $a = (i32x4.add $a (v128.load offset=k*stride $at)), $b at +16, $c at +32, $d at +48
 *         $at += 64  (br 0)
 *       end end
 *       $at += (streams - 1) * stride  (br 0)
 *     end end
 *     $a = $a + $b + $c + $d; lane 0 + lane 1 + lane 2 + lane 3)
 */
function sumModule(memory, streams = 1, stride = 4096) {
  const leb = (n) => { const out = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; out.push(b); } while (n); return out; };
  const sleb = (n) => { const out = leb(n); if (out.at(-1) & 0x40) { out[out.length - 1] |= 0x80; out.push(0); } return out; };
  const section = (id, body) => [id, ...leb(body.length), ...body];
  const v128Load = (offset) => [0xfd, 0x00, 4, ...leb(offset)];
  const add = [0xfd, 0xae, 0x01]; // i32x4.add
  const lane = (k) => [0xfd, 0x1b, k]; // i32x4.extract_lane k
  const AT = 0, END = 1, A = 2, GROUP = 6;
  const turn = [];
  for (let run = 0; run < streams; run++) {
    for (let k = 0; k < 4; k++) turn.push(0x20, A + k, 0x20, AT, ...v128Load(run * stride + 16 * k), ...add, 0x21, A + k);
  }
  const body = [
    2, 4, 0x7b, 1, 0x7f, // four v128 locals, one i32
    0x02, 0x40, 0x03, 0x40,
    0x20, AT, 0x20, END, 0x4f, 0x0d, 1,
    0x20, AT, 0x41, ...sleb(stride), 0x6a, 0x21, GROUP,
    0x02, 0x40, 0x03, 0x40,
    0x20, AT, 0x20, GROUP, 0x4f, 0x0d, 1,
    ...turn,
    0x20, AT, 0x41, ...sleb(64), 0x6a, 0x21, AT,
    0x0c, 0, 0x0b, 0x0b,
    0x20, AT, 0x41, ...sleb((streams - 1) * stride), 0x6a, 0x21, AT,
    0x0c, 0, 0x0b, 0x0b,
    0x20, A, 0x20, A + 1, ...add, 0x20, A + 2, ...add, 0x20, A + 3, ...add, 0x21, A,
    0x20, A, ...lane(0), 0x20, A, ...lane(1), 0x6a, 0x20, A, ...lane(2), 0x6a, 0x20, A, ...lane(3), 0x6a,
    0x0b,
  ];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 2, 0x7f, 0x7f, 1, 0x7f]), // (i32 i32) -> i32
    ...section(2, [1, 3, ...Buffer.from('env'), 6, ...Buffer.from('memory'), 0x02, 0x03, 0, ...leb(65536)]), // shared memory
    ...section(3, [1, 0]),
    ...section(7, [1, 3, ...Buffer.from('sum'), 0x00, 0]),
    ...section(10, [1, ...leb(body.length), ...body]),
  ];
  return new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(bytes)), { env: { memory } }).exports.sum;
}

/** One pair streaming `size`-byte messages, the receiver reading `way`'s way: its GB/s. */
async function pair(way, size) {
  const memory = new WebAssembly.Memory({ initial: 1 + (SLOTS * PIECE) / 65536, maximum: 1 + (SLOTS * PIECE) / 65536, shared: true });
  new Uint8Array(memory.buffer).fill(0); // every page touched before timing
  const words = new Int32Array(new SharedArrayBuffer(256));
  const workers = ['sender', 'receiver'].map((role) => new Worker(new URL(import.meta.url), { workerData: { role, way, size, memory, words } }));
  try {
    const rates = await Promise.all(workers.map((w) => new Promise((resolve, reject) => w.once('message', resolve).once('error', reject))));
    return rates[1];
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

async function single() {
  const pages = (REGION + ALONE_BYTES) / 65536;
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  const worker = new Worker(new URL(import.meta.url), { workerData: { role: 'alone', memory } });
  try {
    return await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject));
  } finally {
    await worker.terminate();
  }
}
