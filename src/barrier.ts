/**
 * `Barrier`: asyncio's rendezvous point for a fixed number of tasks.
 *
 * @module
 */
import { Condition } from "./condition.ts";
import { BrokenBarrierError, ValueError } from "./errors.ts";
import { checkBody, type ScopedBody, startBody } from "./guard.ts";
import type { Coroutine } from "./task.ts";
import { describe } from "./util.ts";

const FILLING = "filling";
const DRAINING = "draining";
const RESETTING = "resetting";
const BROKEN = "broken";
type State = typeof FILLING | typeof DRAINING | typeof RESETTING | typeof BROKEN;

/**
 * A barrier (asyncio's `Barrier`): tasks calling `wait()` block until
 * `parties` of them are waiting, then all proceed together, each with a
 * distinct index from `0` to `parties - 1`. The barrier then refills for the
 * next round (it is cyclic).
 *
 * `reset()` returns it to its empty state, failing current waiters with
 * `BrokenBarrierError`; `abort()` breaks it, failing current and future
 * waiters until `reset()`. Tasks arriving while the previous round drains
 * wait for the next round.
 *
 * @example
 * ```ts
 * import { Barrier, createTask, run, sleep } from "@aio/aio";
 * const barrier = new Barrier(3);
 * const seen: string[] = [];
 * function* worker(name: string, ms: number) {
 *   yield* sleep(ms);
 *   seen.push(`${name} arrived`);
 *   yield* barrier.wait();
 *   seen.push(`${name} passed`);
 * }
 * await run(function* () {
 *   const ts = [createTask(worker("a", 10)), createTask(worker("b", 20)), createTask(worker("c", 30))];
 *   for (const t of ts) yield* t;
 *   console.log(seen.slice(0, 3).every((s) => s.endsWith("arrived"))); // true
 * });
 * ```
 *
 * @category Synchronization
 */
export class Barrier {
  /** @ignore Notifies every waiter whenever the state changes. */
  _cond: Condition = new Condition();
  /** @ignore */
  _parties: number;
  /** @ignore */
  _state: State = FILLING;
  /** @ignore Tasks inside `wait()`. */
  _count = 0;

  /**
   * A barrier for `parties` tasks. `parties < 1` is a `ValueError`; a
   * non-integer a `TypeError`.
   */
  constructor(parties: number) {
    if (typeof parties !== "number" || !Number.isInteger(parties)) {
      throw new TypeError(`Barrier parties must be an integer, got ${describe(parties)}`);
    }
    if (parties < 1) throw new ValueError(`Barrier parties must be >= 1, got ${parties}`);
    this._parties = parties;
  }

  /**
   * Waits until `parties` tasks are waiting, then evaluates to this task's
   * index (`0` … `parties - 1`, unique within the round). Throws
   * `BrokenBarrierError` if the barrier is reset or aborted while waiting,
   * or is broken on entry.
   *
   * @example
   * ```ts
   * import { Barrier, run } from "@aio/aio";
   * const b = new Barrier(1);
   * await run(function* () {
   *   console.log(yield* b.wait()); // 0: one party, no waiting
   * });
   * ```
   */
  *wait(): Coroutine<number> {
    const cond = this._cond;
    yield* cond.acquire();
    try {
      yield* this._block(); // while the previous round drains or resets
      const index = this._count++;
      try {
        if (index + 1 === this._parties) this._release();
        else yield* this._wait();
        return index;
      } finally {
        this._count--;
        this._exit();
      }
    } finally {
      cond.release();
    }
  }

  /**
   * Runs `body(index)` after `wait()` returned `index`: Python's
   * `async with barrier as index:`. Nothing happens on exit.
   *
   * @example
   * ```ts
   * import { Barrier, run } from "@aio/aio";
   * const b = new Barrier(1);
   * await run(function* () {
   *   const r = yield* b.with(function* (i) {
   *     return `index ${i}`;
   *   });
   *   console.log(r); // "index 0"
   * });
   * ```
   */
  with<R>(body: ScopedBody<R, [number]>): Coroutine<R> {
    checkBody(body, "Barrier.with()");
    return this._with(body);
  }

  /** @ignore */
  *_with<R>(body: ScopedBody<R, [number]>): Coroutine<R> {
    const index = yield* this.wait();
    return yield* startBody(body, "Barrier.with()", index);
  }

  /**
   * Returns the barrier to its empty, filling state. Tasks waiting in it
   * get `BrokenBarrierError`; a broken barrier becomes usable again.
   *
   * @example
   * ```ts
   * import { Barrier, run } from "@aio/aio";
   * const b = new Barrier(2);
   * await run(function* () {
   *   yield* b.abort();
   *   yield* b.reset();
   *   console.log(b.broken); // false
   * });
   * ```
   */
  *reset(): Coroutine<void> {
    const cond = this._cond;
    yield* cond.acquire();
    try {
      if (this._count > 0) {
        if (this._state !== RESETTING) this._state = RESETTING;
      } else {
        this._state = FILLING;
      }
      cond.notifyAll();
    } finally {
      cond.release();
    }
  }

  /**
   * Breaks the barrier: current and future `wait()` calls throw
   * `BrokenBarrierError` until `reset()`. Useful when a party fails.
   *
   * @example
   * ```ts
   * import { Barrier, run } from "@aio/aio";
   * const b = new Barrier(2);
   * await run(function* () {
   *   yield* b.abort();
   *   console.log(b.broken); // true
   * });
   * ```
   */
  *abort(): Coroutine<void> {
    const cond = this._cond;
    yield* cond.acquire();
    try {
      this._state = BROKEN;
      cond.notifyAll();
    } finally {
      cond.release();
    }
  }

  /**
   * How many tasks must call `wait()` to pass the barrier.
   *
   * @example
   * ```ts
   * import { Barrier } from "@aio/aio";
   * console.log(new Barrier(4).parties); // 4
   * ```
   */
  get parties(): number {
    return this._parties;
  }

  /**
   * How many tasks are waiting in the current (filling) round.
   *
   * @example
   * ```ts
   * import { Barrier } from "@aio/aio";
   * console.log(new Barrier(4).nWaiting); // 0
   * ```
   */
  get nWaiting(): number {
    return this._state === FILLING ? this._count : 0;
  }

  /**
   * Whether the barrier is broken (aborted and not reset).
   *
   * @example
   * ```ts
   * import { Barrier } from "@aio/aio";
   * console.log(new Barrier(4).broken); // false
   * ```
   */
  get broken(): boolean {
    return this._state === BROKEN;
  }

  /**
   * A short description such as `<Barrier [filling, waiters:1/3]>`.
   *
   * @example
   * ```ts
   * import { Barrier } from "@aio/aio";
   * console.log(String(new Barrier(3))); // "<Barrier [filling, waiters:0/3]>"
   * ```
   */
  toString(): string {
    let extra: string = this._state;
    if (!this.broken) extra += `, waiters:${this.nWaiting}/${this._parties}`;
    return `<Barrier [${extra}]>`;
  }

  /** @ignore */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /** @ignore */
  *_block(): Coroutine<void> {
    yield* this._cond.waitFor(() => this._state !== DRAINING && this._state !== RESETTING);
    if (this._state === BROKEN) throw new BrokenBarrierError("Barrier aborted");
  }

  /** @ignore The last party arrived: everyone may go. */
  _release(): void {
    this._state = DRAINING;
    this._cond.notifyAll();
  }

  /** @ignore */
  *_wait(): Coroutine<void> {
    yield* this._cond.waitFor(() => this._state !== FILLING);
    if (this._state === BROKEN || this._state === RESETTING) {
      throw new BrokenBarrierError("Abort or reset of barrier");
    }
  }

  /** @ignore The last task out lets the next round in. */
  _exit(): void {
    if (this._count === 0) {
      if (this._state === RESETTING || this._state === DRAINING) this._state = FILLING;
      this._cond.notifyAll();
    }
  }
}
