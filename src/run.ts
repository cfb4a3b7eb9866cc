/**
 * `run`: the entry point, asyncio's `asyncio.run()`.
 *
 * @module
 */
import { RuntimeError } from "./errors.ts";
import { EventLoop, type EventLoopOptions } from "./loop.ts";
import { peekRunningLoop } from "./running.ts";
import { type Coroutine, toCoroutine } from "./task.ts";

/**
 * Creates an event loop, runs `main` (a coroutine or a coroutine function)
 * as a task until it is done, cancels every task still pending and waits for
 * them, shuts down the default executor, closes the loop, and returns
 * `main`'s result (or rejects with its error). Nothing is left behind: no host
 * timer, no worker, no pending task.
 *
 * Calling `run` from a callback or task of a running loop is a
 * `RuntimeError` (thrown, not returned as a rejection).
 *
 * @example
 * ```ts
 * import { run, sleep } from "@aio/aio";
 * const answer = await run(function* () {
 *   yield* sleep(10);
 *   return 42;
 * });
 * console.log(answer); // 42
 * ```
 */
export function run<T>(
  main: Coroutine<T> | (() => Coroutine<T>),
  options?: EventLoopOptions,
): Promise<T> {
  if (peekRunningLoop() !== null) {
    throw new RuntimeError(
      "run() cannot be called from a running event loop; use yield* or createTask() instead",
    );
  }
  const loop = new EventLoop(options);
  let coro: Coroutine<T>;
  try {
    coro = toCoroutine(main, "run()");
  } catch (e) {
    loop.close();
    throw e;
  }
  return runMain(loop, coro);
}

async function runMain<T>(loop: EventLoop, coro: Coroutine<T>): Promise<T> {
  try {
    return await loop.runUntilComplete(loop.createTask(coro));
  } finally {
    try {
      await cancelAllTasks(loop);
      await loop._closeResources();
      await loop.shutdownDefaultExecutor();
    } finally {
      loop.close();
    }
  }
}

async function cancelAllTasks(loop: EventLoop): Promise<void> {
  const tasks = loop._pendingTasks();
  if (tasks.size === 0) return;
  for (const t of tasks) t.cancel();
  const all = loop.createFuture<void>();
  let left = tasks.size;
  const one = () => {
    if (--left === 0) all.setResult(undefined);
  };
  for (const t of tasks) t.addDoneCallback(one);
  await loop.runUntilComplete(all);
  for (const t of tasks) {
    if (t.cancelled()) continue;
    const exception = t.exception();
    if (exception !== undefined) {
      loop.callExceptionHandler({
        message: "unhandled exception during run() shutdown",
        exception,
        task: t,
      });
    }
  }
}
