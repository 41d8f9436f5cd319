// Probe: what `map` costs per item when the function costs nothing: squares of 0..n-1 on 2 workers (or objects `{ v:
// x² }` with `object`), the file being its own module (the function is one of its exports). Prints the time, µs an
// item, whether every result is right, the split between the workers and the process's peak memory (RSS).
// 2026-11-27, README.md ("map"): before 76ad5df each result was a postMessage of its own; since 9704533, an object
// result still is.
// Run: npm run build, then node docs/probes/map-quick.mjs [n=1000000] [number|object] [dist=dist, the build to measure]
import { isMainThread } from 'node:worker_threads';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const number = (x) => x * x;
export const object = (x) => ({ v: x * x });

if (isMainThread) {
  const [n = 1_000_000, kind = 'number', dist = new URL('../../dist', import.meta.url).pathname] = process.argv.slice(2);
  const { map } = await import(pathToFileURL(resolve(dist, 'src/index.js')).href);
  const items = Array.from({ length: +n }, (_, i) => i);
  const started = performance.now();
  const { results, itemsPerWorker } = await map(import.meta.url, items, { workers: 2, exportName: kind });
  const ms = performance.now() - started;
  const value = (r) => (kind === 'object' ? r.v : r);
  const right = results.length === items.length && results.every((r, i) => value(r) === i * i);
  const mib = (process.resourceUsage().maxRSS / 1024).toFixed(0);
  const perItem = ((ms * 1000) / n).toFixed(2);
  console.log(`${n} items (${kind}): ${ms.toFixed(0)} ms, ${perItem} µs an item, ${right ? 'all right' : 'WRONG'}, ` +
    `split [${itemsPerWorker.join(', ')}], peak RSS ${mib} MiB`);
}
