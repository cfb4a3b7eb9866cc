/**
 * `Queue`, `PriorityQueue` and `LifoQueue`: asyncio's queues for
 * coordinating producer and consumer tasks, with backpressure, `join`, and
 * Python 3.13's `shutdown`.
 *
 * @module
 */
import { CLOSED, CoroOp, START } from "./coro_op.ts";
import { Deque } from "./deque.ts";
import { QueueEmpty, QueueFull, QueueShutDown, ValueError } from "./errors.ts";
import { Event } from "./event.ts";
import { type Future, PENDING } from "./future.ts";
import type { EventLoop } from "./loop.ts";
import { boundLoop } from "./loop_bound.ts";
import type { Coroutine } from "./task.ts";
import { describe } from "./util.ts";

// A bounded queue smaller than this gets a ring sized for maxsize up front
// (and never shrinks below it); others grow on demand and shrink when drained.
const PREALLOCATE_MAX = 4096;

function checkMaxsize(maxsize: unknown, what: string): number {
  if (typeof maxsize !== "number" || Number.isNaN(maxsize)) {
    throw new TypeError(
      `${what} maxsize must be a number (0 for unbounded), got ${describe(maxsize)}`,
    );
  }
  return maxsize;
}

function repr(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(repr).join(", ")}]`;
  if (typeof v === "object" && v !== null) return v.constructor?.name ?? "object";
  return String(v);
}

/**
 * A first-in, first-out queue for tasks (asyncio's `Queue`).
 *
 * With `maxsize > 0` the queue holds at most that many items and `put()`
 * waits for room (backpressure); with `maxsize <= 0` (the default) it is
 * unbounded. Blocked `get()` and `put()` calls are served first come, first
 * served, and cancelling one never loses or duplicates an item.
 *
 * Every item put counts as an unfinished task until a consumer calls
 * `taskDone()` for it; `join()` waits until none is left. `shutdown()` makes
 * `put` fail with `QueueShutDown` and `get` fail once the queue is empty
 * (at once with `immediate`).
 *
 * Each operation is O(1) amortized (a ring buffer, not `Array.shift`), the
 * common path of `put`/`get` allocates no future, and memory is released
 * once a large queue drains.
 *
 * @example
 * ```ts
 * import { createTask, Queue, run } from "@aio/aio";
 * await run(function* () {
 *   const q = new Queue<number>(2);
 *   const consumer = createTask(function* () {
 *     let sum = 0;
 *     for (;;) {
 *       const n = yield* q.get();
 *       sum += n;
 *       q.taskDone();
 *       if (n === 5) return sum;
 *     }
 *   });
 *   for (let i = 1; i <= 5; i++) yield* q.put(i); // waits while 2 are queued
 *   yield* q.join();
 *   console.log(yield* consumer); // 15
 * });
 * ```
 *
 * @category Queues
 */
export class Queue<T = unknown> {
  /** @ignore The loop this primitive bound to on first use (see `loop_bound.ts`). */
  _loop: EventLoop | null = null;
  /** @ignore */
  _maxsize: number;
  /** @ignore FIFO storage (LifoQueue pops it from the other end). */
  _queue: Deque<T>;
  /** @ignore Futures of tasks blocked in `get()`. */
  _getters: Deque<Future<void>> = new Deque();
  /** @ignore Futures of tasks blocked in `put()`. */
  _putters: Deque<Future<void>> = new Deque();
  /** @ignore */
  _unfinishedTasks = 0;
  /** @ignore Set while no task is unfinished; `join()` waits on it. */
  _finished: Event = new Event();
  /** @ignore */
  _isShutdown = false;

  /**
   * A queue holding at most `maxsize` items (`<= 0`: unbounded). A
   * non-number `maxsize` is a `TypeError`.
   */
  constructor(maxsize = 0) {
    this._maxsize = checkMaxsize(maxsize, new.target.name);
    this._finished._value = true;
    const ring = maxsize > 0 && maxsize < PREALLOCATE_MAX ? Math.ceil(maxsize) : 16;
    this._queue = new Deque(ring);
  }

  /**
   * How many items the queue may hold (`<= 0`: no limit).
   *
   * @example
   * ```ts
   * import { Queue } from "@aio/aio";
   * console.log(new Queue(10).maxsize); // 10
   * ```
   */
  get maxsize(): number {
    return this._maxsize;
  }

  /**
   * How many items are in the queue.
   *
   * @example
   * ```ts
   * import { Queue } from "@aio/aio";
   * const q = new Queue<string>();
   * q.putNowait("a");
   * console.log(q.qsize()); // 1
   * ```
   */
  qsize(): number {
    return this._qsize();
  }

  /**
   * Whether the queue holds no item.
   *
   * @example
   * ```ts
   * import { Queue } from "@aio/aio";
   * console.log(new Queue().empty()); // true
   * ```
   */
  empty(): boolean {
    return this._qsize() === 0;
  }

  /**
   * Whether the queue holds `maxsize` items; never for an unbounded queue.
   *
   * @example
   * ```ts
   * import { Queue } from "@aio/aio";
   * const q = new Queue<number>(1);
   * q.putNowait(1);
   * console.log(q.full()); // true
   * ```
   */
  full(): boolean {
    return this._maxsize > 0 && this._qsize() >= this._maxsize;
  }

  /**
   * Puts `item` in the queue, first waiting for room while it is full.
   * `QueueShutDown` if the queue is (or gets) shut down.
   *
   * @example
   * ```ts
   * import { Queue, run } from "@aio/aio";
   * const q = new Queue<string>(1);
   * await run(function* () {
   *   yield* q.put("job");
   *   console.log(q.full()); // true
   * });
   * ```
   */
  put(item: T): Coroutine<void> {
    return new QueuePut(this, item) as unknown as Coroutine<void>;
  }

  /**
   * Puts `item` in the queue now: `QueueFull` if there is no room,
   * `QueueShutDown` if the queue was shut down.
   *
   * @example
   * ```ts
   * import { Queue, QueueFull } from "@aio/aio";
   * const q = new Queue<number>(1);
   * q.putNowait(1);
   * try {
   *   q.putNowait(2);
   * } catch (e) {
   *   console.log(e instanceof QueueFull); // true
   * }
   * ```
   */
  putNowait(item: T): void {
    if (this._isShutdown) throw new QueueShutDown("put on a queue that was shut down");
    if (this.full()) throw new QueueFull(`queue is full (maxsize=${this._maxsize})`);
    this._put(item);
    this._unfinishedTasks++;
    this._finished._value = false;
    if (this._getters._size > 0) this._wakeupNext(this._getters);
  }

  /**
   * Removes and evaluates to the next item, waiting while the queue is
   * empty. `QueueShutDown` if the queue is shut down and empty (or shut down
   * with `immediate`).
   *
   * @example
   * ```ts
   * import { getRunningLoop, Queue, run } from "@aio/aio";
   * const q = new Queue<string>();
   * await run(function* () {
   *   getRunningLoop().callLater(10, () => q.putNowait("hello"));
   *   console.log(yield* q.get()); // "hello", after 10 ms
   * });
   * ```
   */
  get(): Coroutine<T> {
    return new QueueGet(this) as unknown as Coroutine<T>;
  }

  /**
   * Removes and returns the next item now: `QueueEmpty` if there is none
   * (`QueueShutDown` if the queue is also shut down).
   *
   * @example
   * ```ts
   * import { Queue, QueueEmpty } from "@aio/aio";
   * const q = new Queue<number>();
   * q.putNowait(7);
   * console.log(q.getNowait()); // 7
   * try {
   *   q.getNowait();
   * } catch (e) {
   *   console.log(e instanceof QueueEmpty); // true
   * }
   * ```
   */
  getNowait(): T {
    if (this._qsize() === 0) {
      if (this._isShutdown) {
        throw new QueueShutDown("get on a queue that was shut down and is empty");
      }
      throw new QueueEmpty("queue is empty");
    }
    const item = this._get();
    if (this._putters._size > 0) this._wakeupNext(this._putters);
    return item;
  }

  /**
   * Marks one item taken with `get()` as fully processed. When every item
   * put has been marked, `join()` returns. Called more often than items were
   * put: `ValueError`.
   *
   * @example
   * ```ts
   * import { Queue } from "@aio/aio";
   * const q = new Queue<number>();
   * q.putNowait(1);
   * q.getNowait();
   * q.taskDone();
   * ```
   */
  taskDone(): void {
    if (this._unfinishedTasks <= 0) {
      throw new ValueError("taskDone() called too many times: more than items were put");
    }
    if (--this._unfinishedTasks === 0) this._finished.set();
  }

  /**
   * Waits until every item put has been marked with `taskDone()`.
   *
   * @example
   * ```ts
   * import { createTask, Queue, run } from "@aio/aio";
   * const q = new Queue<number>();
   * await run(function* () {
   *   q.putNowait(1);
   *   createTask(function* () {
   *     yield* q.get();
   *     q.taskDone();
   *   });
   *   yield* q.join();
   *   console.log("all processed");
   * });
   * ```
   */
  *join(): Coroutine<void> {
    if (this._unfinishedTasks > 0) yield* this._finished.wait();
  }

  /**
   * Shuts the queue down (Python 3.13): `put` and `putNowait` then throw
   * `QueueShutDown`; `get` and `getNowait` throw it once the queue is empty.
   * Every blocked `put()` and `get()` wakes up to re-check (and throws). With
   * `immediate`, the queue is emptied first and each removed item counts as
   * done, which may release `join()`.
   *
   * @example
   * ```ts
   * import { Queue, QueueShutDown, run } from "@aio/aio";
   * const q = new Queue<number>();
   * await run(function* () {
   *   q.putNowait(1);
   *   q.shutdown();
   *   console.log(yield* q.get()); // 1: items already queued are still served
   *   try {
   *     yield* q.get();
   *   } catch (e) {
   *     console.log(e instanceof QueueShutDown); // true
   *   }
   * });
   * ```
   */
  shutdown(immediate = false): void {
    if (typeof immediate !== "boolean") {
      throw new TypeError(`shutdown() expects a boolean 'immediate', got ${describe(immediate)}`);
    }
    this._isShutdown = true;
    if (immediate) {
      const n = this._qsize();
      this._clear();
      this._unfinishedTasks = Math.max(0, this._unfinishedTasks - n);
      if (this._unfinishedTasks === 0) this._finished.set();
    }
    // Everyone blocked re-checks, and raises.
    for (const waiters of [this._getters, this._putters]) {
      while (waiters._size > 0) {
        const fut = waiters.shift()!;
        if (fut._state === PENDING) fut.setResult(undefined);
      }
    }
  }

  /**
   * A short description such as `<Queue maxsize=2 _queue=[1, 2] _putters[1] tasks=2>`.
   *
   * @example
   * ```ts
   * import { Queue } from "@aio/aio";
   * const q = new Queue<number>();
   * q.putNowait(1);
   * console.log(String(q)); // "<Queue maxsize=0 _queue=[1] tasks=1>"
   * ```
   */
  toString(): string {
    return `<${this.constructor.name} ${this._format()}>`;
  }

  /** @ignore */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /** @ignore */
  _format(): string {
    let result = `maxsize=${this._maxsize}`;
    if (this._qsize() > 0) {
      const items = this._items();
      const shown = items.slice(0, 20).map(repr);
      if (items.length > 20) shown.push("...");
      result += ` _queue=[${shown.join(", ")}]`;
    }
    if (this._getters.length > 0) result += ` _getters[${this._getters.length}]`;
    if (this._putters.length > 0) result += ` _putters[${this._putters.length}]`;
    if (this._unfinishedTasks) result += ` tasks=${this._unfinishedTasks}`;
    if (this._isShutdown) result += " shutdown";
    return result;
  }

  /** @ignore Wakes the first blocked getter or putter still waiting. */
  _wakeupNext(waiters: Deque<Future<void>>): void {
    while (waiters._size > 0) {
      const fut = waiters.shift()!;
      if (fut._state === PENDING) {
        fut.setResult(undefined);
        return;
      }
    }
  }

  // Storage: overridden by LifoQueue and PriorityQueue.

  /** @ignore */
  _qsize(): number {
    return this._queue._size;
  }

  /** @ignore */
  _put(item: T): void {
    this._queue.push(item);
  }

  /** @ignore */
  _get(): T {
    return this._queue.shift() as T;
  }

  /** @ignore */
  _clear(): void {
    this._queue.clear();
  }

  /** @ignore The items in the order `get` would return them. */
  _items(): T[] {
    return this._queue.toArray();
  }
}

/** `Queue.get()` as a hand-written coroutine: one small object per call. */
class QueueGet<T> extends CoroOp<T> {
  declare _q: Queue<T>;

  constructor(q: Queue<T>) {
    super();
    this._init();
    this._q = q;
  }

  override next(): this {
    // The common case, an item is there: skip the generic machinery.
    const q = this._q;
    if (this._phase === START && q._qsize() > 0) {
      this._phase = CLOSED;
      this.done = true;
      this.value = q.getNowait();
      return this;
    }
    return super.next();
  }

  _run(): void {
    const q = this._q;
    if (q._qsize() === 0) {
      if (q._isShutdown) throw new QueueShutDown("get on a queue that was shut down and is empty");
      const fut = boundLoop(q).createFuture<void>();
      q._getters.push(fut);
      this._wait(fut);
      return;
    }
    this._return(q.getNowait());
  }

  _abort(fut: Future<unknown>): void {
    const q = this._q;
    fut.cancel();
    q._getters.remove(fut as Future<void>);
    // Woken by a put but leaving without the item: the next getter takes it.
    if (q._qsize() > 0 && !fut.cancelled()) q._wakeupNext(q._getters);
  }
}

/** `Queue.put()` as a hand-written coroutine: one small object per call. */
class QueuePut<T> extends CoroOp<void> {
  declare _q: Queue<T>;
  declare _item: T | undefined;

  constructor(q: Queue<T>, item: T) {
    super();
    this._init();
    this._q = q;
    this._item = item;
  }

  override next(): this {
    // The common case, there is room: skip the generic machinery.
    const q = this._q;
    if (this._phase === START && !q._isShutdown && !q.full()) {
      const item = this._item as T;
      this._item = undefined;
      this._phase = CLOSED;
      this.done = true;
      this.value = undefined;
      q.putNowait(item);
      return this;
    }
    return super.next();
  }

  _run(): void {
    const q = this._q;
    if (q.full()) {
      if (q._isShutdown) throw new QueueShutDown("put on a queue that was shut down");
      const fut = boundLoop(q).createFuture<void>();
      q._putters.push(fut);
      this._wait(fut);
      return;
    }
    const item = this._item as T;
    this._item = undefined;
    q.putNowait(item);
    this._return(undefined);
  }

  _abort(fut: Future<unknown>): void {
    const q = this._q;
    fut.cancel();
    q._putters.remove(fut as Future<void>);
    // Woken by a get but leaving without putting: the next putter goes.
    if (!q.full() && !fut.cancelled()) q._wakeupNext(q._putters);
  }
}

/**
 * A last-in, first-out queue (asyncio's `LifoQueue`): `get` returns the most
 * recently put item. Everything else is as {@linkcode Queue}.
 *
 * @example
 * ```ts
 * import { LifoQueue } from "@aio/aio";
 * const q = new LifoQueue<number>();
 * for (const n of [1, 2, 3]) q.putNowait(n);
 * console.log(q.getNowait(), q.getNowait(), q.getNowait()); // 3 2 1
 * ```
 *
 * @category Queues
 */
export class LifoQueue<T = unknown> extends Queue<T> {
  /** @ignore */
  override _get(): T {
    return this._queue.pop() as T;
  }

  /** @ignore */
  override _items(): T[] {
    return this._queue.toArray().reverse();
  }
}

/**
 * How a {@linkcode PriorityQueue} orders items: negative means `a` comes
 * first, positive `b`, zero a tie (ties come out in insertion order).
 *
 * @example
 * ```ts
 * import { type Compare, PriorityQueue } from "@aio/aio";
 * const latestFirst: Compare<Date> = (a, b) => b.getTime() - a.getTime();
 * const q = new PriorityQueue<Date>(0, latestFirst);
 * q.putNowait(new Date(2020, 0, 1));
 * q.putNowait(new Date(2024, 0, 1));
 * console.log(q.getNowait().getFullYear()); // 2024
 * ```
 *
 * @category Queues
 */
export type Compare<T> = (a: T, b: T) => number;

/**
 * The default order's comparison: negative, zero or positive, or `NaN` when
 * the two values have no order (the caller turns that into the TypeError, so
 * the common path allocates nothing and throws nothing).
 */
function order(a: unknown, b: unknown): number {
  const ta = typeof a, tb = typeof b;
  if ((ta === "number" || ta === "bigint") && (tb === "number" || tb === "bigint")) {
    // Mixed number and bigint compare by value, as `<` does; NaN sorts after
    // every number (only a number can be NaN).
    if (a !== a) return b !== b ? 0 : 1;
    if (b !== b) return -1;
    return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
  }
  if (ta !== tb) return NaN;
  switch (ta) {
    case "string":
      return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
    case "boolean":
      return a === b ? 0 : a ? 1 : -1;
    case "object":
      if (Array.isArray(a)) return Array.isArray(b) ? orderArrays(a, b) : NaN;
      if (a instanceof Date && b instanceof Date) {
        const x = a.getTime(), y = b.getTime(); // an invalid Date sorts last, as NaN
        if (x !== x) return y !== y ? 0 : 1;
        if (y !== y) return -1;
        return x - y;
      }
      return NaN;
    default:
      return NaN;
  }
}

/**
 * Arrays as Python compares tuples: the first position where the elements
 * are not the same value decides; an element is compared only there, so
 * the same payload object in two entries is fine. All equal: the shorter
 * array comes first.
 */
function orderArrays(a: unknown[], b: unknown[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i], y = b[i];
    if (x === y) continue;
    const c = order(x, y);
    if (c !== 0) return c; // NaN too: the first difference has no order
  }
  return a.length - b.length;
}

/** Where (an index path into arrays) two values first differ without an order. */
function unorderedAt(a: unknown, b: unknown): { path: number[]; x: unknown; y: unknown } {
  const path: number[] = [];
  let x = a, y = b;
  while (Array.isArray(x) && Array.isArray(y)) {
    const n = Math.min(x.length, y.length);
    let at = -1;
    for (let i = 0; i < n; i++) {
      if (x[i] === y[i]) continue;
      const c = order(x[i], y[i]);
      if (c !== c) at = i;
      if (c !== 0) break;
    }
    if (at < 0) break;
    path.push(at);
    x = x[at];
    y = y[at];
  }
  return { path, x, y };
}

function show(v: unknown): string {
  // Deno.inspect where there is one (Deno); elsewhere the short description.
  const inspect = (globalThis as { Deno?: { inspect?: typeof Deno.inspect } }).Deno?.inspect;
  if (inspect === undefined) return describe(v);
  const text = inspect(v, {
    depth: 3,
    compact: true,
    breakLength: Infinity,
    colors: false,
    iterableLimit: 10,
    strAbbreviateSize: 60,
  });
  return text.length > 100 ? text.slice(0, 97) + "..." : text;
}

/** The TypeError for two items the default order cannot compare. */
function unorderable(a: unknown, b: unknown): TypeError {
  const { path, x, y } = unorderedAt(a, b);
  const at = path.length > 0
    ? ` (at index ${path.join(", then ")}: ${show(x)} and ${show(y)})`
    : "";
  return new TypeError(
    `PriorityQueue's default order cannot compare ${show(a)} with ${show(b)}${at}. It orders ` +
      "numbers with bigints, strings, booleans and Dates each among themselves, and arrays of " +
      "these element by element like Python tuples; for other items pass a compare function, " +
      "e.g. new PriorityQueue(0, (a, b) => a[0] - b[0]) to order [priority, payload] entries " +
      "by priority alone (ties stay first in, first out)",
  );
}

/**
 * The default {@linkcode PriorityQueue} order (see there for which items it
 * accepts); `TypeError` for two items it cannot compare.
 */
function defaultCompare(a: unknown, b: unknown): number {
  const c = order(a, b);
  if (c !== c) throw unorderable(a, b);
  return c;
}

/**
 * A queue that returns the smallest item first (asyncio's `PriorityQueue`).
 * Pass `compare` to order items yourself (negative: `a` first).
 *
 * The default order accepts what Python's `<` orders, and raises
 * `TypeError` (naming both items) for the rest, as CPython's heap does:
 *
 * - numbers and bigints, with each other, by value; `NaN` after every number;
 * - strings, with strings, by UTF-16 code units (as `<` compares them);
 * - booleans, with booleans, `false` first;
 * - Dates, with Dates, by time (an invalid Date last);
 * - arrays, with arrays, like Python tuples: the first position where the
 *   elements are not the same value decides, compared by these rules; if
 *   every position matches, the shorter array comes first.
 *
 * Anything else (plain objects, `null`, `undefined`, a number against a
 * string) has no default order. Items are compared only when the heap needs
 * it, so a lone item is never checked, and `[priority, payload]` entries
 * compare their payloads only when priorities tie; when payloads cannot be
 * compared, order by priority alone with a `compare` such as
 * `(a, b) => a[0] - b[0]`.
 *
 * Unlike Python's heap, items that compare equal come out in the order they
 * were put (stable, FIFO). If the order throws (the default order's
 * `TypeError`, or a custom `compare`'s error), `put` leaves the queue
 * unchanged.
 *
 * @example
 * ```ts
 * import { PriorityQueue } from "@aio/aio";
 * const q = new PriorityQueue<[number, string]>();
 * q.putNowait([2, "write report"]);
 * q.putNowait([1, "fix outage"]);
 * q.putNowait([2, "review PR"]);
 * console.log(q.getNowait()[1], q.getNowait()[1], q.getNowait()[1]);
 * // "fix outage" "review PR" "write report"
 *
 * const byDeadline = new PriorityQueue<{ due: number }>(0, (a, b) => a.due - b.due);
 * byDeadline.putNowait({ due: 30 });
 * byDeadline.putNowait({ due: 10 });
 * console.log(byDeadline.getNowait().due); // 10
 * ```
 *
 * @category Queues
 */
export class PriorityQueue<T = unknown> extends Queue<T> {
  /** @ignore Binary min-heap of items… */
  _heap: T[] = [];
  /** @ignore …and, in parallel, the order they were put in (ties FIFO). */
  _seq: number[] = [];
  /** @ignore */
  _counter = 0;
  /** @ignore */
  _cmp: Compare<T>;

  /**
   * A priority queue holding at most `maxsize` items (`<= 0`: unbounded),
   * ordered by `compare` or the default order. A `compare` that is not a
   * function is a `TypeError`.
   */
  constructor(maxsize = 0, compare?: Compare<T>) {
    super(maxsize);
    if (compare !== undefined && typeof compare !== "function") {
      throw new TypeError(`PriorityQueue compare must be a function, got ${describe(compare)}`);
    }
    this._cmp = compare ?? (defaultCompare as Compare<T>);
  }

  /** @ignore */
  override _qsize(): number {
    return this._heap.length;
  }

  /** @ignore Whether (a, sa) comes before (b, sb). */
  _before(a: T, sa: number, b: T, sb: number): boolean {
    const c = this._cmp(a, b);
    return c < 0 || (!(c > 0) && sa < sb);
  }

  /** @ignore */
  override _put(item: T): void {
    const heap = this._heap, seq = this._seq;
    const s = this._counter++;
    const last = heap.length;
    heap.push(item);
    seq.push(s);
    let i = last;
    try {
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!this._before(item, s, heap[p], seq[p])) break;
        heap[i] = heap[p];
        seq[i] = seq[p];
        i = p;
      }
    } catch (e) {
      // Move the parents we shifted down back up, then drop the new item.
      const path: number[] = [];
      for (let j = last; j !== i; j = (j - 1) >> 1) path.push(j);
      for (let k = path.length - 1; k >= 0; k--) {
        const child = path[k];
        const parent = (child - 1) >> 1;
        heap[parent] = heap[child];
        seq[parent] = seq[child];
      }
      heap.pop();
      seq.pop();
      throw e;
    }
    heap[i] = item;
    seq[i] = s;
  }

  /** @ignore */
  override _get(): T {
    const heap = this._heap, seq = this._seq;
    const top = heap[0];
    const topSeq = seq[0];
    const item = heap.pop()!;
    const s = seq.pop()!;
    const n = heap.length;
    if (n === 0) {
      // Fresh arrays give a drained heap's memory back.
      this._heap = [];
      this._seq = [];
      return top;
    }
    let i = 0;
    try {
      for (;;) {
        let c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && this._before(heap[c + 1], seq[c + 1], heap[c], seq[c])) c++;
        if (!this._before(heap[c], seq[c], item, s)) break;
        heap[i] = heap[c];
        seq[i] = seq[c];
        i = c;
      }
    } catch (e) {
      // Keep every item (the order may suffer), then report the comparator's error.
      heap[i] = item;
      seq[i] = s;
      heap.push(top);
      seq.push(topSeq);
      throw e;
    }
    heap[i] = item;
    seq[i] = s;
    return top;
  }

  /** @ignore */
  override _clear(): void {
    this._heap = [];
    this._seq = [];
  }

  /** @ignore In `get` order; in heap order if some items cannot be compared. */
  override _items(): T[] {
    const order = this._heap.map((_, i) => i);
    try {
      order.sort((x, y) =>
        this._before(this._heap[x], this._seq[x], this._heap[y], this._seq[y]) ? -1 : 1
      );
    } catch {
      return this._heap.slice();
    }
    return order.map((i) => this._heap[i]);
  }
}
