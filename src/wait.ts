/**
 * `wait`: wait for some or all of a set of futures, without cancelling or
 * raising anything.
 *
 * @module
 */
import { checkLoop, checkTimeout } from "./awaitables.ts";
import { copyContext } from "./context.ts";
import { ValueError } from "./errors.ts";
import { CANCELLED, Future, PENDING } from "./future.ts";
import { followedBy } from "./_graph_links.ts";
import type { TimerHandle } from "./loop.ts";
import { getRunningLoop } from "./running.ts";
import type { Coroutine } from "./task.ts";
import { describe, isCoroutine } from "./util.ts";

/**
 * `wait()` returns as soon as any future finishes or is cancelled.
 *
 * @example
 * ```ts
 * import { createTask, FIRST_COMPLETED, run, sleep, wait } from "@aio/aio";
 * await run(function* () {
 *   const fast = createTask(sleep(10, "fast"));
 *   const slow = createTask(sleep(1000, "slow"));
 *   const [done, pending] = yield* wait([fast, slow], { returnWhen: FIRST_COMPLETED });
 *   console.log(done.has(fast), pending.has(slow)); // true true
 *   slow.cancel();
 * });
 * ```
 *
 * @category Combinators
 */
export const FIRST_COMPLETED = "FIRST_COMPLETED";
/**
 * `wait()` returns as soon as any future fails (is done with an exception),
 * or when all are done.
 *
 * @example
 * ```ts
 * import { createTask, FIRST_EXCEPTION, run, sleep, wait } from "@aio/aio";
 * await run(function* () {
 *   const bad = createTask((function* () { throw new Error("boom"); })());
 *   const slow = createTask(sleep(1000));
 *   const [done] = yield* wait([bad, slow], { returnWhen: FIRST_EXCEPTION });
 *   console.log(done.has(bad)); // true
 *   slow.cancel();
 *   bad.exception(); // seen: not reported as never retrieved
 * });
 * ```
 *
 * @category Combinators
 */
export const FIRST_EXCEPTION = "FIRST_EXCEPTION";
/**
 * `wait()` returns when every future is done (the default).
 *
 * @example
 * ```ts
 * import { ALL_COMPLETED, createTask, run, sleep, wait } from "@aio/aio";
 * await run(function* () {
 *   const [done, pending] = yield* wait([createTask(sleep(5))], { returnWhen: ALL_COMPLETED });
 *   console.log(done.size, pending.size); // 1 0
 * });
 * ```
 *
 * @category Combinators
 */
export const ALL_COMPLETED = "ALL_COMPLETED";

/**
 * When {@linkcode wait} returns.
 *
 * @category Combinators
 */
export type ReturnWhen = typeof FIRST_COMPLETED | typeof FIRST_EXCEPTION | typeof ALL_COMPLETED;

/**
 * Options for {@linkcode wait}.
 *
 * @category Combinators
 */
export interface WaitOptions {
  /**
   * Return after this many ms even if the condition is not met (the
   * futures still pending are in the second set). `null` (default): no limit.
   */
  timeout?: number | null;
  /** `FIRST_COMPLETED`, `FIRST_EXCEPTION` or `ALL_COMPLETED` (default). */
  returnWhen?: ReturnWhen;
}

function releaseWaiter(waiter: Future<void>): void {
  if (waiter._state === PENDING) waiter._doSetResult(undefined);
}

/**
 * Waits for the futures and tasks in `aws` until `returnWhen` is met or
 * `timeout` ms pass, and evaluates to `[done, pending]`: two sets of the
 * given futures. asyncio's `wait(aws, timeout=..., return_when=...)`.
 *
 * A timeout neither throws nor cancels anything: what is still running is
 * in `pending`. Cancelling the waiting task does not cancel the futures.
 * Duplicates count once.
 *
 * Bad input throws at the call: an empty `aws` or an unknown `returnWhen` is
 * a `ValueError`; a coroutine in `aws` is a `TypeError` (wrap it with
 * `createTask`, as asyncio requires since 3.11), as is anything else that is
 * not a future; a future of another loop is a `ValueError` when the wait
 * starts.
 *
 * @example
 * ```ts
 * import { createTask, getRunningLoop, run, sleep, wait } from "@aio/aio";
 * await run(function* () {
 *   const a = createTask(sleep(100, "a"));
 *   const b = createTask(sleep(300, "b"));
 *   const [done, pending] = yield* wait([a, b], { timeout: 200 });
 *   console.log(done.has(a), pending.has(b), getRunningLoop().time()); // true true 200
 *   b.cancel();
 * }, { clock: "virtual" });
 * ```
 *
 * @category Combinators
 */
export function wait<F extends Future<unknown>>(
  aws: Iterable<F>,
  options?: WaitOptions,
): Coroutine<[done: Set<F>, pending: Set<F>]> {
  if (
    aws instanceof Future || isCoroutine(aws) || aws === null ||
    typeof (aws as Iterable<F>)?.[Symbol.iterator] !== "function" || typeof aws === "string"
  ) {
    throw new TypeError(`wait() expects an iterable of Futures or Tasks, got ${describe(aws)}`);
  }
  const timeout = checkTimeout(options?.timeout, "wait() timeout");
  const returnWhen = options?.returnWhen ?? ALL_COMPLETED;
  if (
    returnWhen !== FIRST_COMPLETED && returnWhen !== FIRST_EXCEPTION &&
    returnWhen !== ALL_COMPLETED
  ) {
    throw new ValueError(
      `wait(): invalid returnWhen ${
        describe(returnWhen)
      }; use FIRST_COMPLETED, FIRST_EXCEPTION or ALL_COMPLETED`,
    );
  }
  const fs = new Set(aws);
  if (fs.size === 0) throw new ValueError("wait() needs at least one Future or Task; got none");
  for (const f of fs) {
    if (f instanceof Future) continue;
    if (isCoroutine(f)) {
      throw new TypeError(
        "wait(): passing coroutines is forbidden, wrap them in tasks with createTask()",
      );
    }
    throw new TypeError(`wait() expects Futures or Tasks, got ${describe(f)}`);
  }
  return waitImpl(fs, timeout, returnWhen);
}

function* waitImpl<F extends Future<unknown>>(
  fs: Set<F>,
  timeout: number | null,
  returnWhen: ReturnWhen,
): Coroutine<[Set<F>, Set<F>]> {
  const loop = getRunningLoop();
  for (const f of fs) checkLoop(f, loop, "wait()");
  const waiter = loop.createFuture<void>();
  followedBy.set(waiter, { kind: "wait", futures: fs });
  let handle: TimerHandle | null = null;
  if (timeout !== null) handle = loop.callLater(timeout, releaseWaiter, waiter);
  let counter = fs.size;
  const onCompletion = (f: Future<unknown>) => {
    counter--;
    if (
      counter <= 0 || returnWhen === FIRST_COMPLETED ||
      returnWhen === FIRST_EXCEPTION && f._state !== CANCELLED && f.exception() !== undefined
    ) {
      handle?.cancel();
      releaseWaiter(waiter);
    }
  };
  const cbOptions = { context: copyContext() };
  for (const f of fs) f.addDoneCallback(onCompletion, cbOptions);
  try {
    yield* waiter;
  } finally {
    handle?.cancel();
    for (const f of fs) f.removeDoneCallback(onCompletion);
  }
  const done = new Set<F>();
  const pending = new Set<F>();
  for (const f of fs) (f._state !== PENDING ? done : pending).add(f);
  return [done, pending];
}
