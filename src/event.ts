/**
 * `Event`: asyncio's one-shot (resettable) signal for tasks.
 *
 * @module
 */
import { Deque } from "./deque.ts";
import { type Future, PENDING } from "./future.ts";
import type { EventLoop } from "./loop.ts";
import { boundLoop } from "./loop_bound.ts";
import type { Coroutine } from "./task.ts";

/**
 * A flag tasks can wait for (asyncio's `Event`). `set()` wakes every task
 * waiting in `wait()`; while the flag is set, `wait()` returns at once.
 * `clear()` lowers the flag for later waits without stranding the tasks
 * `set()` already woke.
 *
 * @example
 * ```ts
 * import { createTask, Event, run, sleep } from "@aio/aio";
 * const ready = new Event();
 * await run(function* () {
 *   const waiter = createTask(function* () {
 *     yield* ready.wait();
 *     console.log("go");
 *   });
 *   yield* sleep(100);
 *   ready.set();
 *   yield* waiter;
 * });
 * ```
 *
 * @category Synchronization
 */
export class Event {
  /** @ignore The loop this primitive bound to on first use (see `loop_bound.ts`). */
  _loop: EventLoop | null = null;
  /** @ignore */
  _waiters: Deque<Future<boolean>> = new Deque();
  /** @ignore */
  _value = false;

  /**
   * Whether the flag is set.
   *
   * @example
   * ```ts
   * import { Event } from "@aio/aio";
   * const ev = new Event();
   * ev.set();
   * console.log(ev.isSet()); // true
   * ```
   */
  isSet(): boolean {
    return this._value;
  }

  /**
   * Sets the flag and wakes every waiting task. Calling it again while set
   * does nothing.
   *
   * @example
   * ```ts
   * import { Event } from "@aio/aio";
   * const ev = new Event();
   * ev.set();
   * ev.set();
   * console.log(ev.isSet()); // true
   * ```
   */
  set(): void {
    if (this._value) return;
    this._value = true;
    const w = this._waiters;
    // The woken tasks remove their own futures when they run.
    for (let i = 0; i < w.length; i++) {
      const fut = w.at(i);
      if (fut._state === PENDING) fut.setResult(true);
    }
  }

  /**
   * Lowers the flag: later `wait()` calls block until the next `set()`.
   * Tasks already woken by `set()` still return.
   *
   * @example
   * ```ts
   * import { Event } from "@aio/aio";
   * const ev = new Event();
   * ev.set();
   * ev.clear();
   * console.log(ev.isSet()); // false
   * ```
   */
  clear(): void {
    this._value = false;
  }

  /**
   * Waits until the flag is set (at once if it is); evaluates to `true`.
   *
   * @example
   * ```ts
   * import { Event, getRunningLoop, run } from "@aio/aio";
   * const ev = new Event();
   * await run(function* () {
   *   getRunningLoop().callLater(50, () => ev.set());
   *   console.log(yield* ev.wait()); // true, 50 ms later
   * });
   * ```
   */
  *wait(): Coroutine<true> {
    if (this._value) return true;
    const fut = boundLoop(this).createFuture<boolean>();
    this._waiters.push(fut);
    try {
      yield* fut;
      return true;
    } finally {
      this._waiters.remove(fut);
    }
  }

  /**
   * A short description such as `<Event [unset, waiters:1]>`.
   *
   * @example
   * ```ts
   * import { Event } from "@aio/aio";
   * console.log(String(new Event())); // "<Event [unset]>"
   * ```
   */
  toString(): string {
    let extra = this._value ? "set" : "unset";
    if (this._waiters.length > 0) extra += `, waiters:${this._waiters.length}`;
    return `<Event [${extra}]>`;
  }

  /** @ignore */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }
}
