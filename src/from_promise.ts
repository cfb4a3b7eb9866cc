/**
 * `fromPromise`: bring a promise into the loop as a cancellable future.
 *
 * @module
 */
import { CancelledError } from "./errors.ts";
import type { Future } from "./future.ts";
import { getRunningLoop } from "./running.ts";
import { describe } from "./util.ts";

/**
 * A future on the running loop settled by a promise. Pass a function
 * `(signal) => promise` to get cancellation: cancelling the future aborts the
 * `AbortSignal` handed to it, so `fetch` and friends stop. While the promise
 * is pending the virtual clock does not jump (the loop waits for it).
 *
 * @example
 * ```ts
 * import { fromPromise, run, waitFor } from "@aio/aio";
 * await run(function* () {
 *   const body = yield* fromPromise(Promise.resolve("hello"));
 *   console.log(body); // "hello"
 *   const slow = fromPromise((signal) =>
 *     new Promise((resolve, reject) => {
 *       const t = setTimeout(resolve, 10_000);
 *       signal.addEventListener("abort", () => { clearTimeout(t); reject(signal.reason); });
 *     })
 *   );
 *   slow.cancel(); // aborts the signal: the host timer is cleared
 * });
 * ```
 */
export function fromPromise<T>(
  source: PromiseLike<T> | ((signal: AbortSignal) => PromiseLike<T>),
): Future<T> {
  const loop = getRunningLoop();
  let controller: AbortController | null = null;
  let promise: PromiseLike<T>;
  if (typeof source === "function") {
    controller = new AbortController();
    promise = source(controller.signal);
  } else {
    promise = source;
  }
  if (
    promise === null || typeof promise !== "object" && typeof promise !== "function" ||
    typeof promise.then !== "function"
  ) {
    throw new TypeError(
      `fromPromise() expects a promise or a function returning one, got ${describe(promise)}`,
    );
  }
  const fut = loop.createFuture<T>();
  let inflight = true;
  const settled = () => {
    if (inflight) {
      inflight = false;
      loop._endExternal();
    }
  };
  loop._beginExternal();
  promise.then(
    (value) => {
      settled();
      if (!fut.done() && !loop.isClosed()) fut.setResult(value);
    },
    (error) => {
      settled();
      if (!fut.done() && !loop.isClosed()) {
        fut.setException(error ?? new Error(`promise rejected with ${error}`));
      }
    },
  );
  fut.addDoneCallback((f) => {
    if (!f.cancelled()) return;
    // The loop stops waiting for a promise nobody wants any more.
    settled();
    controller?.abort(new CancelledError(f._cancelMessage ?? "fromPromise future was cancelled"));
  });
  return fut;
}
