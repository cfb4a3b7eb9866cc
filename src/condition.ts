/**
 * `Condition`: asyncio's condition variable for tasks.
 *
 * @module
 */
import { Deque } from "./deque.ts";
import { CancelledError, RuntimeError, ValueError } from "./errors.ts";
import { type Future, PENDING } from "./future.ts";
import { checkBody, type Guard, guardOf, type ScopedBody, withHeld } from "./guard.ts";
import { Lock } from "./lock.ts";
import type { EventLoop } from "./loop.ts";
import { boundLoop } from "./loop_bound.ts";
import type { Coroutine } from "./task.ts";
import { describe } from "./util.ts";

/**
 * A condition variable (asyncio's `Condition`): tasks holding its lock wait
 * until another task notifies them. Use it when a task must wait for some
 * shared state to change; the lock protects that state.
 *
 * - `wait()` releases the lock, waits for a notification, and re-acquires the
 *   lock before returning, also when the task is cancelled meanwhile (the
 *   `CancelledError` leaves only once the lock is held again).
 * - `notify(n)` wakes up to `n` waiters, `notifyAll()` all of them; a woken
 *   waiter returns only after it re-acquired the lock. A waiter that is
 *   notified and cancelled at the same time passes the notification on.
 * - `wait`, `waitFor`, `notify` and `notifyAll` without holding the lock are
 *   a `RuntimeError`.
 *
 * The lock is taken like a `Lock`'s: `acquire()`/`release()`,
 * `yield* cond.with(function* () { … })`, or `using _ = yield* cond.guard()`.
 *
 * @example
 * ```ts
 * import { Condition, createTask, run } from "@aio/aio";
 * const cond = new Condition();
 * const items: number[] = [];
 * await run(function* () {
 *   const consumer = createTask(function* () {
 *     return yield* cond.with(function* () {
 *       yield* cond.waitFor(() => items.length > 0);
 *       return items.shift();
 *     });
 *   });
 *   yield* cond.with(function* () {
 *     items.push(42);
 *     cond.notify();
 *   });
 *   console.log(yield* consumer); // 42
 * });
 * ```
 *
 * @category Synchronization
 */
export class Condition {
  /** @ignore The loop this primitive bound to on first use (see `loop_bound.ts`). */
  _loop: EventLoop | null = null;
  /** @ignore */
  _lock: Lock;
  /** @ignore */
  _waiters: Deque<Future<boolean>> = new Deque();

  /**
   * A condition on `lock`, or on a new `Lock`. Anything else than a `Lock`
   * is a `TypeError`.
   */
  constructor(lock?: Lock) {
    if (lock === undefined) lock = new Lock();
    else if (!(lock instanceof Lock)) {
      throw new TypeError(`Condition() expects a Lock or nothing, got ${describe(lock)}`);
    }
    this._lock = lock;
  }

  /**
   * Whether the underlying lock is held.
   *
   * @example
   * ```ts
   * import { Condition } from "@aio/aio";
   * console.log(new Condition().locked()); // false
   * ```
   */
  locked(): boolean {
    return this._lock._locked;
  }

  /**
   * Acquires the underlying lock (see `Lock.acquire`).
   *
   * @example
   * ```ts
   * import { Condition, run } from "@aio/aio";
   * const cond = new Condition();
   * await run(function* () {
   *   yield* cond.acquire();
   *   console.log(cond.locked()); // true
   *   cond.release();
   * });
   * ```
   */
  acquire(): Coroutine<true> {
    return this._lock.acquire();
  }

  /**
   * Releases the underlying lock (see `Lock.release`).
   *
   * @example
   * ```ts
   * import { Condition, run } from "@aio/aio";
   * const cond = new Condition();
   * await run(function* () {
   *   yield* cond.acquire();
   *   cond.release();
   *   console.log(cond.locked()); // false
   * });
   * ```
   */
  release(): void {
    this._lock.release();
  }

  /**
   * Runs `body` holding the underlying lock, releasing it on return, throw
   * and cancellation: `async with cond:`.
   *
   * @example
   * ```ts
   * import { Condition, run } from "@aio/aio";
   * const cond = new Condition();
   * await run(function* () {
   *   yield* cond.with(function* () {
   *     cond.notifyAll(); // allowed: the lock is held here
   *   });
   * });
   * ```
   */
  with<R>(body: ScopedBody<R>): Coroutine<R> {
    checkBody(body, "Condition.with()");
    return withHeld(this, body, "Condition.with()");
  }

  /**
   * Acquires the underlying lock and evaluates to a {@linkcode Guard} that
   * releases it; declare it with `using`.
   *
   * @example
   * ```ts
   * import { Condition, run } from "@aio/aio";
   * const cond = new Condition();
   * await run(function* () {
   *   using _held = yield* cond.guard();
   *   cond.notify();
   * });
   * ```
   */
  guard(): Coroutine<Guard> {
    return guardOf(this);
  }

  /**
   * Releases the lock, waits until notified, re-acquires the lock and
   * evaluates to `true`. Like CPython's, it may return without a matching
   * `notify` (a waiter cancelled after being notified passes the wake-up on),
   * so re-check the state after waking, or use {@linkcode Condition.waitFor}.
   *
   * @example
   * ```ts
   * import { Condition, createTask, run } from "@aio/aio";
   * const cond = new Condition();
   * await run(function* () {
   *   const t = createTask(function* () {
   *     yield* cond.with(function* () {
   *       yield* cond.wait();
   *       console.log("notified");
   *     });
   *   });
   *   yield; // let it start waiting
   *   yield* cond.with(function* () {
   *     cond.notify();
   *   });
   *   yield* t;
   * });
   * ```
   */
  *wait(): Coroutine<true> {
    if (!this.locked()) {
      throw new RuntimeError("cannot wait on un-acquired lock: acquire the condition first");
    }
    const fut = boundLoop(this).createFuture<boolean>();
    this.release();
    let failed = false;
    let error: unknown;
    this._waiters.push(fut);
    try {
      yield* fut;
    } catch (e) {
      failed = true;
      error = e;
    } finally {
      this._waiters.remove(fut);
    }
    // The lock must be held again whatever happened, even if we are
    // cancelled while re-acquiring; the latest CancelledError wins.
    for (;;) {
      try {
        yield* this._lock.acquire();
        break;
      } catch (e) {
        failed = true;
        error = e;
        if (!(e instanceof CancelledError)) break;
      }
    }
    if (failed) {
      // We may have been notified before the error: hand the notification
      // to another waiter (a spurious wake-up at worst, never a lost one).
      this._notify(1);
      throw error;
    }
    return true;
  }

  /**
   * Waits until `predicate()` is truthy and evaluates to its last result.
   * The predicate is checked first, with the lock held, so it may return
   * without waiting.
   *
   * @example
   * ```ts
   * import { Condition, run } from "@aio/aio";
   * const cond = new Condition();
   * await run(function* () {
   *   const r = yield* cond.with(() => cond.waitFor(() => "ready"));
   *   console.log(r); // "ready"
   * });
   * ```
   */
  *waitFor<R>(predicate: () => R): Coroutine<R> {
    if (typeof predicate !== "function") {
      throw new TypeError(`waitFor() expects a predicate function, got ${describe(predicate)}`);
    }
    let result = predicate();
    while (!result) {
      yield* this.wait();
      result = predicate();
    }
    return result;
  }

  /**
   * Wakes up to `n` (default 1) waiting tasks. The caller must hold the lock
   * (`RuntimeError` otherwise); the woken tasks return from `wait()` once
   * the caller releases it. `n` must be a non-negative number (`ValueError`
   * if negative, `TypeError` if not a number).
   *
   * @example
   * ```ts
   * import { Condition, run } from "@aio/aio";
   * const cond = new Condition();
   * await run(function* () {
   *   yield* cond.with(function* () {
   *     cond.notify(2); // nobody waits: nothing happens
   *   });
   * });
   * ```
   */
  notify(n = 1): void {
    if (typeof n !== "number" || Number.isNaN(n)) {
      throw new TypeError(`notify() expects a number of waiters, got ${describe(n)}`);
    }
    if (n < 0) throw new ValueError(`notify() needs n >= 0, got ${n}`);
    if (!this.locked()) {
      throw new RuntimeError("cannot notify on un-acquired lock: acquire the condition first");
    }
    this._notify(n);
  }

  /**
   * Wakes every waiting task; the caller must hold the lock.
   *
   * @example
   * ```ts
   * import { Condition, run } from "@aio/aio";
   * const cond = new Condition();
   * await run(function* () {
   *   yield* cond.with(function* () {
   *     cond.notifyAll();
   *   });
   * });
   * ```
   */
  notifyAll(): void {
    this.notify(this._waiters.length);
  }

  /**
   * A short description such as `<Condition [locked, waiters:1]>`.
   *
   * @example
   * ```ts
   * import { Condition } from "@aio/aio";
   * console.log(String(new Condition())); // "<Condition [unlocked]>"
   * ```
   */
  toString(): string {
    let extra = this.locked() ? "locked" : "unlocked";
    if (this._waiters.length > 0) extra += `, waiters:${this._waiters.length}`;
    return `<Condition [${extra}]>`;
  }

  /** @ignore */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /** @ignore */
  _notify(n: number): void {
    const w = this._waiters;
    let woken = 0;
    for (let i = 0; i < w.length && woken < n; i++) {
      const fut = w.at(i);
      if (fut._state === PENDING) {
        woken++;
        fut.setResult(false);
      }
    }
  }
}
