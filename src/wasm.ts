/**
 * WebAssembly as this project uses it: a shared memory that several threads map, and small modules over it, written
 * out here byte by byte (WebAssembly's "Binary Format"), with no toolchain and no file to load. Two modules are made
 * so: the arena's combine (simd.ts) and the bandwidth benchmark's in-place read (bench/word-sum.ts).
 *
 * Each module imports its memory as `env.memory`, shared, of 0 pages at least and wasm32's 65,536 at most, so that one
 * compiled module fits any shared memory: a thread compiles it once and instantiates it over the memory it was handed.
 * V8 reserves 8 to 10 GiB of addresses for each WebAssembly.Memory (guard regions, which spare the code its bounds
 * checks), of which only the pages written are ever backed by memory. Where the process's address space is limited
 * (`ulimit -v`) below that, Node 20's V8 (11.3) refuses the memory; Node 24's (13.6) reserves its own pages only, and
 * the code checks bounds. Both modules use SIMD, which V8 on x64 runs only on a CPU with SSE4.1 (QEMU's default CPU
 * model, qemu64, has none): elsewhere a module with a SIMD instruction does not compile ("Wasm SIMD unsupported").
 * Where V8 refuses the memory or has no SIMD, sharedMemory says so (undefined), and the caller works on a plain
 * SharedArrayBuffer without WebAssembly.
 */

/** What we use of a shared WebAssembly.Memory (Node has it; TypeScript's ES libraries do not declare it). */
export interface WasmMemory {
  readonly buffer: SharedArrayBuffer;
}
/** A compiled WebAssembly.Module: it can be posted to a worker, which instantiates it without compiling it again. */
export type WasmModule = object & { readonly __wasmModule?: never };

interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum: number; shared: true }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { readonly exports: Record<string, unknown> };
  validate: (bytes: Uint8Array) => boolean;
}
const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

export const PAGE_BYTES = 65536;
/** wasm32's largest memory: a module's import accepts any shared memory up to it. */
const MAX_PAGES = 65536;

/**
 * A shared memory of at least `bytes` (whole 64 KiB pages), that never grows: its buffer stays the same. Undefined
 * where the process cannot reserve the addresses for one (V8 throws a RangeError: "could not allocate memory"), has no
 * WebAssembly (`node --jitless`; Node 20's `--no-expose-wasm`), or cannot run the SIMD modules made for it (an x64 CPU
 * without SSE4.1, or `node --no-enable-sse4-1`): a memory no module can be compiled for would only fail later.
 */
export function sharedMemory(bytes: number): WasmMemory | undefined {
  const pages = Math.ceil(bytes / PAGE_BYTES);
  if (wasm === undefined) return undefined; // node --jitless
  if (!runsSimd()) return undefined;
  try {
    return new wasm.Memory({ initial: pages, maximum: pages, shared: true });
  } catch (error) {
    if (error instanceof RangeError) return undefined;
    throw error;
  }
}

let simdRuns: boolean | undefined;

/** Whether this thread's V8 compiles WebAssembly SIMD: it validates a module of one i32x4.add (asked once). */
function runsSimd(): boolean {
  if (simdRuns === undefined) {
    const { localGet, localSet } = OPCODES;
    const body = [localGet, 0, localGet, 0, ...simd(0xae), localSet, 0]; // $a = i32x4.add($a, $a), a v128 local $a
    simdRuns = wasm!.validate(memoryModule([{ name: 'probe', params: [], results: [], locals: [[1, CODES.v128]], body }]));
  }
  return simdRuns;
}

/** Compiles a module's bytes (made by memoryModule). Only where sharedMemory gave a memory. */
export function compile(bytes: Uint8Array): WasmModule {
  return new wasm!.Module(bytes);
}

/** The exports of `module` instantiated over `memory`. */
export function instantiate(module: WasmModule, memory: WasmMemory): Record<string, unknown> {
  return new wasm!.Instance(module, { env: { memory } }).exports;
}

/** One function of a module: its signature, its locals after the parameters (runs of one type), its code. */
export interface WasmFunction {
  name: string;
  params: number[];
  results: number[];
  locals: [count: number, type: number][];
  /** The instructions, without the closing `end`. */
  body: number[];
}

/** The binary format's codes this project writes: section ids, value types, and the import's and export's kinds. */
export const CODES = {
  typeSection: 1, importSection: 2, functionSection: 3, exportSection: 7, codeSection: 10,
  functionType: 0x60, i32: 0x7f, v128: 0x7b, emptyBlockType: 0x40,
  memoryImport: 0x02, sharedWithMaximum: 0x03, functionExport: 0x00,
} as const;

/** The plain opcodes used. */
export const OPCODES = {
  block: 0x02, loop: 0x03, end: 0x0b, br: 0x0c, brIf: 0x0d, localGet: 0x20, localSet: 0x21,
  i32Load: 0x28, i32Const: 0x41, i32Eqz: 0x45, i32GtU: 0x4b, i32GeU: 0x4f, i32Add: 0x6a, i32Sub: 0x6b,
} as const;

/**
 * A module that imports a shared memory (`env.memory`) and exports `functions` by name, in that order. Functions of
 * one signature share a type.
 */
export function memoryModule(functions: readonly WasmFunction[]): Uint8Array {
  const signatures: string[] = [];
  const typeOf = functions.map(({ params, results }) => {
    const key = `${params.join(',')}:${results.join(',')}`;
    if (!signatures.includes(key)) signatures.push(key);
    return signatures.indexOf(key);
  });
  const types = signatures.map((key) => {
    const [params, results] = key.split(':').map((list) => (list === '' ? [] : list.split(',').map(Number)));
    return join([CODES.functionType], vector(params!.map((type) => [type])), vector(results!.map((type) => [type])));
  });
  return new Uint8Array(join(
    [0x00, 0x61, 0x73, 0x6d], // "\0asm"
    [0x01, 0x00, 0x00, 0x00], // version 1
    section(CODES.typeSection, vector(types)),
    // env.memory: shared, of 0 pages at least and MAX_PAGES at most
    section(CODES.importSection, vector([join(
      name('env'), name('memory'), [CODES.memoryImport, CODES.sharedWithMaximum], unsigned(0), unsigned(MAX_PAGES),
    )])),
    section(CODES.functionSection, vector(typeOf.map((type) => unsigned(type)))),
    section(CODES.exportSection, vector(functions.map((fn, index) =>
      join(name(fn.name), [CODES.functionExport], unsigned(index))))),
    section(CODES.codeSection, vector(functions.map((fn) =>
      sized(join(vector(fn.locals.map(([count, type]) => join(unsigned(count), [type]))), fn.body, [OPCODES.end]))))),
  ));
}

// ─── The binary format's pieces ─────────────────────────────────────────────────────────────────────────────

/** A SIMD instruction: the 0xfd prefix, then its opcode (WebAssembly's SIMD proposal, "Binary encoding"). */
export function simd(opcode: number): number[] {
  return join([0xfd], unsigned(opcode));
}

/** A memory access's immediates: alignment 2^`align` (a hint: any address works) and a constant offset. */
export function memarg(offset: number, align = 4): number[] {
  return join([align], unsigned(offset));
}

function section(id: number, body: number[]): number[] {
  return join([id], sized(body));
}

function sized(bytes: number[]): number[] {
  return join(unsigned(bytes.length), bytes);
}

function vector(items: number[][]): number[] {
  return join(unsigned(items.length), ...items);
}

/** The pieces one after the other (concat: spreading kilobytes of them took milliseconds on a cold start). */
export function join(...pieces: number[][]): number[] {
  return ([] as number[]).concat(...pieces);
}

function name(text: string): number[] {
  return vector([...text].map((character) => [character.charCodeAt(0)]));
}

/** LEB128 of a non-negative integer: 7 bits a byte, low first, the top bit set on all but the last. */
export function unsigned(value: number): number[] {
  const bytes: number[] = [];
  do {
    const low = value % 128;
    value = Math.floor(value / 128);
    bytes.push(value > 0 ? low | 0x80 : low);
  } while (value > 0);
  return bytes;
}

/** Signed LEB128 (i32.const's immediate), of a non-negative integer: one more byte once bit 6 is set. */
export function signed(value: number): number[] {
  const bytes = unsigned(value);
  return (bytes.at(-1)! & 0x40) === 0 ? bytes : [...bytes.slice(0, -1), bytes.at(-1)! | 0x80, 0];
}
