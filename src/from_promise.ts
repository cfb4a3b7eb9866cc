/**
 * `fromPromise`: bring a promise into the loop as a cancellable future.
 *
 * @module
 */
import { CancelledError } from "./errors.ts";
import { Future } from "./future.ts";
import type { EventLoop } from "./loop.ts";
import { getRunningLoop } from "./running.ts";
import { describe } from "./util.ts";

/**
 * A future settled by a promise from outside the loop. While the promise is
 * out, the loop counts it as in flight (the virtual clock waits for it);
 * cancelling the future, or closing the loop, releases it at once and aborts
 * the producer's signal synchronously.
 */
class PromiseFuture<T> extends Future<T> {
  #controller: AbortController | null;
  #inflight = true;

  constructor(loop: EventLoop, controller: AbortController | null) {
    super(loop);
    this.#controller = controller;
    loop._beginExternal(this);
  }

  /** Ends the loop's wait for the promise; idempotent. */
  release(): void {
    if (this.#inflight) {
      this.#inflight = false;
      this._loop!._endExternal(this);
    }
  }

  /** An implementation detail: users see a plain Future. */
  override _kind(): string {
    return "Future";
  }

  override _doCancel(msg: string | undefined): void {
    super._doCancel(msg);
    this.release();
    this.#controller?.abort(new CancelledError(msg ?? "fromPromise future was cancelled"));
  }
}

/**
 * A future on the running loop settled by a promise. Pass a function
 * `(signal) => promise` to get cancellation: cancelling the future aborts the
 * `AbortSignal` handed to it, so `fetch` and friends stop. While the promise
 * is pending the virtual clock does not jump (the loop waits for it). When the
 * loop closes (at the end of `run()`) a still-pending one is cancelled, so
 * nothing outlives the loop.
 *
 * @example
 * ```ts
 * import { fromPromise, run } from "@aio/aio";
 * await run(function* () {
 *   const body = yield* fromPromise(Promise.resolve("hello"));
 *   console.log(body); // "hello"
 *   const slow = fromPromise((signal) =>
 *     new Promise((resolve, reject) => {
 *       const t = setTimeout(resolve, 10_000);
 *       signal.addEventListener("abort", () => {
 *         clearTimeout(t);
 *         reject(signal.reason);
 *       });
 *     })
 *   );
 *   slow.cancel(); // aborts the signal: the host timer is cleared
 * });
 * ```
 *
 * @category Tasks and futures
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
  const fut = new PromiseFuture<T>(loop, controller);
  promise.then(
    (value) => {
      fut.release();
      if (!fut.done()) fut.setResult(value);
    },
    (error) => {
      fut.release();
      if (!fut.done()) fut.setException(error ?? new Error(`promise rejected with ${error}`));
    },
  );
  return fut;
}
