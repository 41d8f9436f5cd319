/** Shared test helpers: a seeded PRNG, message patterns, and workers that are always terminated. */
import { Worker } from 'node:worker_threads';

/** mulberry32: a tiny seeded PRNG, so every randomized test can be replayed from the seed it prints. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed for a randomized test: SEED from the environment to replay a failure, otherwise a fresh one. */
export function testSeed(name: string): number {
  const seed = process.env.SEED ? Number(process.env.SEED) : (Math.random() * 2 ** 31) >>> 0;
  console.log(`  ${name}: seed ${seed} (replay with SEED=${seed})`);
  return seed;
}

/** Message sizes: mostly small, some up to `max`, and the edges 0 and max themselves. */
export function randomSize(random: () => number, max: number): number {
  const r = random();
  if (r < 0.05) return 0;
  if (r < 0.1) return max;
  if (r < 0.55) return Math.floor(random() * 64);
  return Math.floor(random() * (max + 1));
}

/** Fills `bytes` with the pattern of message number `seq`; `checkPattern` tells the first wrong byte. */
export function fillPattern(bytes: Uint8Array, seq: number): void {
  for (let i = 0; i < bytes.length; i++) bytes[i] = (seq * 131 + i * 7 + (i >> 8)) & 0xff;
}

export function checkPattern(bytes: Uint8Array, seq: number): number {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== ((seq * 131 + i * 7 + (i >> 8)) & 0xff)) return i;
  }
  return -1;
}

/** Runs a fixture worker to its result message; it is terminated whatever happens, within `timeoutMs`. */
export async function runWorker<T>(fixture: string, workerData: unknown, timeoutMs = 60_000): Promise<T> {
  const worker = new Worker(new URL(`./fixtures/${fixture}.js`, import.meta.url), { workerData });
  try {
    return await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${fixture} did not finish in ${timeoutMs} ms`)), timeoutMs);
      worker.once('message', (value: T) => { clearTimeout(timer); resolve(value); });
      worker.once('error', (err) => { clearTimeout(timer); reject(err); });
      worker.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${fixture} exited with code ${code} before answering`)); });
    });
  } finally {
    await worker.terminate();
  }
}
