/**
 * `toThread`: run a blocking function off the event loop, like
 * `asyncio.to_thread`.
 *
 * @module
 */
import type { JobFunction, JobResult, WorkerFunction } from "./executor/function.ts";
import type { Future } from "./future.ts";
import { getRunningLoop } from "./running.ts";
// The default executor's factory is registered by the pool module.
import "./executor/pool.ts";

/**
 * Runs `fn(...args)` on the running loop's default executor (a
 * `WorkerPoolExecutor` made on first use and shut down by `run()`), and
 * returns a future of its result: `yield* toThread(fn, …)` in a coroutine.
 * Deno has no threads sharing memory, so `fn` runs in a worker: it must be
 * self-contained (or a `workerFunction`), and arguments and result are
 * cloned. Outside a running loop: `RuntimeError`.
 *
 * Unlike `asyncio.to_thread`, the result is a future, not a coroutine, so it
 * can also go straight into `gather` or `wait`.
 *
 * @example
 * ```ts ignore
 * import { run, toThread } from "@aio/aio";
 * const bytes = await run(function* () {
 *   return yield* toThread((path: string) => Deno.readFileSync(path).length, "/etc/hostname");
 * });
 * console.log(bytes > 0); // true
 * ```
 *
 * @category Executors
 */
export function toThread<F extends JobFunction>(
  fn: F | WorkerFunction<F>,
  ...args: Parameters<F>
): Future<JobResult<ReturnType<F>>> {
  return getRunningLoop().runInExecutor(null, fn as JobFunction, ...args) as Future<
    JobResult<ReturnType<F>>
  >;
}
