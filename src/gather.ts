/**
 * `gather`: run awaitables concurrently and collect their results in order.
 *
 * @module
 */
import {
  type AwaitableResult,
  checkAwaitable,
  checkLoop,
  loopFor,
  toFuture,
} from "./awaitables.ts";
import { copyContext } from "./context.ts";
import { makeCancelledError } from "./errors.ts";
import { CANCELLED, Future, PENDING } from "./future.ts";
import type { EventLoop } from "./loop.ts";
import type { Awaitable } from "./task.ts";
import { describe, isCoroutine } from "./util.ts";

/**
 * The result of `gather(aws)`: a tuple with, at each position, what the
 * awaitable at that position evaluates to.
 *
 * @category Combinators
 */
export type GatherResults<T extends readonly unknown[]> = {
  -readonly [K in keyof T]: AwaitableResult<T[K]>;
};

/**
 * The result of `gather(aws, { returnExceptions: true })`: each position
 * holds the awaitable's result or the error it failed with (a
 * `CancelledError` for one that was cancelled). A thrown non-`Error` value
 * sits in its slot as it was thrown.
 *
 * @category Combinators
 */
export type GatherSettledResults<T extends readonly unknown[]> = {
  -readonly [K in keyof T]: AwaitableResult<T[K]> | Error;
};

/**
 * Options for {@linkcode gather}.
 *
 * @category Combinators
 */
export interface GatherOptions {
  /**
   * Put errors (and `CancelledError`s) in the result array instead of
   * failing the gather with the first one. Default `false`.
   */
  returnExceptions?: boolean;
}

/**
 * The future `gather` returns. Cancelling it cancels every child that is
 * still pending; it then fails with a `CancelledError` carrying the message
 * given to `cancel`, even with `returnExceptions`.
 */
class GatheringFuture<T> extends Future<T> {
  /** The future for each argument, duplicates included. */
  _children: Future<unknown>[];
  /** What `_nfinished` counts up to: a pending child once, a finished one each time it was given. */
  _unique: Future<unknown>[];
  _returnExceptions: boolean;
  _nfinished = 0;
  _cancelRequested = false;
  _cancelMsg: string | undefined = undefined;

  constructor(
    loop: EventLoop,
    children: Future<unknown>[],
    unique: Future<unknown>[],
    returnExceptions: boolean,
  ) {
    super(loop);
    this._children = children;
    this._unique = unique;
    this._returnExceptions = returnExceptions;
  }

  /**
   * Cancels every child that is still pending; returns whether any was.
   * Like `Task.cancel`, the gather is not cancelled at once: it fails with a
   * `CancelledError` once its children have finished.
   */
  override cancel(msg?: string): boolean {
    if (this._state !== PENDING) return false;
    let ret = false;
    const unique = this._unique;
    for (let i = 0; i < unique.length; i++) {
      if (unique[i].cancel(msg)) ret = true;
    }
    if (ret) {
      // Even with returnExceptions the caller asked for cancellation and
      // must get it (CPython issue 32684).
      this._cancelRequested = true;
      this._cancelMsg = msg;
    }
    return ret;
  }

  /** The done callback shared by every child. */
  _onChildDone(child: Future<unknown>): void {
    this._nfinished++;
    if (this._state !== PENDING) {
      // Too late to matter; mark the failure as seen so it is not reported.
      if (child._state !== CANCELLED) child.exception();
      return;
    }
    if (!this._returnExceptions) {
      if (child._state === CANCELLED) {
        // A child cancelled on its own fails the gather; the gather itself
        // is not cancelled, so its siblings keep running.
        this._doSetException(child._makeCancelledError());
        return;
      }
      const exc = child.exception();
      if (exc !== undefined) {
        this._doSetException(exc);
        return;
      }
    }
    if (this._nfinished !== this._unique.length) return;
    if (this._cancelRequested) {
      this._doSetException(makeCancelledError(this._cancelMsg, this._loop!._debug));
      // The caller cancelled it; a CancelledError nobody awaited is no
      // failure worth reporting.
      this._retrieved();
      return;
    }
    const children = this._children;
    const results = new Array(children.length);
    for (let i = 0; i < children.length; i++) {
      const c = children[i];
      if (c._state === CANCELLED) results[i] = c._makeCancelledError();
      else {
        const exc = c.exception();
        results[i] = exc !== undefined ? exc : c._result;
      }
    }
    this._doSetResult(results as T);
  }
}

/**
 * @internal The futures a gather's outer future follows, or null if `f` is
 * not one (for introspection, graph.ts).
 */
export function gatheringChildren(f: Future<unknown>): Future<unknown>[] | null {
  return f instanceof GatheringFuture ? f._unique : null;
}

/**
 * Runs `aws` concurrently (coroutines are wrapped in tasks) and returns a
 * future of their results, in the order of `aws`, typed as a tuple. asyncio's
 * `gather(*aws, return_exceptions=...)`.
 *
 * - The first error fails the gather at once; the other awaitables are
 *   **not** cancelled and keep running.
 * - With `returnExceptions: true`, errors (and `CancelledError`s) take their
 *   slot in the results instead.
 * - Cancelling the returned future cancels every child still pending and
 *   makes it fail with a `CancelledError` carrying the message.
 * - A child cancelled on its own is a `CancelledError` result (or fails the
 *   gather with one); the gather itself is not cancelled.
 * - The same awaitable given twice runs once and fills both slots. An empty
 *   array gives `[]`.
 *
 * Anything that is not a Future, Task or coroutine is a `TypeError` naming
 * it; a future of another loop is a `ValueError`. Both are thrown before any
 * task is created.
 *
 * @example
 * ```ts
 * import { gather, getRunningLoop, run, sleep } from "@aio/aio";
 * await run(function* () {
 *   const loop = getRunningLoop();
 *   const [a, b] = yield* gather([sleep(5000, "a"), sleep(5000, 2)]);
 *   console.log(a, b, loop.time()); // "a" 2 5000: five seconds, not ten
 * }, { clock: "virtual" });
 * ```
 *
 * @category Combinators
 */
export function gather<const T extends readonly Awaitable<unknown>[]>(
  aws: T,
  options?: GatherOptions & { returnExceptions?: false },
): Future<GatherResults<T>>;
/**
 * With `returnExceptions: true`: errors take their slot in the results
 * instead of failing the gather.
 *
 * @example
 * ```ts
 * import { gather, run } from "@aio/aio";
 * await run(function* () {
 *   function* boom(): Generator<never, number> {
 *     throw new RangeError("no");
 *   }
 *   const [r, e] = yield* gather([boom(), boom()], { returnExceptions: true });
 *   console.log(r instanceof RangeError, e instanceof RangeError); // true true
 * });
 * ```
 *
 * @category Combinators
 */
export function gather<const T extends readonly Awaitable<unknown>[]>(
  aws: T,
  options: GatherOptions & { returnExceptions: true },
): Future<GatherSettledResults<T>>;
/**
 * Any options, decided at run time.
 *
 * @example
 * ```ts
 * import { gather, run, sleep } from "@aio/aio";
 * const settle = Math.random() < 2;
 * await run(function* () {
 *   console.log(yield* gather([sleep(1, 1)], { returnExceptions: settle })); // [1]
 * });
 * ```
 *
 * @category Combinators
 */
export function gather<const T extends readonly Awaitable<unknown>[]>(
  aws: T,
  options?: GatherOptions,
): Future<GatherResults<T> | GatherSettledResults<T>>;
export function gather(aws: readonly unknown[], options?: GatherOptions): Future<unknown[]> {
  if (!Array.isArray(aws)) {
    throw new TypeError(
      `gather() expects an array of Futures, Tasks or coroutines, got ${describe(aws)}${
        aws instanceof Future || isCoroutine(aws) ? ": wrap it in an array" : ""
      }`,
    );
  }
  const returnExceptions = Boolean(options?.returnExceptions);
  const n = aws.length;
  if (n === 0) {
    const empty = new Future<unknown[]>();
    empty._doSetResult([]);
    return empty;
  }
  // The messages are built only on failure: a string per child was a
  // measurable part of gathering thousands of futures.
  for (let i = 0; i < n; i++) {
    const x = aws[i];
    if (!(x instanceof Future) && !isCoroutine(x)) {
      checkAwaitable(x, `gather() argument ${i}`);
    }
  }
  const loop = loopFor(aws);
  // Validate every future's loop before creating any task, so that a bad
  // argument leaves nothing running behind.
  for (let i = 0; i < n; i++) {
    const x = aws[i];
    if (x instanceof Future && x._loop !== loop) checkLoop(x, loop, `gather() argument ${i}`);
  }

  const children = new Array<Future<unknown>>(n);
  const unique: Future<unknown>[] = [];
  const outer = new GatheringFuture<unknown[]>(loop, children, unique, returnExceptions);
  // One callback and one context for all children: no closure per child.
  const onChildDone = (f: Future<unknown>) => outer._onChildDone(f);
  const cbOptions = { context: copyContext() };
  // An awaitable given twice is one child. A pending future registered last
  // with `onChildDone` was seen already, which needs no Map for the common
  // case (futures and tasks); coroutines are rarer. A finished future needs
  // no deduplication: given twice it counts twice in `unique` and in
  // `_nfinished` alike (eagerly started tasks are often all finished).
  let coros: Map<unknown, Future<unknown>> | null = null;
  let done: Future<unknown>[] | null = null;
  for (let i = 0; i < n; i++) {
    const x = aws[i];
    let fut: Future<unknown> | undefined;
    if (x instanceof Future) {
      fut = x;
      if (fut._state === PENDING) {
        if (fut._lastRegistration() === onChildDone) {
          children[i] = fut;
          continue;
        }
        fut.addDoneCallback(onChildDone, cbOptions);
      } else {
        (done ??= []).push(fut);
      }
    } else {
      fut = coros?.get(x);
      if (fut !== undefined) {
        children[i] = fut;
        continue;
      }
      fut = toFuture(x as Awaitable<unknown>, loop, "gather()");
      (coros ??= new Map()).set(x, fut);
      fut.addDoneCallback(onChildDone, cbOptions);
    }
    children[i] = fut;
    unique.push(fut);
  }
  // Children that were already done count at once (CPython 3.12+): if all
  // were, the gather is done before it is returned.
  if (done !== null) { for (let i = 0; i < done.length; i++) outer._onChildDone(done[i]); }
  return outer;
}
