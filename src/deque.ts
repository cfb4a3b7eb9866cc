/**
 * @internal A ring-buffer deque: O(1) amortized push and pop at both ends,
 * which `Array.prototype.shift` is not on large arrays. Queues keep their
 * items in one, and every synchronisation primitive keeps its waiters in one.
 *
 * The buffer is a packed array of a power-of-two length. It doubles when
 * full and halves when a quarter full (never below its floor), so a queue
 * that held a million items gives the memory back once drained.
 *
 * @module
 */

// Below this many slots shrinking saves nothing worth a copy.
const DEFAULT_FLOOR = 8;

function packed<T>(n: number): (T | undefined)[] {
  // Filled by push so V8 keeps the elements packed (no hole checks).
  const a: (T | undefined)[] = [];
  for (let i = 0; i < n; i++) a.push(undefined);
  return a;
}

function ceilPow2(n: number): number {
  let c = DEFAULT_FLOOR;
  while (c < n) c *= 2;
  return c;
}

/** @internal */
export class Deque<T> {
  /** @internal */
  _buf: (T | undefined)[];
  /** @internal */
  _mask: number;
  /** @internal Index of the first item. */
  _head = 0;
  /** @internal */
  _size = 0;
  /** @internal The buffer never shrinks below this many slots. */
  _floor: number;

  /** `minCapacity`: the size the deque is expected to hold; it keeps at least that. */
  constructor(minCapacity = DEFAULT_FLOOR) {
    this._floor = ceilPow2(minCapacity);
    this._buf = packed(this._floor);
    this._mask = this._floor - 1;
  }

  /** Number of items. */
  get length(): number {
    return this._size;
  }

  /** Slots allocated (for tests of memory release). */
  get capacity(): number {
    return this._mask + 1;
  }

  /** Appends on the right. */
  push(x: T): void {
    if (this._size > this._mask) this._resize((this._mask + 1) * 2);
    this._buf[(this._head + this._size) & this._mask] = x;
    this._size++;
  }

  /** Removes and returns the leftmost item (undefined when empty). */
  shift(): T | undefined {
    if (this._size === 0) return undefined;
    const buf = this._buf;
    const i = this._head;
    const x = buf[i];
    buf[i] = undefined;
    this._head = (i + 1) & this._mask;
    this._size--;
    this._maybeShrink();
    return x;
  }

  /** Removes and returns the rightmost item (undefined when empty). */
  pop(): T | undefined {
    if (this._size === 0) return undefined;
    this._size--;
    const i = (this._head + this._size) & this._mask;
    const x = this._buf[i];
    this._buf[i] = undefined;
    this._maybeShrink();
    return x;
  }

  /** The leftmost item without removing it. */
  peek(): T | undefined {
    return this._size === 0 ? undefined : this._buf[this._head];
  }

  /** The item at position `i` from the left (0 ≤ i < length). */
  at(i: number): T {
    return this._buf[(this._head + i) & this._mask] as T;
  }

  /**
   * Removes the first occurrence of `x`; returns whether it was there. Looks
   * at both ends first: a waiter removes itself right after it was woken
   * (the head) or cancelled soon after it queued (near the tail).
   */
  remove(x: T): boolean {
    const n = this._size;
    if (n === 0) return false;
    if (this._buf[this._head] === x) {
      this.shift();
      return true;
    }
    if (this._buf[(this._head + n - 1) & this._mask] === x) {
      this.pop();
      return true;
    }
    for (let k = 1; k < n - 1; k++) {
      if (this._buf[(this._head + k) & this._mask] === x) {
        // Close the gap from whichever side has fewer items to move.
        if (k < n / 2) {
          for (let j = k; j > 0; j--) {
            this._buf[(this._head + j) & this._mask] = this._buf[(this._head + j - 1) & this._mask];
          }
          this._buf[this._head] = undefined;
          this._head = (this._head + 1) & this._mask;
        } else {
          for (let j = k; j < n - 1; j++) {
            this._buf[(this._head + j) & this._mask] = this._buf[(this._head + j + 1) & this._mask];
          }
          this._buf[(this._head + n - 1) & this._mask] = undefined;
        }
        this._size--;
        this._maybeShrink();
        return true;
      }
    }
    return false;
  }

  /** Removes every item and returns the buffer to its floor size. */
  clear(): void {
    this._buf = packed(this._floor);
    this._mask = this._floor - 1;
    this._head = 0;
    this._size = 0;
  }

  /** The items, left to right (a copy). */
  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this._size; i++) out.push(this.at(i));
    return out;
  }

  /** @internal */
  _maybeShrink(): void {
    const cap = this._mask + 1;
    if (cap > this._floor && this._size < cap >> 2) this._resize(cap >> 1);
  }

  /** @internal */
  _resize(cap: number): void {
    const buf = packed<T>(cap);
    for (let i = 0; i < this._size; i++) buf[i] = this._buf[(this._head + i) & this._mask];
    this._buf = buf;
    this._mask = cap - 1;
    this._head = 0;
  }
}
