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
 * header afterwards. The ring's view starts at the ring itself, so a push or
 * pop is the same code as the TypeScript core's ring.
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
  #hdrAddr: number;
  // Both views go stale (length 0) when the memory grows; #ring is also
  // replaced when the ring itself is reallocated. Initialising #ring with
  // an ordinary empty array, rather than first storing the header view in
  // it, measured ~9% faster push/pop.
  #hdr: Int32Array;
  #ring: Int32Array = new Int32Array(0);
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
    this.#hdr = new Int32Array(0);
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
    const token = this.#ex.aio_add_timer(deadline, id);
    if (token < 0) throw new RangeError("too many timers");
    if (this.#hdr.length === 0) this.#views();
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

  #store(): void {
    const h = this.#hdr;
    h[HEAD] = this.#head;
    h[TAIL] = this.#tail;
    h[COUNT] = this.#count;
  }

  // Reloads the ring state after an export that may have moved timers into
  // the ring or reallocated it.
  #load(): void {
    if (this.#hdr.length === 0) this.#views();
    const h = this.#hdr;
    this.#head = h[HEAD];
    this.#tail = h[TAIL];
    this.#count = h[COUNT];
    if (h[MASK] !== this.#mask || h[BASE] * 4 !== this.#ring.byteOffset) this.#views();
  }

  // Re-creates both views: after the memory grew (which detaches them) or
  // the ring moved. Head, tail and count stay as JavaScript has them.
  #views(): void {
    const buffer = this.#ex.memory.buffer;
    const h = this.#hdr = new Int32Array(buffer, this.#hdrAddr, 5);
    this.#mask = h[MASK];
    this.#ring = new Int32Array(buffer, h[BASE] * 4, this.#mask + 1);
  }
}

/** Creates a {@linkcode WasmCore}. */
export function createWasmCore(): WasmCore {
  return new WasmCore();
}
