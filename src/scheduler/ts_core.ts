/**
 * Pure-TypeScript scheduler core: the fallback when WebAssembly is unwanted,
 * and the reference the WASM core is differentially tested against.
 *
 * Ready queue: a power-of-two `Int32Array` ring. Timers: an indexed 4-ary
 * min-heap keyed by `(deadline, seq)` with the keys stored inline in parallel
 * typed arrays, so sifting touches contiguous memory and nothing allocates
 * once capacity is reached.
 *
 * @module
 */

import type { CoreKind, SchedulerCore } from "./types.ts";

/**
 * Low bits of a timer token index the entry table; the high bits carry the
 * entry's generation so a token outliving its timer cannot cancel the timer
 * that later reuses the entry. 22 + 8 bits keeps tokens below 2^30 (small
 * integers in V8) and allows 4M simultaneous timers. Both cores use the same
 * split.
 */
export const TOKEN_INDEX_BITS = 22;
/** Mask of the entry-index part of a timer token. */
export const TOKEN_INDEX_MASK = (1 << TOKEN_INDEX_BITS) - 1;
/** Mask of the generation part of a timer token, after shifting it down. */
export const TOKEN_GEN_MASK = (1 << (30 - TOKEN_INDEX_BITS)) - 1;
/** Most timer entries a core can hold at once (live plus not yet recycled). */
export const MAX_TIMER_ENTRIES = 1 << TOKEN_INDEX_BITS;

// Entry states kept in `pos`: a heap position when >= 0.
const FREE = -1;
const FIRED = -2;

function pow2AtLeast(n: number): number {
  let c = 16;
  while (c < n) c *= 2;
  return c;
}

/**
 * The pure-TypeScript {@linkcode SchedulerCore}. Observable behaviour (popped
 * order, cancel results, counts) is identical to the WASM core; only
 * {@linkcode TsCore.nextDeadline} is tighter (always exact).
 */
export class TsCore implements SchedulerCore {
  /** Always `"ts"`. */
  readonly kind: CoreKind = "ts";

  // Ready ring. Indices stay wrapped in [0, cap) so they remain small ints.
  #ring: Int32Array = new Int32Array(16);
  #mask = 15;
  #head = 0;
  #tail = 0;
  #count = 0;

  // Heap, keys inline: slot i holds (deadline, seq) of entry hEnt[i].
  #hDeadline: Float64Array = new Float64Array(16);
  #hSeq: Float64Array = new Float64Array(16);
  #hEnt: Int32Array = new Int32Array(16);
  #size = 0;
  #seq = 0;

  // Entry table, indexed by the token's low bits.
  #ePos: Int32Array = new Int32Array(16);
  #eGen: Int32Array = new Int32Array(16);
  #eId: Int32Array = new Int32Array(16);
  #entries = 0; // entries ever handed out (high-water mark)

  // Free entries are recycled FIFO so a slot's generation advances as slowly
  // as possible, which keeps stale tokens stale for longer.
  #free: Int32Array = new Int32Array(16);
  #freeHead = 0;
  #freeCount = 0;

  // Entries fired by the last advance(); recycled at the start of the next
  // one so a callback in the batch can still (harmlessly) cancel its token.
  #fired: Int32Array = new Int32Array(16);
  #firedCount = 0;

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
    let e: number;
    if (this.#freeCount > 0) {
      e = this.#free[this.#freeHead];
      this.#freeHead = (this.#freeHead + 1) & (this.#free.length - 1);
      this.#freeCount--;
    } else {
      e = this.#entries;
      if (e === this.#ePos.length) this.#growEntries(e + 1);
      this.#entries = e + 1;
    }
    this.#eId[e] = id;
    const n = this.#size;
    if (n === this.#hEnt.length) this.#growHeap(n + 1);
    this.#size = n + 1;
    this.#siftUp(n, deadline, this.#seq++, e);
    return (this.#eGen[e] << TOKEN_INDEX_BITS) | e;
  }

  /** Cancels a live timer; `false` for fired, cancelled or stale tokens. */
  cancelTimer(token: number): boolean {
    const e = token & TOKEN_INDEX_MASK;
    if (e >= this.#entries) return false;
    const pos = this.#ePos[e];
    if (pos < 0 || this.#eGen[e] !== (token >>> TOKEN_INDEX_BITS)) return false;
    this.#removeAt(pos);
    this.#retire(e);
    this.#pushFree(e);
    return true;
  }

  /** The exact earliest live deadline, or `Infinity` when there is none. */
  nextDeadline(): number {
    return this.#size === 0 ? Infinity : this.#hDeadline[0];
  }

  /** Moves every timer with `deadline <= now` to the ready ring, in order. */
  advance(now: number): number {
    for (let i = 0; i < this.#firedCount; i++) this.#pushFree(this.#fired[i]);
    this.#firedCount = 0;
    let moved = 0;
    const hd = this.#hDeadline;
    while (this.#size > 0 && hd[0] <= now) {
      const e = this.#hEnt[0];
      this.#removeAt(0);
      this.#retire(e);
      this.pushReady(this.#eId[e]);
      if (this.#firedCount === this.#fired.length) {
        this.#fired = grow(this.#fired, this.#firedCount + 1);
      }
      this.#fired[this.#firedCount++] = e;
      moved++;
    }
    return moved;
  }

  /** Number of live timers. */
  timerCount(): number {
    return this.#size;
  }

  /** Pre-sizes the ready ring and timer storage. */
  reserve(ready: number, timers: number): void {
    // A hint, like the WASM core's: capped rather than refused.
    timers = Math.min(timers, MAX_TIMER_ENTRIES);
    if (ready > this.#mask + 1) this.#growRing(ready);
    if (timers > this.#hEnt.length) this.#growHeap(timers);
    if (timers > this.#ePos.length) this.#growEntries(timers);
    // Fired entries wait one advance before recycling, so up to `timers`
    // of them can be parked alongside as many new live ones.
    if (timers > this.#fired.length) this.#fired = grow(this.#fired, timers);
  }

  #retire(e: number): void {
    this.#ePos[e] = FIRED;
    this.#eGen[e] = (this.#eGen[e] + 1) & TOKEN_GEN_MASK;
  }

  #pushFree(e: number): void {
    this.#ePos[e] = FREE;
    const cap = this.#free.length;
    // The free ring never holds more than the entry table, and it is sized
    // alongside it in #growEntries.
    this.#free[(this.#freeHead + this.#freeCount) & (cap - 1)] = e;
    this.#freeCount++;
  }

  // Places (d, s, e) at hole `i` or above it.
  #siftUp(i: number, d: number, s: number, e: number): void {
    const hd = this.#hDeadline,
      hs = this.#hSeq,
      he = this.#hEnt,
      pos = this.#ePos;
    while (i > 0) {
      const p = (i - 1) >> 2;
      const pd = hd[p];
      if (pd < d || (pd === d && hs[p] < s)) break;
      hd[i] = pd;
      hs[i] = hs[p];
      const pe = he[p];
      he[i] = pe;
      pos[pe] = i;
      i = p;
    }
    hd[i] = d;
    hs[i] = s;
    he[i] = e;
    pos[e] = i;
  }

  // Places (d, s, e) at hole `i` or below it.
  #siftDown(i: number, d: number, s: number, e: number): void {
    const hd = this.#hDeadline,
      hs = this.#hSeq,
      he = this.#hEnt,
      pos = this.#ePos;
    const n = this.#size;
    for (;;) {
      const c = 4 * i + 1;
      if (c >= n) break;
      // Smallest of up to four children.
      let m = c;
      let md = hd[c];
      let ms = hs[c];
      const end = c + 4 < n ? c + 4 : n;
      for (let k = c + 1; k < end; k++) {
        const kd = hd[k];
        if (kd < md || (kd === md && hs[k] < ms)) {
          m = k;
          md = kd;
          ms = hs[k];
        }
      }
      if (d < md || (d === md && s < ms)) break;
      hd[i] = md;
      hs[i] = ms;
      const me = he[m];
      he[i] = me;
      pos[me] = i;
      i = m;
    }
    hd[i] = d;
    hs[i] = s;
    he[i] = e;
    pos[e] = i;
  }

  #removeAt(i: number): void {
    const last = --this.#size;
    if (i === last) return;
    const d = this.#hDeadline[last], s = this.#hSeq[last], e = this.#hEnt[last];
    const pd = i > 0 ? this.#hDeadline[(i - 1) >> 2] : -Infinity;
    const ps = i > 0 ? this.#hSeq[(i - 1) >> 2] : -Infinity;
    if (d < pd || (d === pd && s < ps)) this.#siftUp(i, d, s, e);
    else this.#siftDown(i, d, s, e);
  }

  #growRing(min: number): void {
    const cap = pow2AtLeast(min);
    const ring = new Int32Array(cap);
    const old = this.#ring, mask = this.#mask;
    for (let i = 0; i < this.#count; i++) {
      ring[i] = old[(this.#head + i) & mask];
    }
    this.#ring = ring;
    this.#mask = cap - 1;
    this.#head = 0;
    this.#tail = this.#count & (cap - 1);
  }

  #growHeap(min: number): void {
    const cap = pow2AtLeast(min);
    this.#hDeadline = grow(this.#hDeadline, cap);
    this.#hSeq = grow(this.#hSeq, cap);
    this.#hEnt = grow(this.#hEnt, cap);
  }

  #growEntries(min: number): void {
    if (min > MAX_TIMER_ENTRIES) {
      throw new RangeError(`more than ${MAX_TIMER_ENTRIES} timers`);
    }
    const cap = pow2AtLeast(min);
    this.#ePos = grow(this.#ePos, cap);
    this.#eGen = grow(this.#eGen, cap);
    this.#eId = grow(this.#eId, cap);
    const free = new Int32Array(cap);
    const old = this.#free, oldMask = old.length - 1;
    for (let i = 0; i < this.#freeCount; i++) {
      free[i] = old[(this.#freeHead + i) & oldMask];
    }
    this.#free = free;
    this.#freeHead = 0;
  }
}

function grow<T extends Int32Array | Float64Array>(a: T, min: number): T {
  const b = new (a.constructor as { new (n: number): T })(pow2AtLeast(min));
  b.set(a);
  return b;
}
