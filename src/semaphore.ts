/**
 * `Semaphore` and `BoundedSemaphore`: asyncio's counting semaphores.
 *
 * @module
 */
import { Deque } from "./deque.ts";
import { ValueError } from "./errors.ts";
import { type Future, PENDING } from "./future.ts";
import { checkBody, type Guard, guardOf, type ScopedBody, withHeld } from "./guard.ts";
import type { EventLoop } from "./loop.ts";
import { boundLoop } from "./loop_bound.ts";
import type { Coroutine } from "./task.ts";
import { describe } from "./util.ts";

function checkValue(value: unknown, what: string): number {
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new TypeError(`${what} initial value must be a number, got ${describe(value)}`);
  }
  if (!Number.isInteger(value) || value < 0) {
    throw new ValueError(`${what} initial value must be an integer >= 0, got ${value}`);
  }
  return value;
}

/**
 * A counting semaphore (asyncio's `Semaphore`): `acquire()` takes a unit,
 * waiting while there is none; `release()` returns one. Use it to bound how
 * many tasks do something at once.
 *
 * Waiters are served first come, first served: `release()` hands the unit
 * straight to the first waiter that is still waiting (cancelled waiters are
 * skipped), and a newcomer queues behind waiters even if a unit is free. A
 * waiter cancelled after it was handed a unit gives the unit back.
 *
 * Hold a unit with `yield* sem.acquire()` … `sem.release()`, with
 * `yield* sem.with(function* () { … })`, or with
 * `using _unit = yield* sem.guard();`.
 *
 * @example
 * ```ts
 * import { createTask, run, Semaphore, sleep } from "@aio/aio";
 * const sem = new Semaphore(2);
 * let running = 0, peak = 0;
 * function* job() {
 *   yield* sem.with(function* () {
 *     peak = Math.max(peak, ++running);
 *     yield* sleep(10);
 *     running--;
 *   });
 * }
 * await run(function* () {
 *   const tasks = [1, 2, 3, 4, 5].map(() => createTask(job()));
 *   for (const t of tasks) yield* t;
 *   console.log(peak); // 2
 * });
 * ```
 *
 * @category Synchronization
 */
export class Semaphore {
  /** @ignore The loop this primitive bound to on first use (see `loop_bound.ts`). */
  _loop: EventLoop | null = null;
  /** @ignore */
  _value: number;
  /** @ignore */
  _waiters: Deque<Future<boolean>> | null = null;

  /**
   * A semaphore with `value` units (default 1). A negative or fractional
   * value is a `ValueError`; a non-number a `TypeError`.
   */
  constructor(value = 1) {
    this._value = checkValue(value, new.target.name);
  }

  /**
   * Whether `acquire()` would wait: no unit is free, or tasks are already
   * queued for one.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@aio/aio";
   * console.log(new Semaphore(0).locked()); // true
   * ```
   */
  locked(): boolean {
    if (this._value === 0) return true;
    const w = this._waiters;
    if (w === null) return false;
    for (let i = 0; i < w.length; i++) {
      if (!w.at(i).cancelled()) return true;
    }
    return false;
  }

  /**
   * Takes a unit, waiting first come, first served while none is free;
   * evaluates to `true`.
   *
   * @example
   * ```ts
   * import { run, Semaphore } from "@aio/aio";
   * const sem = new Semaphore(1);
   * await run(function* () {
   *   yield* sem.acquire();
   *   console.log(sem.locked()); // true
   *   sem.release();
   * });
   * ```
   */
  *acquire(): Coroutine<true> {
    if (!this.locked()) {
      this._value--;
      return true;
    }
    const fut = boundLoop(this).createFuture<boolean>();
    (this._waiters ??= new Deque()).push(fut);
    let ok = false;
    try {
      try {
        yield* fut;
      } finally {
        this._waiters.remove(fut);
      }
      ok = true;
    } finally {
      // Handed a unit but leaving without it (cancelled): give it back.
      if (!ok && fut.done() && !fut.cancelled()) this._value++;
      // Newcomers may have queued behind us while units were free.
      while (this._value > 0) {
        if (!this._wakeUpNext()) break;
      }
    }
    return true;
  }

  /**
   * Returns a unit and hands it to the first waiting task, if any.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@aio/aio";
   * const sem = new Semaphore(0);
   * sem.release();
   * console.log(sem.locked()); // false
   * ```
   */
  release(): void {
    this._value++;
    this._wakeUpNext();
  }

  /**
   * Runs `body` holding a unit, releasing it on return, throw and
   * cancellation: `async with sem:`.
   *
   * @example
   * ```ts
   * import { run, Semaphore } from "@aio/aio";
   * const sem = new Semaphore(3);
   * await run(function* () {
   *   const r = yield* sem.with(function* () {
   *     return "in";
   *   });
   *   console.log(r); // "in"
   * });
   * ```
   */
  with<R>(body: ScopedBody<R>): Coroutine<R> {
    checkBody(body, `${this.constructor.name}.with()`);
    return withHeld(this, body, `${this.constructor.name}.with()`);
  }

  /**
   * Takes a unit and evaluates to a {@linkcode Guard} that returns it;
   * declare it with `using`.
   *
   * @example
   * ```ts
   * import { run, Semaphore } from "@aio/aio";
   * const sem = new Semaphore(1);
   * await run(function* () {
   *   {
   *     using _unit = yield* sem.guard();
   *     console.log(sem.locked()); // true
   *   }
   *   console.log(sem.locked()); // false
   * });
   * ```
   */
  guard(): Coroutine<Guard> {
    return guardOf(this);
  }

  /**
   * A short description such as `<Semaphore [unlocked, value:2]>`.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@aio/aio";
   * console.log(String(new Semaphore(2))); // "<Semaphore [unlocked, value:2]>"
   * ```
   */
  toString(): string {
    let extra = this.locked() ? "locked" : `unlocked, value:${this._value}`;
    const n = this._waiters?.length ?? 0;
    if (n > 0) extra += `, waiters:${n}`;
    return `<${this.constructor.name} [${extra}]>`;
  }

  /** @ignore */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /** @ignore Hands a unit to the first waiter still waiting. */
  _wakeUpNext(): boolean {
    const w = this._waiters;
    if (w === null) return false;
    for (let i = 0; i < w.length; i++) {
      const fut = w.at(i);
      if (fut._state === PENDING) {
        this._value--;
        fut.setResult(true);
        return true;
      }
    }
    return false;
  }
}

/**
 * A semaphore that refuses to grow past its initial value (asyncio's
 * `BoundedSemaphore`): a `release()` without a matching `acquire()` is a
 * `ValueError` instead of a silent extra unit.
 *
 * @example
 * ```ts
 * import { BoundedSemaphore, ValueError } from "@aio/aio";
 * const sem = new BoundedSemaphore(1);
 * try {
 *   sem.release();
 * } catch (e) {
 *   console.log(e instanceof ValueError); // true
 * }
 * ```
 *
 * @category Synchronization
 */
export class BoundedSemaphore extends Semaphore {
  /** @ignore */
  _boundValue: number;

  /** A bounded semaphore with `value` units (default 1). */
  constructor(value = 1) {
    super(value);
    this._boundValue = value;
  }

  /**
   * Returns a unit; `ValueError` if that would exceed the initial value.
   *
   * @example
   * ```ts
   * import { BoundedSemaphore, run } from "@aio/aio";
   * const sem = new BoundedSemaphore(2);
   * await run(function* () {
   *   yield* sem.acquire();
   *   sem.release();
   *   console.log(String(sem)); // "<BoundedSemaphore [unlocked, value:2]>"
   * });
   * ```
   */
  override release(): void {
    if (this._value >= this._boundValue) {
      throw new ValueError(
        `BoundedSemaphore released too many times (its value is back at ${this._boundValue})`,
      );
    }
    super.release();
  }
}
