// Probe: the garbage a rank program makes per message on the shared transport. Rank 0 sends one Uint8Array of SIZE
// bytes N times (`comm.send`), rank 1 receives each into one buffer (`comm.recvInto`); each rank counts its own
// scavenges (young-generation collections) with a PerformanceObserver. The young generation is pinned at 1 MiB
// (--min/--max-semi-space-size: the probe runs itself again with them), so each scavenge stands for about 1 MiB
// allocated: bytes per message ≈ scavenges × 1 MiB / N. A few scavenges come from starting up, whatever N is.
// It also prints the rate of the receiver's loop (with the young generation pinned: a rough figure, for comparing
// two builds by turns).
// Run: node docs/probes/comm-garbage.mjs [size=1024] [ringBytes=16MiB] [messages=300000]   (needs `npm run build`)
import { spawnSync } from 'node:child_process';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

const SEMI_SPACE_MB = 1;

if (isMainThread && !process.argv.includes('--child')) {
  const flags = [`--min-semi-space-size=${SEMI_SPACE_MB}`, `--max-semi-space-size=${SEMI_SPACE_MB}`];
  const run = spawnSync(process.execPath, [...flags, new URL(import.meta.url).pathname, ...process.argv.slice(2), '--child'], { stdio: 'inherit' });
  process.exit(run.status ?? 1);
}

const { launch } = await import('../../dist/src/index.js');

/** The rank program: counts its scavenges over the loop, and times it. */
export default function (comm, { size, messages }) {
  let scavenges = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (entry.detail.kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges++;
  });
  observer.observe({ entryTypes: ['gc'] });
  const buffer = new Uint8Array(size);
  comm.barrier();
  const started = performance.now();
  if (comm.rank === 0) {
    for (let i = 0; i < messages; i++) comm.send(1, buffer, 0);
  } else {
    let bytes = 0;
    for (let i = 0; i < messages; i++) bytes += comm.recvInto(buffer, 0, 0).value;
    if (bytes !== size * messages) throw new Error(`received ${bytes} bytes, expected ${size * messages}`);
  }
  comm.barrier();
  const seconds = (performance.now() - started) / 1000;
  return new Promise((resolve) => setTimeout(() => { // the observer reports asynchronously
    observer.disconnect();
    resolve({ scavenges, seconds });
  }, 50));
}

if (isMainThread) {
  const sizeOf = (text, fallback) => {
    if (text === undefined) return fallback;
    const match = /^(\d+)(KiB|MiB)?$/.exec(text);
    if (!match) throw new Error(`expected a size like 1024, 64KiB or 16MiB, got ${text}`);
    return Number(match[1]) * (match[2] === 'MiB' ? 2 ** 20 : match[2] === 'KiB' ? 2 ** 10 : 1);
  };
  const args = process.argv.slice(2).filter((arg) => arg !== '--child');
  const size = sizeOf(args[0], 1024);
  const ringBytes = sizeOf(args[1], 16 * 2 ** 20);
  const messages = Number(args[2] ?? 300_000);
  const [sender, receiver] = await launch(import.meta.url, { size: 2, ringBytes, args: { size, messages }, timeoutMs: 120_000 });
  const perMessage = ({ scavenges }) => ((scavenges * SEMI_SPACE_MB * 2 ** 20) / messages).toFixed(0);
  console.log(`${messages} messages of ${size} B, ${ringBytes / 2 ** 20} MiB rings, ` +
    `${(messages / receiver.seconds / 1e6).toFixed(2)}M messages/s: sender ${sender.scavenges} scavenges ` +
    `(about ${perMessage(sender)} B/message), receiver ${receiver.scavenges} (about ${perMessage(receiver)} B/message)`);
}
