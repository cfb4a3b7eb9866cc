/**
 * Timeout scopes: asyncio's `async with timeout(...)` as `yield* timeout(ms, body)`.
 *
 * @module
 */
import { checkLoop, checkTimeout } from "./awaitables.ts";
import { CancelledError, RuntimeError, TimeoutError } from "./errors.ts";
import { Future } from "./future.ts";
import type { EventLoop, Handle } from "./loop.ts";
import { getRunningLoop } from "./running.ts";
import type { Awaitable, Coroutine, Task } from "./task.ts";
import { describe, isCoroutine } from "./util.ts";

const CREATED = 0;
const ENTERED = 1;
const EXPIRING = 2;
const EXPIRED = 3;
const EXITED = 4;
const STATE_NAMES = ["created", "active", "expiring", "expired", "finished"];

/**
 * What a timeout scope runs: a coroutine function given the scope, or an awaitable.
 *
 * @category Combinators
 */
export type TimeoutBody<T> = ((cm: Timeout) => Awaitable<T>) | Awaitable<T>;

function expire(cm: Timeout): void {
  cm._onTimeout();
}

/**
 * A running timeout scope, handed to the body of {@linkcode timeout} and
 * {@linkcode timeoutAt}: read or move its deadline, and ask whether it
 * expired. asyncio's `Timeout`.
 *
 * When the deadline passes, the task running the body is cancelled; the
 * scope turns that cancellation into a `TimeoutError` (with the
 * `CancelledError` as `cause`) for the code outside it. A cancellation from
 * anywhere else passes through unchanged.
 *
 * @example
 * ```ts
 * import { getRunningLoop, run, sleep, timeout } from "@aio/aio";
 * await run(function* () {
 *   const loop = getRunningLoop();
 *   yield* timeout(100, function* (cm) {
 *     cm.reschedule(loop.time() + 500); // more time
 *     yield* sleep(300);
 *   });
 *   console.log(loop.time()); // 300
 * }, { clock: "virtual" });
 * ```
 *
 * @category Combinators
 */
export class Timeout {
  /** @ignore */
  _state = CREATED;
  /** @ignore */
  _when: number | null;
  /** @ignore */
  _handle: Handle | null = null;
  /** @ignore */
  _task: Task<unknown> | null = null;
  /** @ignore */
  _loop: EventLoop | null = null;
  /** @ignore The task's cancel count on entry: requests above it are not ours. */
  _cancelling = 0;
  /** @ignore Who made the scope, for the TimeoutError's message. */
  _what = "timeout()";
  /**
   * @ignore The delay (ms) the scope was made with, for the message
   * ("timed out after 5 ms"); null once the deadline is given or moved.
   */
  _delay: number | null = null;

  /**
   * A scope that is not running yet, expiring at loop time `when` (ms) or
   * never (`null`). Start it with {@linkcode Timeout.run}, or use
   * {@linkcode timeout} or {@linkcode timeoutAt}, which create and run one.
   */
  constructor(when: number | null) {
    if (when !== null && (typeof when !== "number" || Number.isNaN(when))) {
      throw new TypeError(`Timeout needs a loop time in ms or null, got ${describe(when)}`);
    }
    this._when = when;
  }

  /**
   * The deadline in loop time (ms), or `null` for none.
   *
   * @example
   * ```ts
   * import { run, timeoutAt } from "@aio/aio";
   * await run(function* () {
   *   yield* timeoutAt(5000, function* (cm) {
   *     console.log(cm.when()); // 5000
   *   });
   * }, { clock: "virtual" });
   * ```
   */
  when(): number | null {
    return this._when;
  }

  /**
   * Moves the deadline to loop time `when` (ms), or removes it (`null`). A
   * time already past expires the scope at the next loop iteration. Only
   * while the scope runs: before, after, or once it has expired, a
   * `RuntimeError`.
   *
   * @example
   * ```ts
   * import { getRunningLoop, run, sleep, timeout } from "@aio/aio";
   * await run(function* () {
   *   yield* timeout(10, function* (cm) {
   *     cm.reschedule(null); // no deadline after all
   *     yield* sleep(1000);
   *   });
   *   console.log(getRunningLoop().time()); // 1000
   * }, { clock: "virtual" });
   * ```
   */
  reschedule(when: number | null): void {
    if (this._state !== ENTERED) {
      if (this._state === CREATED) throw new RuntimeError("Timeout has not been entered");
      throw new RuntimeError(
        `Cannot change state of ${
          STATE_NAMES[this._state]
        } Timeout: reschedule() works only while the scope runs`,
      );
    }
    if (when !== null && (typeof when !== "number" || Number.isNaN(when))) {
      throw new TypeError(
        `reschedule() needs a loop time in ms or null, got ${describe(when)}`,
      );
    }
    this._when = when;
    this._delay = null;
    this._handle?.cancel();
    if (when === null) {
      this._handle = null;
      return;
    }
    const loop = this._loop!;
    this._handle = when <= loop.time()
      ? loop.callSoon(expire, this)
      : loop.callAt(when, expire, this);
  }

  /**
   * Whether the deadline passed while the scope ran (and cancelled it).
   *
   * @example
   * ```ts
   * import { run, sleep, timeout, type Timeout } from "@aio/aio";
   * await run(function* () {
   *   let scope: Timeout | undefined;
   *   try {
   *     yield* timeout(10, function* (cm) {
   *       scope = cm;
   *       yield* sleep(1000);
   *     });
   *   } catch (e) {
   *     console.log((e as Error).name, scope!.expired()); // "TimeoutError" true
   *   }
   * }, { clock: "virtual" });
   * ```
   */
  expired(): boolean {
    return this._state === EXPIRING || this._state === EXPIRED;
  }

  /**
   * Runs `body` (a coroutine function given this scope, or an awaitable) as
   * the scope, in the current task: asyncio's `async with Timeout(when):`.
   * {@linkcode timeout} and {@linkcode timeoutAt} create a scope and run it.
   * A scope runs once: a second `run` is a `RuntimeError`, as is running
   * outside a task.
   *
   * @example
   * ```ts
   * import { getRunningLoop, run, sleep, Timeout } from "@aio/aio";
   * await run(function* () {
   *   const loop = getRunningLoop();
   *   const cm = new Timeout(loop.time() + 100);
   *   try {
   *     yield* cm.run(sleep(1000));
   *   } catch (e) {
   *     console.log((e as Error).name, cm.expired()); // "TimeoutError" true
   *   }
   * }, { clock: "virtual" });
   * ```
   */
  run<T>(body: TimeoutBody<T>): Coroutine<T> {
    checkBody(body, "Timeout.run()");
    return scope(this, this._when, false, body, "Timeout.run()");
  }

  /**
   * A short description such as `<Timeout [active] when=1500>`.
   *
   * @example
   * ```ts
   * import { run, timeoutAt } from "@aio/aio";
   * await run(function* () {
   *   yield* timeoutAt(1500, function* (cm) {
   *     console.log(String(cm)); // "<Timeout [active] when=1500>"
   *   });
   * }, { clock: "virtual" });
   * ```
   */
  toString(): string {
    let info = "";
    if (this._state === ENTERED) {
      const when = this._when === null ? null : Math.round(this._when * 1000) / 1000;
      info = ` when=${when}`;
    }
    return `<Timeout [${STATE_NAMES[this._state]}]${info}>`;
  }

  /** @ignore */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /** @ignore Starts the scope in the current task. */
  _enter(loop: EventLoop): void {
    if (this._state !== CREATED) throw new RuntimeError("Timeout has already been entered");
    const task = loop._currentTask;
    if (task === null) {
      throw new RuntimeError(
        "Timeout should be used inside a task: run it with yield* from a coroutine",
      );
    }
    this._loop = loop;
    this._state = ENTERED;
    this._task = task;
    this._cancelling = task.cancelling();
    this.reschedule(this._when);
  }

  /**
   * @ignore Ends the scope; `error` is what the body threw (`hasError`).
   * Returns the TimeoutError to throw instead, or null to let `error` (or the
   * result) through.
   */
  _exit(hasError: boolean, error: unknown): TimeoutError | null {
    if (this._handle !== null) {
      this._handle.cancel();
      this._handle = null;
    }
    if (this._state === EXPIRING) {
      this._state = EXPIRED;
      // Always withdraw our own request; convert only if no one else asked
      // for a cancellation meanwhile.
      if (this._task!.uncancel() <= this._cancelling && hasError) {
        if (error instanceof CancelledError) {
          return new TimeoutError(
            this._delay !== null
              ? `${this._what} timed out after ${this._delay} ms`
              : `${this._what} timed out: its deadline (loop time ${this._when} ms) passed`,
            { cause: error },
          );
        }
      }
    } else if (this._state === ENTERED) {
      this._state = EXITED;
    }
    return null;
  }

  /** @ignore The deadline passed. */
  _onTimeout(): void {
    if (this._state !== ENTERED) return;
    this._task!.cancel();
    this._state = EXPIRING;
    this._handle = null;
  }
}

function checkBody(body: unknown, what: string): void {
  if (typeof body !== "function" && !(body instanceof Future) && !isCoroutine(body)) {
    throw new TypeError(
      `${what} expects a coroutine function (function* (cm) {...}), a coroutine or a future, got ${
        describe(body)
      }`,
    );
  }
}

function awaitableOf<T>(
  body: TimeoutBody<T>,
  cm: Timeout,
  loop: EventLoop,
  what: string,
): Awaitable<T> {
  const aw = typeof body === "function" ? body(cm) : body;
  if (aw instanceof Future) checkLoop(aw, loop, what);
  else if (!isCoroutine(aw)) {
    throw new TypeError(
      `${what} body must be a coroutine function (function*), but it returned ${describe(aw)}`,
    );
  }
  return aw;
}

/** @internal Runs `body` inside a new scope expiring at `when` (or `delay` ms from now). */
export function timeoutScope<T>(
  value: number | null,
  relative: boolean,
  body: TimeoutBody<T>,
  what: string,
): Coroutine<T> {
  return scope(null, value, relative, body, what);
}

function* scope<T>(
  given: Timeout | null,
  value: number | null,
  relative: boolean,
  body: TimeoutBody<T>,
  what: string,
): Coroutine<T> {
  const loop = getRunningLoop();
  // The deadline is fixed when the scope starts, as asyncio's timeout() does
  // when it is called (right before `async with`).
  const cm = given ?? new Timeout(relative && value !== null ? loop.time() + value : value);
  cm._what = what;
  cm._enter(loop);
  if (relative) cm._delay = value;
  try {
    return yield* awaitableOf(body, cm, loop, what);
  } catch (e) {
    const te = cm._exit(true, e);
    if (te !== null) throw te;
    throw e;
  } finally {
    // Normal exit, or the coroutine was closed with return().
    if (cm._state === ENTERED || cm._state === EXPIRING) cm._exit(false, undefined);
  }
}

/**
 * Runs `body` with a deadline `ms` milliseconds from now (`null`: none).
 * asyncio's `async with asyncio.timeout(delay) as cm:`, as a scope: `body`
 * is a coroutine function that receives the {@linkcode Timeout}, or simply an
 * awaitable.
 *
 * When the deadline passes, the body is cancelled (it gets a
 * `CancelledError` at its current `yield*`, and its `finally` blocks run)
 * and the scope throws a `TimeoutError` whose `cause` is that
 * `CancelledError`. Only this scope converts it: enclosing scopes and the
 * task see a `TimeoutError`, and a cancellation coming from elsewhere stays a
 * `CancelledError`. A body that catches the cancellation and returns ends
 * the scope normally. Scopes nest.
 *
 * Negative `ms` act as 0 (expires at the next loop iteration); `NaN` is a
 * `TypeError`, thrown at the call. Outside a task, a `RuntimeError`.
 *
 * @example
 * ```ts
 * import { run, sleep, timeout, TimeoutError } from "@aio/aio";
 * await run(function* () {
 *   try {
 *     yield* timeout(1000, function* () {
 *       yield* sleep(60_000);
 *     });
 *   } catch (e) {
 *     console.log(e instanceof TimeoutError); // true, after one second
 *   }
 * }, { clock: "virtual" });
 * ```
 *
 * @category Combinators
 */
export function timeout<T>(ms: number | null, body: TimeoutBody<T>): Coroutine<T> {
  const delay = checkTimeout(ms, "timeout() delay");
  checkBody(body, "timeout()");
  return timeoutScope(delay, true, body, "timeout()");
}

/**
 * Like {@linkcode timeout}, with the deadline given as loop time `when` (ms,
 * as `loop.time()`), or `null` for none. asyncio's `timeout_at(when)`.
 *
 * @example
 * ```ts
 * import { getRunningLoop, run, sleep, timeoutAt } from "@aio/aio";
 * await run(function* () {
 *   const loop = getRunningLoop();
 *   const deadline = loop.time() + 250;
 *   try {
 *     yield* timeoutAt(deadline, sleep(1000));
 *   } catch (e) {
 *     console.log((e as Error).name, loop.time()); // "TimeoutError" 250
 *   }
 * }, { clock: "virtual" });
 * ```
 *
 * @category Combinators
 */
export function timeoutAt<T>(when: number | null, body: TimeoutBody<T>): Coroutine<T> {
  if (when !== null && (typeof when !== "number" || Number.isNaN(when))) {
    throw new TypeError(`timeoutAt() needs a loop time in ms or null, got ${describe(when)}`);
  }
  checkBody(body, "timeoutAt()");
  return timeoutScope(when, false, body, "timeoutAt()");
}
