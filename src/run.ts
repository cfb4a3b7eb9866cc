/**
 * `run`: the entry point, asyncio's `asyncio.run()`.
 *
 * @module
 */
import { CancelledError, KeyboardInterrupt, RuntimeError } from "./errors.ts";
import { EventLoop, type EventLoopOptions } from "./loop.ts";
import { peekRunningLoop } from "./running.ts";
import { hasSignalHandler } from "./signals.ts";
import { type Coroutine, type Task, toCoroutine } from "./task.ts";
import { describe } from "./util.ts";

/**
 * Options for {@linkcode run}: the new loop's options, and what Ctrl-C does.
 *
 * @example
 * ```ts
 * import { run, type RunOptions } from "@aio/aio";
 * // A program that handles SIGINT itself, on the pure-TypeScript core.
 * const options: RunOptions = { core: "ts", handleSigint: false };
 * console.log(await run(function* () {
 *   return "no SIGINT listener was installed";
 * }, options));
 * ```
 *
 * @category Running
 */
export interface RunOptions extends EventLoopOptions {
  /**
   * While `main` runs, the first SIGINT (Ctrl-C) cancels the main task and
   * `run()` rejects with `KeyboardInterrupt` once everything has wound down;
   * a second one exits the process at once with code 130. Default `true`;
   * `false` installs nothing (SIGINT then ends the process as usual).
   */
  handleSigint?: boolean;
}

/**
 * Creates an event loop, runs `main` (a coroutine or a coroutine function)
 * as a task until it is done, cancels every task still pending and waits for
 * them, shuts down the default executor, closes the loop, and returns
 * `main`'s result (or rejects with its error). Nothing is left behind: no host
 * timer, no worker, no pending task.
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
 *
 * @category Running
 */
export function run<T>(
  main: Coroutine<T> | (() => Coroutine<T>),
  options?: RunOptions,
): Promise<T> {
  if (peekRunningLoop() !== null) {
    throw new RuntimeError(
      "run() cannot be called from a running event loop; use yield* or createTask() instead",
    );
  }
  const { handleSigint = true, ...loopOptions } = options ?? {};
  if (typeof handleSigint !== "boolean") {
    throw new TypeError(`run(): handleSigint must be a boolean, got ${describe(handleSigint)}`);
  }
  const loop = new EventLoop(loopOptions);
  let coro: Coroutine<T>;
  try {
    coro = toCoroutine(main, "run()");
  } catch (e) {
    loop.close();
    throw e;
  }
  return runMain(loop, coro, handleSigint);
}

async function runMain<T>(loop: EventLoop, coro: Coroutine<T>, handleSigint: boolean): Promise<T> {
  try {
    const task = loop.createTask(coro);
    const sigint = handleSigint ? SigintHandler.install(loop, task) : null;
    try {
      return await loop.runUntilComplete(task);
    } catch (e) {
      // asyncio.Runner.run: the main task ended cancelled after a SIGINT,
      // and no other cancellation of it is outstanding.
      if (
        e instanceof CancelledError && sigint !== null && sigint.interrupts > 0 &&
        task.uncancel() === 0
      ) {
        throw new KeyboardInterrupt(undefined, { cause: e });
      }
      throw e;
    } finally {
      sigint?.remove();
    }
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

// ---- SIGINT: asyncio.Runner's _on_sigint ----------------------------------

/**
 * The SIGINT listener of the `run()` whose main task it cancels. One at a
 * time in a process: a `run()` that starts while another one's main task
 * runs leaves SIGINT to that one (asyncio installs its handler only over
 * Python's default one). Not in workers, where a listener would take Ctrl-C
 * from the whole process, and not where Deno has no signals.
 */
class SigintHandler {
  static #owner: SigintHandler | null = null;

  /** SIGINTs received while installed (asyncio's `_interrupt_count`). */
  interrupts = 0;
  readonly #loop: EventLoop;
  readonly #task: Task<unknown>;

  private constructor(loop: EventLoop, task: Task<unknown>) {
    this.#loop = loop;
    this.#task = task;
  }

  static install(loop: EventLoop, task: Task<unknown>): SigintHandler | null {
    if (SigintHandler.#owner !== null || "WorkerGlobalScope" in globalThis) return null;
    if (typeof globalThis.Deno?.addSignalListener !== "function") return null;
    const h = new SigintHandler(loop, task);
    try {
      Deno.addSignalListener("SIGINT", h.#listener);
    } catch {
      // Signals unavailable here (asyncio: "signal only works in main thread"):
      // run without the handler.
      return null;
    }
    SigintHandler.#owner = h;
    return h;
  }

  remove(): void {
    if (SigintHandler.#owner !== this) return;
    SigintHandler.#owner = null;
    Deno.removeSignalListener("SIGINT", this.#listener);
  }

  #listener = (): void => {
    // The program's own handler (loop.addSignalHandler) has SIGINT, as in
    // asyncio, where adding one replaces the runner's.
    if (hasSignalHandler(this.#loop, "SIGINT")) return;
    this.interrupts++;
    if (this.interrupts === 1 && !this.#task.done()) {
      // Cancelling schedules the task's next step (or cancels the future it
      // waits on, whose callback does), which wakes an idle loop.
      this.#task.cancel();
      return;
    }
    // asyncio raises KeyboardInterrupt out of whatever runs; here nothing
    // can be interrupted, so the process ends as an unhandled SIGINT would.
    Deno.exit(130);
  };
}
