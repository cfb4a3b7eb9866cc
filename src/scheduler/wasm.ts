/**
 * WebAssembly scheduler core: the Rust crate in `core/`, bound by hand.
 *
 * One `WebAssembly.Instance` per core. The module is compiled once, lazily
 * and synchronously, from the embedded base64 (no permissions, no fetch);
 * an instance then costs tens of microseconds. Owning its memory alone is
 * what keeps the hot paths cheap: only this core's own export calls can grow
 * that memory, so the typed-array views into it are re-checked after those
 * calls and never on `pushReady`, `popReady` or `cancelTimer`.
 *
 * JavaScript works on the shared state directly (`Hdr` in
 * `core/src/sched.rs`):
 * - The ready ring lives in linear memory. Between export calls JavaScript
 *   owns it and keeps head, tail and count in fields; before an export that
 *   touches the ring it stores them into the header, and reloads them after.
 *   The ring's view starts at the ring itself, so a push or pop is the same
 *   code as the TypeScript core's ring.
 * - Cancelling a timer is a generation bump in the core's one-byte-per-timer
 *   entry table plus two counters, done here without an export call; the
 *   core drops the cancelled timer's item lazily.
 *
 * @module
 */

import type { CoreKind, SchedulerCore } from "./types.ts";
import { WASM_BASE64 } from "./wasm_bytes.ts";

interface CoreExports {
  memory: WebAssembly.Memory;
  aio_hdr(): number;
  aio_ring_grow(min: number): void;
  aio_add_timer(deadline: number, id: number): number;
  aio_sweep(): void;
  aio_next_deadline(): number;
  aio_advance(now: number): number;
  aio_reserve(ready: number, timers: number): void;
}

// Word offsets in the shared header (`Hdr` in core/src/sched.rs).
const HEAD = 0;
const TAIL = 1;
const COUNT = 2;
const MASK = 3;
const BASE = 4;
const GENS_PTR = 5;
const GENS_LEN = 6;
const LIVE = 7;
const DEAD = 8;
const HDR_WORDS = 9;

// Token layout and sweep rule, as in core/src/sched.rs.
const INDEX_BITS = 22;
const INDEX_MASK = (1 << INDEX_BITS) - 1;
const TOKEN_MASK = (1 << 30) - 1;
const SWEEP_MIN = 4096;

function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  const from = (Uint8Array as unknown as {
    fromBase64?: (s: string) => Uint8Array<ArrayBuffer>;
  }).fromBase64;
  if (from) return from(s);
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

let compiled: WebAssembly.Module | undefined;

/**
 * The compiled aio_core module, shared by every {@linkcode WasmCore}.
 * Compiled on first use (about a millisecond), so loops on the TypeScript
 * core never pay for it.
 */
export function wasmModule(): WebAssembly.Module {
  return compiled ??= new WebAssembly.Module(decodeBase64(WASM_BASE64));
}

/**
 * The WebAssembly {@linkcode SchedulerCore}: a hierarchical timing wheel
 * (6 levels × 64 slots of 1 ms) plus a ready ring in linear memory. Each
 * instance is independent; dropping it lets the garbage collector reclaim
 * its memory, so there is nothing to dispose.
 */
export class WasmCore implements SchedulerCore {
  /** Always `"wasm"`. */
  readonly kind: CoreKind = "wasm";

  #ex: CoreExports;
  #hdrAddr: number;
  // The views go stale (length 0) when the memory grows; #ring and #gens
  // are also replaced when the core reallocates them. Initialising #ring
  // with an ordinary empty array, rather than first storing another view
  // in it, measured ~9% faster push/pop.
  #hdr: Int32Array = new Int32Array(0);
  #ring: Int32Array = new Int32Array(0);
  #gens: Uint8Array = new Uint8Array(0);
  #head = 0;
  #tail = 0;
  #count = 0;
  #mask = 0;

  /** Instantiates a fresh core (its own WebAssembly instance and memory). */
  constructor() {
    const instance = new WebAssembly.Instance(wasmModule(), {});
    this.#ex = instance.exports as unknown as CoreExports;
    this.#hdrAddr = this.#ex.aio_hdr();
    this.#ex.aio_ring_grow(16);
    this.#load();
  }

  /** Appends a handle id to the ready ring. */
  pushReady(id: number): void {
    if (this.#count === this.#mask + 1) this.#growRing(this.#count + 1);
    this.#ring[this.#tail] = id;
    this.#tail = (this.#tail + 1) & this.#mask;
    this.#count++;
  }

  /** Removes and returns the oldest ready id. Only valid when `readyCount() > 0`. */
  popReady(): number {
    const h = this.#head;
    this.#head = (h + 1) & this.#mask;
    this.#count--;
    return this.#ring[h];
  }

  /** Number of ids in the ready ring. */
  readyCount(): number {
    return this.#count;
  }

  /** Schedules `id` at `deadline` (ms); returns a token for `cancelTimer`. */
  addTimer(deadline: number, id: number): number {
    const r = this.#ex.aio_add_timer(deadline, id);
    // Negative: the entry table is full. Bit 30: views to re-create.
    if ((r >>> 30) !== 0) {
      if (r < 0) throw new RangeError("too many timers");
      this.#views();
      return r & TOKEN_MASK;
    }
    return r;
  }

  /** Cancels a live timer; `false` for fired, cancelled or stale tokens. */
  cancelTimer(token: number): boolean {
    // Mirrors Core::cancel_timer. Live generations are odd; an index past
    // the table reads `undefined` and fails the comparison.
    const gen = token >>> INDEX_BITS;
    const gens = this.#gens;
    const e = token & INDEX_MASK;
    if (gens[e] !== gen || (gen & 1) === 0) return false;
    gens[e] = gen + 1;
    const h = this.#hdr;
    const live = h[LIVE] - 1;
    const dead = h[DEAD] + 1;
    h[LIVE] = live;
    h[DEAD] = dead;
    if (dead >= SWEEP_MIN && dead > live) this.#ex.aio_sweep();
    return true;
  }

  /**
   * A lower bound on the earliest live deadline (exact when that timer is
   * within the current 64 ms), or `Infinity`.
   */
  nextDeadline(): number {
    const t = this.#ex.aio_next_deadline();
    if (this.#hdr.length === 0) this.#views();
    return t;
  }

  /** Moves every timer with `deadline <= now` to the ready ring, in order. */
  advance(now: number): number {
    this.#store();
    const moved = this.#ex.aio_advance(now);
    this.#load();
    return moved;
  }

  /** Number of live timers. */
  timerCount(): number {
    return this.#hdr[LIVE];
  }

  /** Pre-sizes the ready ring and timer storage. */
  reserve(ready: number, timers: number): void {
    this.#store();
    this.#ex.aio_reserve(ready, timers);
    this.#load();
  }

  #growRing(min: number): void {
    this.#store();
    this.#ex.aio_ring_grow(min);
    this.#load();
  }

  #store(): void {
    const h = this.#hdr;
    h[HEAD] = this.#head;
    h[TAIL] = this.#tail;
    h[COUNT] = this.#count;
  }

  // Reloads the ring state after an export that may have moved timers into
  // the ring, reallocated it or the entry table, or grown the memory.
  #load(): void {
    let h = this.#hdr;
    if (
      h.length === 0 || h[MASK] !== this.#mask || h[BASE] * 4 !== this.#ring.byteOffset ||
      h[GENS_PTR] !== this.#gens.byteOffset || h[GENS_LEN] !== this.#gens.length
    ) {
      this.#views();
      h = this.#hdr;
    }
    this.#head = h[HEAD];
    this.#tail = h[TAIL];
    this.#count = h[COUNT];
  }

  // Re-creates every view from the header. Head, tail and count stay as
  // JavaScript has them.
  #views(): void {
    const buffer = this.#ex.memory.buffer;
    const h = this.#hdr = new Int32Array(buffer, this.#hdrAddr, HDR_WORDS);
    this.#mask = h[MASK];
    this.#ring = new Int32Array(buffer, h[BASE] * 4, this.#mask + 1);
    this.#gens = new Uint8Array(buffer, h[GENS_PTR], h[GENS_LEN]);
  }
}

/** Creates a {@linkcode WasmCore}. */
export function createWasmCore(): WasmCore {
  return new WasmCore();
}
