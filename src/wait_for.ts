/**
 * `waitFor`: await one thing with a time limit, cancelling it when the limit
 * passes.
 *
 * @module
 */
import { checkAwaitable, checkLoop, checkTimeout, toFuture } from "./awaitables.ts";
import { CancelledError, TimeoutError } from "./errors.ts";
import { Future, PENDING } from "./future.ts";
import { getRunningLoop } from "./running.ts";
import type { Awaitable, Coroutine } from "./task.ts";
import { timeoutScope } from "./timeout.ts";

function releaseWaiter(waiter: Future<void>): void {
  if (waiter._state === PENDING) waiter._doSetResult(undefined);
}

/** Cancels `fut` and waits until it is done, without awaiting `fut` itself. */
function* cancelAndWait(fut: Future<unknown>): Coroutine<void> {
  const waiter = getRunningLoop().createFuture<void>();
  const cb = () => releaseWaiter(waiter);
  fut.addDoneCallback(cb);
  try {
    fut.cancel();
    // Waiting on a separate future keeps this coroutine itself cancellable.
    yield* waiter;
  } finally {
    fut.removeDoneCallback(cb);
  }
}

function* waitForNow<T>(aw: Awaitable<T>): Coroutine<T> {
  const fut = toFuture(aw, getRunningLoop(), "waitFor()");
  if (fut.done()) return fut.result();
  yield* cancelAndWait(fut);
  try {
    // It may have caught the cancellation and returned a value anyway.
    return fut.result();
  } catch (e) {
    if (e instanceof CancelledError) {
      throw new TimeoutError("waitFor() timed out after 0 ms", { cause: e });
    }
    throw e;
  }
}

function* waitForever<T>(aw: Awaitable<T>): Coroutine<T> {
  if (aw instanceof Future) checkLoop(aw, getRunningLoop(), "waitFor()");
  return yield* aw;
}

/**
 * Waits for `aw` (a future, task or coroutine) for at most `timeoutMs`
 * milliseconds and evaluates to its result. asyncio's `wait_for(aw, timeout)`.
 *
 * When the time is up, `aw` is cancelled and `waitFor` waits until it has
 * actually finished (its `finally` blocks ran), then throws a
 * `TimeoutError` whose `cause` is the `CancelledError`. If `aw` catches the
 * cancellation and returns a value, that value is the result. Wrap `aw` in
 * {@linkcode shield} to time out without cancelling it.
 *
 * A coroutine runs inline in the calling task, as in asyncio 3.12+; with a
 * timeout ≤ 0 it never starts. `null` means no limit. Negative timeouts act
 * as 0; `NaN` is a `TypeError`, as is an `aw` that is not awaitable (thrown
 * at the call). Cancelling the waiting task cancels `aw` too.
 *
 * @example
 * ```ts
 * import { run, sleep, TimeoutError, waitFor } from "@aio/aio";
 * await run(function* () {
 *   try {
 *     yield* waitFor(sleep(3_600_000), 1000);
 *   } catch (e) {
 *     console.log(e instanceof TimeoutError); // true: the sleep was cancelled
 *   }
 *   console.log(yield* waitFor(sleep(10, "quick"), 1000)); // "quick"
 * }, { clock: "virtual" });
 * ```
 *
 * @category Combinators
 */
export function waitFor<T>(aw: Awaitable<T>, timeoutMs: number | null): Coroutine<T> {
  checkAwaitable(aw, "waitFor()");
  const t = checkTimeout(timeoutMs, "waitFor() timeout");
  if (t === null) return waitForever(aw);
  if (t <= 0) return waitForNow(aw);
  return timeoutScope(t, true, aw, "waitFor()");
}
