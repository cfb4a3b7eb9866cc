/**
 * `sleep`: suspend the current task for a while.
 *
 * @module
 */
import type { Future } from "./future.ts";
import { getRunningLoop } from "./running.ts";
import type { Coroutine } from "./task.ts";
import { checkDelay } from "./util.ts";

function resolveUnlessCancelled<T>(fut: Future<T>, value: T): void {
  if (!fut.done()) fut.setResult(value);
}

function* sleepFor<T>(ms: number, result: T): Coroutine<T> {
  if (ms <= 0) {
    // asyncio.sleep(0): give every other ready task one turn.
    yield;
    return result;
  }
  const loop = getRunningLoop();
  const fut = loop.createFuture<T>();
  if (ms === Infinity) {
    // Forever: no timer, so nothing can fire it (the virtual clock would
    // otherwise jump to an infinite deadline and wake it). Only cancellation
    // ends this sleep.
    return yield* fut;
  }
  const h = loop.callLater(ms, resolveUnlessCancelled, fut, result);
  try {
    return yield* fut;
  } finally {
    h.cancel();
  }
}

/**
 * Suspends the current task for `ms` milliseconds (fractions allowed,
 * negatives act as 0), then evaluates to `result`. `sleep(0)` gives every
 * other ready task one turn, like a bare `yield`; `sleep(Infinity)` sleeps
 * until cancelled. Cancelling the task cancels the sleep and its timer. A
 * `NaN` or non-number delay is a `TypeError`, thrown at the call.
 *
 * @example
 * ```ts
 * import { getRunningLoop, run, sleep } from "@aio/aio";
 * await run(function* () {
 *   const loop = getRunningLoop();
 *   const t0 = loop.time();
 *   const v = yield* sleep(1500, "rested");
 *   console.log(v, loop.time() - t0); // "rested" 1500
 * }, { clock: "virtual" });
 * ```
 *
 * @category Tasks and futures
 */
export function sleep<T = undefined>(ms: number, result?: T): Coroutine<T> {
  return sleepFor(checkDelay(ms, "sleep() delay"), result as T);
}
