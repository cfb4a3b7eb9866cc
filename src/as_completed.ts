/**
 * `asCompleted`: results in the order the awaitables finish.
 *
 * @module
 */
import {
  type AwaitableResult,
  checkAwaitable,
  checkTimeout,
  loopFor,
  toFuture,
} from "./awaitables.ts";
import { copyContext } from "./context.ts";
import { TimeoutError } from "./errors.ts";
import { type Future, PENDING } from "./future.ts";
import type { EventLoop, TimerHandle } from "./loop.ts";
import type { Awaitable, Coroutine } from "./task.ts";
import { describe, isCoroutine } from "./util.ts";

/**
 * Options for {@linkcode asCompleted}.
 *
 * @category Combinators
 */
export interface AsCompletedOptions {
  /**
   * After this many ms, every remaining `yield* next` throws `TimeoutError`
   * (nothing is cancelled). `null` (default): no limit.
   */
  timeout?: number | null;
}

// deno-lint-ignore no-explicit-any
function onTimeout(it: AsCompletedIterator<any>): void {
  it._handleTimeout();
}

/**
 * What {@linkcode asCompleted} returns: an iterator of coroutines, one per
 * distinct awaitable. The first one evaluates to the result of whichever
 * awaitable finishes first, and so on. Iteration can stop and resume later.
 *
 * @example
 * ```ts
 * import { asCompleted, type AsCompletedIterator, run, sleep } from "@aio/aio";
 * await run(function* () {
 *   const it: AsCompletedIterator<string> = asCompleted([
 *     sleep(30, "slow"),
 *     sleep(10, "fast"),
 *     sleep(20, "medium"),
 *   ]);
 *   for (const next of it) {
 *     console.log(yield* next); // "fast"
 *     break; // stop after the first...
 *   }
 *   for (const next of it) {
 *     console.log(yield* next); // ...and resume: "medium", then "slow"
 *   }
 * }, { clock: "virtual" });
 * ```
 *
 * @category Combinators
 */
export class AsCompletedIterator<T> implements IterableIterator<Coroutine<T>> {
  /** @ignore */
  _loop: EventLoop;
  /** @ignore Futures not done yet. */
  _todo: Set<Future<T>>;
  /** @ignore Coroutines still to hand out. */
  _todoLeft: number;
  /** @ignore */
  _timeoutHandle: TimerHandle | null = null;
  /** @ignore Finished futures in completion order; `null` marks a timeout. */
  _done: (Future<T> | null)[] = [];
  /** @ignore */
  _doneHead = 0;
  /** @ignore Coroutines waiting for `_done` to fill, FIFO. */
  _getters: Future<void>[] = [];
  /** @ignore */
  _timeoutMs: number | null;
  /** @ignore One callback for every future. */
  _onCompletion = (f: Future<T>): void => this._handleCompletion(f);

  /** @ignore Made by `asCompleted`. */
  constructor(loop: EventLoop, todo: Set<Future<T>>, timeout: number | null) {
    this._loop = loop;
    this._todo = todo;
    this._todoLeft = todo.size;
    this._timeoutMs = timeout;
    const cbOptions = { context: copyContext() };
    for (const f of todo) f.addDoneCallback(this._onCompletion, cbOptions);
    if (todo.size > 0 && timeout !== null) {
      this._timeoutHandle = loop.callLater(timeout, onTimeout, this);
    }
  }

  /**
   * The next coroutine to `yield*`, while there are awaitables left.
   *
   * @example
   * ```ts
   * import { asCompleted, run, sleep } from "@aio/aio";
   * await run(function* () {
   *   const it = asCompleted([sleep(20, "slow"), sleep(10, "fast")]);
   *   console.log(yield* it.next().value!); // "fast"
   *   console.log(yield* it.next().value!); // "slow"
   *   console.log(it.next().done); // true
   * }, { clock: "virtual" });
   * ```
   */
  next(): IteratorResult<Coroutine<T>, undefined> {
    if (this._todoLeft === 0) return { done: true, value: undefined };
    this._todoLeft--;
    return { done: false, value: this._waitForOne() };
  }

  /**
   * The iterator itself, so that `for...of` works (and resumes where a
   * previous loop stopped).
   *
   * @example
   * ```ts
   * import { asCompleted, run, sleep } from "@aio/aio";
   * await run(function* () {
   *   for (const next of asCompleted([sleep(20, 2), sleep(10, 1)])) {
   *     console.log(yield* next); // 1, then 2
   *   }
   * }, { clock: "virtual" });
   * ```
   */
  [Symbol.iterator](): this {
    return this;
  }

  /** @ignore */
  *_waitForOne(): Coroutine<T> {
    const f = yield* this._get();
    if (f === null) {
      throw new TimeoutError(`asCompleted() timed out after ${this._timeoutMs} ms`);
    }
    return f.result();
  }

  /** @ignore asyncio's `Queue.get` on the finished futures. */
  *_get(): Coroutine<Future<T> | null> {
    while (this._doneHead === this._done.length) {
      const getter = this._loop.createFuture<void>();
      this._getters.push(getter);
      try {
        yield* getter;
      } catch (e) {
        getter.cancel();
        const i = this._getters.indexOf(getter);
        if (i >= 0) this._getters.splice(i, 1);
        // Woken for an item it cannot take now: pass the turn on.
        if (this._doneHead < this._done.length && !getter.cancelled()) this._wakeupNext();
        throw e;
      }
    }
    const f = this._done[this._doneHead];
    this._done[this._doneHead++] = null;
    if (this._doneHead === this._done.length) {
      this._done.length = 0;
      this._doneHead = 0;
    }
    return f;
  }

  /** @ignore */
  _put(f: Future<T> | null): void {
    this._done.push(f);
    this._wakeupNext();
  }

  /** @ignore */
  _wakeupNext(): void {
    const getters = this._getters;
    while (getters.length > 0) {
      const g = getters.shift()!;
      if (g._state === PENDING) {
        g._doSetResult(undefined);
        return;
      }
    }
  }

  /** @ignore */
  _handleCompletion(f: Future<T>): void {
    // After a timeout, the remaining futures no longer count.
    if (!this._todo.delete(f)) return;
    this._put(f);
    if (this._todo.size === 0 && this._timeoutHandle !== null) {
      this._timeoutHandle.cancel();
      this._timeoutHandle = null;
    }
  }

  /** @ignore */
  _handleTimeout(): void {
    this._timeoutHandle = null;
    for (const f of this._todo) {
      f.removeDoneCallback(this._onCompletion);
      this._put(null);
    }
    this._todo.clear();
  }
}

/**
 * Runs `aws` concurrently (coroutines are wrapped in tasks at once) and
 * returns an iterable of coroutines that evaluate to their results in
 * completion order: `for (const next of asCompleted(aws)) { const r = yield*
 * next; }`. asyncio's `as_completed(aws, timeout=...)`.
 *
 * A failed awaitable throws its error from its `yield* next`. With
 * `timeout`, every `yield* next` still waiting when the time is up throws
 * `TimeoutError`; nothing is cancelled. Duplicates count once.
 *
 * Anything not awaitable is a `TypeError` naming it (so is a single future
 * or coroutine instead of an iterable of them); a future of another loop is
 * a `ValueError`; a `NaN` timeout a `TypeError`. All thrown at the call.
 *
 * @example
 * ```ts
 * import { asCompleted, run, sleep } from "@aio/aio";
 * await run(function* () {
 *   const order = [];
 *   for (const next of asCompleted([sleep(300, "c"), sleep(100, "a"), sleep(200, "b")])) {
 *     order.push(yield* next);
 *   }
 *   console.log(order); // ["a", "b", "c"]
 * }, { clock: "virtual" });
 * ```
 *
 * @category Combinators
 */
export function asCompleted<A extends Awaitable<unknown>>(
  aws: Iterable<A>,
  options?: AsCompletedOptions,
): AsCompletedIterator<AwaitableResult<A>> {
  if (
    aws === null || typeof aws !== "object" || isCoroutine(aws) ||
    typeof (aws as Iterable<A>)[Symbol.iterator] !== "function" ||
    typeof (aws as { then?: unknown }).then === "function"
  ) {
    throw new TypeError(
      `asCompleted() expects an iterable of Futures, Tasks or coroutines, got ${describe(aws)}`,
    );
  }
  const timeout = checkTimeout(options?.timeout, "asCompleted() timeout");
  const items = [...new Set(aws)];
  for (let i = 0; i < items.length; i++) checkAwaitable(items[i], "asCompleted()");
  const loop = loopFor(items);
  for (const x of items) {
    if (!isCoroutine(x)) toFuture(x, loop, "asCompleted()");
  }
  type R = AwaitableResult<A>;
  const todo = new Set<Future<R>>();
  for (const x of items) todo.add(toFuture(x as Awaitable<R>, loop, "asCompleted()"));
  return new AsCompletedIterator<R>(loop, todo, timeout);
}
