/**
 * `run`: the entry point, asyncio's `asyncio.run()`: a {@linkcode Runner}
 * used once.
 *
 * @module
 */
import { RuntimeError } from "./errors.ts";
import { Future } from "./future.ts";
import { peekRunningLoop } from "./running.ts";
import { Runner, type RunOptions } from "./runner.ts";
import { type Coroutine, toCoroutine } from "./task.ts";
import { describe } from "./util.ts";

export type { RunOptions } from "./runner.ts";

/**
 * Creates an event loop, runs `main` (a coroutine, a coroutine function, or
 * a future not bound to another loop) as a task until it is done, cancels
 * every task still pending and waits for them, closes the I/O resources
 * still open, shuts down the default executor, closes the loop, and returns
 * `main`'s result (or rejects with its error). Nothing is left behind: no
 * host timer, no worker, no pending task. It is `new Runner(options)`, one
 * `runner.run(main)` and `runner.close()` (asyncio's `run()` is the same
 * shortcut).
 *
 * Ctrl-C is handled as asyncio's `Runner` handles it: while `main` runs, the
 * first SIGINT cancels the main task (its `finally` blocks run, then every
 * other task is cancelled as at any end of `run()`) and `run()` rejects with
 * {@linkcode KeyboardInterrupt}; a second SIGINT exits at once with code 130.
 * If `main` catches that cancellation and returns anyway, `run()` returns
 * its result, as asyncio's does; if something else cancelled the main task
 * too, `run()` rejects with the `CancelledError`. A SIGINT handler added with
 * `loop.addSignalHandler()` takes precedence while it is registered (as in
 * asyncio, where it replaces the runner's). Only the main thread's first
 * `run()` in progress listens, and only while `main` runs; nothing is left
 * listening afterwards. `{ handleSigint: false }` turns it off.
 *
 * `main` runs in a copy of the caller's context.
 *
 * Calling `run` from a callback or task of a running loop is a
 * `RuntimeError`, and a `main` of the wrong kind a `TypeError` (thrown, not
 * returned as a rejection).
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
 *
 * @category Running
 */
export function run<T>(
  main: Coroutine<T> | (() => Coroutine<T>) | Future<T>,
  options?: RunOptions,
): Promise<T> {
  if (peekRunningLoop() !== null) {
    throw new RuntimeError(
      "run() cannot be called from a running event loop; use yield* or createTask() instead",
    );
  }
  // run()'s own checks first, so that their messages name run().
  const handleSigint = options?.handleSigint;
  if (handleSigint !== undefined && typeof handleSigint !== "boolean") {
    throw new TypeError(`run(): handleSigint must be a boolean, got ${describe(handleSigint)}`);
  }
  const aw = main instanceof Future ? main : toCoroutine(main, "run()");
  const runner = new Runner(options);
  let result: Promise<T>;
  try {
    result = runner.run(aw);
  } catch (e) {
    // Nothing ran: the runner has no task, and usually no loop yet.
    void runner.close();
    throw e;
  }
  return runOnce(runner, result);
}

async function runOnce<T>(runner: Runner, result: Promise<T>): Promise<T> {
  try {
    return await result;
  } finally {
    await runner.close();
  }
}
