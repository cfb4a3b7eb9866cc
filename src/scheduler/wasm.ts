/**
 * WebAssembly scheduler core: the Rust crate in `core/`, bound by hand.
 *
 * One `WebAssembly.Instance` per core. The module is compiled once, lazily
 * and synchronously, from the embedded base64 (no permissions, no fetch);
 * an instance then costs tens of microseconds, and owning its memory alone
 * is what keeps the ready ring cheap: only this core's own export calls can
 * grow that memory, so the `Int32Array` view is re-checked after those calls
 * and never on `pushReady`/`popReady`.
 *
 * The ready ring lives in linear memory. Between export calls JavaScript
 * owns it and keeps head, tail and count in fields; before an export that
 * touches the ring it stores them into the header Rust reads, and reloads the
 * header afterwards.
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
  aio_cancel_timer(token: number): number;
  aio_next_deadline(): number;
  aio_advance(now: number): number;
  aio_timer_count(): number;
  aio_reserve(ready: number, timers: number): void;
}

// Word offsets in the ring header (`RingHdr` in core/src/sched.rs).
const HEAD = 0;
const TAIL = 1;
const COUNT = 2;
const MASK = 3;
const BASE = 4;

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
  #mem: Int32Array;
  #hdr: number;
  #head = 0;
  #tail = 0;
  #count = 0;
  #mask = 0;
  #base = 0;

  /** Instantiates a fresh core (its own WebAssembly instance and memory). */
  constructor() {
    const instance = new WebAssembly.Instance(wasmModule(), {});
    this.#ex = instance.exports as unknown as CoreExports;
    this.#mem = new Int32Array(this.#ex.memory.buffer);
    this.#hdr = this.#ex.aio_hdr() >> 2;
    this.#ex.aio_ring_grow(16);
    this.#load();
  }

  /** Appends a handle id to the ready ring. */
  pushReady(id: number): void {
    if (this.#count === this.#mask + 1) this.#growRing(this.#count + 1);
    this.#mem[this.#base + this.#tail] = id;
    this.#tail = (this.#tail + 1) & this.#mask;
    this.#count++;
  }

  /** Removes and returns the oldest ready id. Only valid when `readyCount() > 0`. */
  popReady(): number {
    const h = this.#head;
    this.#head = (h + 1) & this.#mask;
    this.#count--;
    return this.#mem[this.#base + h];
  }

  /** Number of ids in the ready ring. */
  readyCount(): number {
    return this.#count;
  }

  /** Schedules `id` at `deadline` (ms); returns a token for `cancelTimer`. */
  addTimer(deadline: number, id: number): number {
    const token = this.#ex.aio_add_timer(deadline, id);
    if (token < 0) throw new RangeError("too many timers");
    if (this.#mem.length === 0) this.#refresh();
    return token;
  }

  /** Cancels a live timer; `false` for fired, cancelled or stale tokens. */
  cancelTimer(token: number): boolean {
    return this.#ex.aio_cancel_timer(token) !== 0;
  }

  /**
   * A lower bound on the earliest live deadline (exact when that timer is
   * within the current 64 ms), or `Infinity`.
   */
  nextDeadline(): number {
    const t = this.#ex.aio_next_deadline();
    if (this.#mem.length === 0) this.#refresh();
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
    return this.#ex.aio_timer_count();
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

  #refresh(): void {
    this.#mem = new Int32Array(this.#ex.memory.buffer);
  }

  #store(): void {
    const m = this.#mem, h = this.#hdr;
    m[h + HEAD] = this.#head;
    m[h + TAIL] = this.#tail;
    m[h + COUNT] = this.#count;
  }

  #load(): void {
    if (this.#mem.length === 0) this.#refresh();
    const m = this.#mem, h = this.#hdr;
    this.#head = m[h + HEAD];
    this.#tail = m[h + TAIL];
    this.#count = m[h + COUNT];
    this.#mask = m[h + MASK];
    this.#base = m[h + BASE];
  }
}

/** Creates a {@linkcode WasmCore}. */
export function createWasmCore(): WasmCore {
  return new WasmCore();
}
