/**
 * `taskSignal()`: the current task's cancellation as an `AbortSignal`, so
 * that Deno's own APIs (`fetch`, `Deno.Command`, `WebSocketStream`, ...)
 * stop with the task.
 *
 * A task's controller is made on the first `taskSignal()` call in it and
 * kept in the task's `_signalController` field, which is `null` for every
 * task that never asks: `Task.cancel()` checks that one field and calls
 * {@linkcode abortTaskSignal}, so other tasks pay one comparison per cancel.
 * This module alone makes and aborts the controllers.
 *
 * @module
 */
import { CancelledError, RuntimeError } from "./errors.ts";
import { peekRunningLoop } from "./running.ts";

/**
 * An `AbortSignal` that aborts when the current task is cancelled, with a
 * `CancelledError` (carrying the `cancel(msg)` message) as its `reason`.
 * Pass it to `fetch`, `Deno.Command`, `WebSocketStream` and the rest of the
 * platform so that every later step, a response body read too, stops with
 * the task.
 *
 * It aborts at the `task.cancel()` call itself, before the task sees its
 * `CancelledError` at the next step: a request in flight is torn down at
 * once. Every call in the same task returns the same signal. It aborts once:
 * a task that catches the cancellation and calls `uncancel()` keeps an
 * aborted signal, and no later work in that task can use it. A task that
 * finishes without being cancelled never aborts it. If the task already has
 * a cancellation request when `taskSignal()` is first called, the signal is
 * aborted already.
 *
 * @returns the current task's signal.
 * @throws {RuntimeError} when called outside a task (a plain callback, or no
 * running loop).
 *
 * @example
 * ```ts ignore
 * import { fromPromise, run, taskSignal, waitFor } from "@aio/aio";
 * function* download(url: string) {
 *   const signal = taskSignal();
 *   const res = yield* fromPromise(fetch(url, { signal }));
 *   return yield* fromPromise(res.text()); // the body read stops too
 * }
 * await run(function* () {
 *   // After 5 s the task is cancelled and the request aborted on the spot.
 *   const page = yield* waitFor(download("https://example.com/"), 5000);
 *   console.log(page.length);
 * });
 * ```
 *
 * @category Tasks and futures
 */
export function taskSignal(): AbortSignal {
  const task = peekRunningLoop()?._currentTask ?? null;
  if (task === null) {
    throw new RuntimeError(
      "taskSignal() must be called from a task (a coroutine run by run() or createTask()), " +
        "not from a plain callback or outside a running loop",
    );
  }
  let controller = task._signalController;
  if (controller === null) {
    controller = task._signalController = new AbortController();
    // A cancellation requested before the first call counts.
    if (task._numCancelsRequested > 0) abortTaskSignal(controller, task._cancelMessage);
  }
  return controller.signal;
}

/** @internal `Task.cancel()` was called on a task that made a signal: abort it. */
export function abortTaskSignal(controller: AbortController, msg: string | undefined): void {
  // Only the first request aborts (and runs the signal's listeners, which
  // abort() calls synchronously). A real error, stack and all, as this path
  // is rare: the stack shows where the task was cancelled.
  if (!controller.signal.aborted) controller.abort(new CancelledError(msg));
}
