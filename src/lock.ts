/**
 * `Lock`: asyncio's mutual-exclusion lock for tasks.
 *
 * @module
 */
import { CLOSED, CoroOp, START } from "./coro_op.ts";
import { Deque } from "./deque.ts";
import { RuntimeError } from "./errors.ts";
import { type Future, PENDING } from "./future.ts";
import { checkBody, type Guard, guardOf, type ScopedBody, withHeld } from "./guard.ts";
import type { EventLoop } from "./loop.ts";
import { boundLoop } from "./loop_bound.ts";
import type { Coroutine } from "./task.ts";

/**
 * A lock for tasks (asyncio's `Lock`). It is not owned by a task: any task
 * may release it. Waiters are served first come, first served, and there is
 * no barging: a task calling `acquire()` while a woken waiter has not yet run
 * queues behind it, even the task that just released.
 *
 * Three ways to hold it:
 * - `yield* lock.acquire()` … `lock.release()` in a `try`/`finally`;
 * - `yield* lock.with(function* () { … })`, which releases on return, throw
 *   and cancellation (`async with lock:`);
 * - `using _held = yield* lock.guard();`, released when the block ends.
 *
 * @example
 * ```ts
 * import { createTask, Lock, run, sleep } from "@aio/aio";
 * const lock = new Lock();
 * let balance = 100;
 * function* withdraw(amount: number) {
 *   yield* lock.with(function* () {
 *     const seen = balance;
 *     yield* sleep(10); // without the lock, the other task would see 100 too
 *     balance = seen - amount;
 *   });
 * }
 * await run(function* () {
 *   const a = createTask(withdraw(30));
 *   const b = createTask(withdraw(50));
 *   yield* a;
 *   yield* b;
 *   console.log(balance); // 20
 * });
 * ```
 *
 * @category Synchronization
 */
export class Lock {
  /** @ignore The loop this primitive bound to on first use (see `loop_bound.ts`). */
  _loop: EventLoop | null = null;
  /** @ignore Futures of tasks blocked in `acquire()`, first come first. */
  _waiters: Deque<Future<boolean>> | null = null;
  /** @ignore */
  _locked = false;

  /**
   * Whether the lock is held.
   *
   * @example
   * ```ts
   * import { Lock } from "@aio/aio";
   * console.log(new Lock().locked()); // false
   * ```
   */
  locked(): boolean {
    return this._locked;
  }

  /**
   * Waits until the lock is free and takes it; evaluates to `true`. If the
   * waiting task is cancelled, it leaves the queue and, if it had already
   * been handed the lock, passes it on to the next waiter.
   *
   * @example
   * ```ts
   * import { Lock, run } from "@aio/aio";
   * const lock = new Lock();
   * await run(function* () {
   *   yield* lock.acquire();
   *   try {
   *     console.log(lock.locked()); // true
   *   } finally {
   *     lock.release();
   *   }
   * });
   * ```
   */
  acquire(): Coroutine<true> {
    return new LockAcquire(this) as unknown as Coroutine<true>;
  }

  /**
   * Releases the lock and wakes the first waiter. Releasing an unlocked lock
   * is a `RuntimeError`.
   *
   * @example
   * ```ts
   * import { Lock, RuntimeError } from "@aio/aio";
   * try {
   *   new Lock().release();
   * } catch (e) {
   *   console.log(e instanceof RuntimeError); // true
   * }
   * ```
   */
  release(): void {
    if (!this._locked) {
      throw new RuntimeError("Lock is not acquired: release() without a matching acquire()");
    }
    this._locked = false;
    this._wakeUpFirst();
  }

  /**
   * Runs `body` (a coroutine function or coroutine) while holding the lock:
   * acquires, runs, and releases when the body returns, throws, or its task
   * is cancelled. Evaluates to the body's result. Python's `async with lock:`.
   *
   * @example
   * ```ts
   * import { Lock, run } from "@aio/aio";
   * const lock = new Lock();
   * const r = await run(function* () {
   *   return yield* lock.with(function* () {
   *     return lock.locked();
   *   });
   * });
   * console.log(r, lock.locked()); // true false
   * ```
   */
  with<R>(body: ScopedBody<R>): Coroutine<R> {
    checkBody(body, "Lock.with()");
    return withHeld(this, body, "Lock.with()");
  }

  /**
   * Acquires the lock and evaluates to a {@linkcode Guard} that releases it:
   * declare it with `using` and the lock is released when the enclosing
   * block ends, however it ends (return, throw, or cancellation of the
   * task at any `yield*` in the block).
   *
   * @example
   * ```ts
   * import { Lock, run } from "@aio/aio";
   * const lock = new Lock();
   * await run(function* () {
   *   {
   *     using _held = yield* lock.guard();
   *     console.log(lock.locked()); // true
   *   }
   *   console.log(lock.locked()); // false
   * });
   * ```
   */
  guard(): Coroutine<Guard> {
    return guardOf(this);
  }

  /**
   * A short description such as `<Lock [locked, waiters:2]>`.
   *
   * @example
   * ```ts
   * import { Lock } from "@aio/aio";
   * console.log(String(new Lock())); // "<Lock [unlocked]>"
   * ```
   */
  toString(): string {
    let extra = this._locked ? "locked" : "unlocked";
    const n = this._waiters?.length ?? 0;
    if (n > 0) extra += `, waiters:${n}`;
    return `<${this.constructor.name} [${extra}]>`;
  }

  /** @ignore */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /** @ignore The first waiter gets the lock unless it was already told to. */
  _wakeUpFirst(): void {
    const fut = this._waiters?.peek();
    // A done head was woken already (or cancelled, and will pass it on).
    if (fut !== undefined && fut._state === PENDING) fut.setResult(true);
  }
}

/** `Lock.acquire()` as a hand-written coroutine: no generator per call. */
class LockAcquire extends CoroOp<true> {
  declare _lock: Lock;

  constructor(lock: Lock) {
    super();
    this._init();
    this._lock = lock;
  }

  override next(): this {
    // Uncontended: take it without the generic machinery.
    const lock = this._lock;
    if (this._phase === START && !lock._locked && (lock._waiters?._size ?? 0) === 0) {
      lock._locked = true;
      this._phase = CLOSED;
      this.done = true;
      this.value = true;
      return this;
    }
    return super.next();
  }

  _run(woken: Future<unknown> | null): void {
    const lock = this._lock;
    if (woken !== null) {
      lock._waiters!.remove(woken as Future<boolean>);
      lock._locked = true;
      this._return(true);
      return;
    }
    // Queue-jumping is allowed only past waiters that were all cancelled.
    if (!lock._locked && (lock._waiters === null || allCancelled(lock._waiters))) {
      lock._locked = true;
      this._return(true);
      return;
    }
    const fut = boundLoop(lock).createFuture<boolean>();
    (lock._waiters ??= new Deque()).push(fut);
    this._wait(fut);
  }

  _abort(fut: Future<unknown>): void {
    const lock = this._lock;
    lock._waiters!.remove(fut as Future<boolean>);
    // If the lock was handed to us, or is free with others queued, the head
    // must get it: never two holders, never a lost wake-up.
    if (!lock._locked) lock._wakeUpFirst();
  }
}

function allCancelled(waiters: Deque<Future<boolean>>): boolean {
  for (let i = 0; i < waiters.length; i++) {
    if (!waiters.at(i).cancelled()) return false;
  }
  return true;
}
