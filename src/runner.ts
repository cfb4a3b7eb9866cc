/**
 * `Runner`: asyncio's `asyncio.Runner` (Python 3.11+), one event loop that
 * runs any number of top-level coroutines in turn and is finalized once;
 * `run()` is a Runner used once.
 *
 * A runner moves through four states, only forward (a runner closed before
 * its first use goes from created straight to closed):
 *
 * - created: no loop yet. `getLoop()` or the first `run()` creates it
 *   (CPython's `_lazy_init`), together with the runner's context, a copy of
 *   the context current at that moment.
 * - initialized: the loop exists and is open. At most one `run()` is in
 *   progress at a time (`#running`); between runs the loop is idle, and the
 *   tasks a main left behind stay pending until the next `run()` drives them
 *   or `close()` cancels them.
 * - closing: `close()` has started: it cancels every pending task and waits
 *   for them, closes the loop's I/O resources, shuts down the default
 *   executor, then closes the loop. `run()` and `getLoop()` already refuse.
 * - closed: the loop is closed and dropped. `close()` does nothing more.
 *
 * While a `run()` is in progress (and only then) the runner may listen for
 * SIGINT on that run's main task: see the SIGINT section below.
 *
 * @module
 */
import { Context, copyContext } from "./context.ts";
import { checkLoop } from "./awaitables.ts";
import { CancelledError, KeyboardInterrupt, RuntimeError, ValueError } from "./errors.ts";
import { Future } from "./future.ts";
import { EventLoop, type EventLoopOptions } from "./loop.ts";
import { peekRunningLoop } from "./running.ts";
import { hasSignalHandler } from "./signals.ts";
import { type Coroutine, type Task, toCoroutine } from "./task.ts";
import { describe } from "./util.ts";

/**
 * Options for {@linkcode run} and {@linkcode Runner}: the loop's options,
 * and what Ctrl-C does while a main task runs.
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
   * While a main task runs, the first SIGINT (Ctrl-C) cancels it and its
   * `run()` rejects with `KeyboardInterrupt` once it has wound down; a second
   * one exits the process at once with code 130. Default `true`; `false`
   * installs nothing (SIGINT then ends the process as usual).
   */
  handleSigint?: boolean;
}

const CREATED = 0;
const INITIALIZED = 1;
const CLOSING = 2;
const CLOSED = 3;
type State = typeof CREATED | typeof INITIALIZED | typeof CLOSING | typeof CLOSED;

/**
 * One event loop for several top-level coroutines in turn (asyncio's
 * `Runner`): `runner.run(main)` runs `main` as a task on the runner's loop
 * until it is done and returns its result, as {@linkcode run} does, but
 * leaves the loop open for the next `run()`; `close()` (or leaving an
 * `await using` block) cancels what is left, shuts everything down and
 * closes the loop. For test harnesses, REPLs and programs driven from plain
 * async code that call into aio more than once.
 *
 * The loop is created on first use (`run()` or `getLoop()`) with the
 * constructor's options, and so is the runner's context: a copy of the
 * context current then. Each `run()` runs its main in that one context
 * (unless given another), so a context variable a main sets is seen by the
 * next main, as in asyncio.
 *
 * @example
 * ```ts
 * import { ContextVar, Runner, sleep } from "@aio/aio";
 * const step = new ContextVar<number>("step", { default: 0 });
 * await using runner = new Runner({ clock: "virtual" });
 * for (let i = 1; i <= 3; i++) {
 *   const seen = await runner.run(function* () {
 *     const before = step.get();
 *     yield* sleep(1000);
 *     step.set(i);
 *     return before;
 *   });
 *   console.log(seen); // 0, then 1, then 2
 * }
 * console.log(runner.getLoop().time()); // 3000: one loop for all three
 * ```
 *
 * @category Running
 */
export class Runner {
  readonly #options: EventLoopOptions;
  readonly #handleSigint: boolean;
  #state: State = CREATED;
  /** The loop, from the first use until the runner is closed. */
  #loop: EventLoop | null = null;
  /** Where each main runs unless `run()` is given a context. */
  #context: Context | null = null;
  /** Whether a `run()` is in progress. */
  #running = false;
  /** The shutdown in progress while closing. */
  #closing: Promise<void> | null = null;

  /**
   * A runner whose loop will have these options (see
   * {@linkcode RunOptions}); the loop itself is created on first use. A
   * `handleSigint` that is not a boolean is a `TypeError`; a bad `core` or
   * `clock` is one when the loop is created.
   *
   * @example
   * ```ts
   * import { Runner } from "@aio/aio";
   * const runner = new Runner({ core: "ts", debug: true });
   * console.log(runner.getLoop().getDebug()); // true
   * await runner.close();
   * ```
   */
  constructor(options?: RunOptions) {
    const { handleSigint = true, ...loopOptions } = options ?? {};
    if (typeof handleSigint !== "boolean") {
      throw new TypeError(
        `new Runner(): handleSigint must be a boolean, got ${describe(handleSigint)}`,
      );
    }
    this.#options = loopOptions;
    this.#handleSigint = handleSigint;
  }

  /**
   * Runs `main` (a coroutine, a coroutine function, or a future of this
   * runner's loop) as a task on the runner's loop until it is done, and
   * returns its result or rejects with its error. The loop stays open, and
   * tasks `main` started and left pending stay pending: the next `run()`
   * drives them again, `close()` cancels them.
   *
   * `main` runs in `options.context` if given, otherwise in the runner's
   * context, the same one for every `run()` (asyncio's `context=`).
   *
   * Ctrl-C is handled per call, as asyncio's Runner does, unless the runner
   * was created with `handleSigint: false`: while `main` runs, the first
   * SIGINT cancels it and `run()` rejects with {@linkcode KeyboardInterrupt}
   * (or with the `CancelledError` if something else cancelled `main` as
   * well); a second SIGINT exits the process at once with code 130. The
   * listener is added when `run()` starts and removed when `main` is done,
   * and only by the first `run()` in progress in the process.
   *
   * @throws {RuntimeError} (thrown, not a rejection) when called from a
   * callback or task of a running loop, while another `run()` of this runner
   * is in progress, or once the runner is closed.
   * @throws {TypeError} when `main` is none of the accepted kinds, or the
   * context is not a `Context`.
   * @throws {ValueError} when `main` is a future of another loop.
   *
   * @example
   * ```ts
   * import { Runner, sleep } from "@aio/aio";
   * const runner = new Runner({ clock: "virtual" });
   * try {
   *   console.log(await runner.run(sleep(10, "first"))); // "first"
   *   console.log(await runner.run(function* () {
   *     yield* sleep(10);
   *     return "second";
   *   })); // "second"
   * } finally {
   *   await runner.close();
   * }
   * ```
   */
  run<T>(
    main: Coroutine<T> | (() => Coroutine<T>) | Future<T>,
    options?: { context?: Context },
  ): Promise<T> {
    if (peekRunningLoop() !== null) {
      throw new RuntimeError(
        "Runner.run() cannot be called from a running event loop; use yield* or createTask() instead",
      );
    }
    if (this.#state >= CLOSING) throw new RuntimeError("Runner is closed");
    if (this.#running) {
      throw new RuntimeError(
        "Runner.run() cannot be called while another run() of this runner is in progress; await it first",
      );
    }
    const context = options?.context ?? null;
    if (context !== null && !(context instanceof Context)) {
      throw new TypeError(
        `Runner.run(): context must be a Context (see copyContext()), got ${describe(context)}`,
      );
    }
    let coro: Coroutine<T>;
    if (main instanceof Future) {
      // Checked before the loop is created: a future already bound when
      // this runner has no loop yet belongs to another one.
      const own = main._loop;
      if (own !== null && own !== this.#loop) {
        throw new ValueError(`Runner.run(): ${main} belongs to a different event loop`);
      }
      coro = awaitMain(main);
    } else {
      coro = toCoroutine(main, "Runner.run()");
    }
    const loop = this.#lazyInit();
    if (main instanceof Future) checkLoop(main, loop, "Runner.run()"); // binds an unbound one
    const task = loop.createTask(coro, { context: context ?? this.#context! });
    const sigint = this.#handleSigint ? SigintHandler.install(loop, task) : null;
    this.#running = true;
    return this.#runMain(loop, task, sigint);
  }

  async #runMain<T>(loop: EventLoop, task: Task<T>, sigint: SigintHandler | null): Promise<T> {
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
      this.#running = false;
    }
  }

  /**
   * The runner's event loop, created now if this is its first use (with the
   * constructor's options). Schedule callbacks on it, or create futures and
   * tasks for the next `run()`.
   *
   * @throws {RuntimeError} once the runner is closed (or closing).
   *
   * @example
   * ```ts
   * import { Runner } from "@aio/aio";
   * const runner = new Runner({ clock: "virtual" });
   * const fut = runner.getLoop().createFuture<string>();
   * runner.getLoop().callLater(500, () => fut.setResult("later"));
   * console.log(await runner.run(fut)); // "later"
   * await runner.close();
   * ```
   */
  getLoop(): EventLoop {
    return this.#lazyInit();
  }

  /** CPython's `_lazy_init`: the loop and the context on first use. */
  #lazyInit(): EventLoop {
    if (this.#state === INITIALIZED) return this.#loop!;
    if (this.#state !== CREATED) throw new RuntimeError("Runner is closed");
    this.#loop = new EventLoop(this.#options);
    this.#context = copyContext();
    this.#state = INITIALIZED;
    return this.#loop;
  }

  /**
   * Finalizes the runner, as {@linkcode run} does when its main is done:
   * cancels every task still pending on the loop and waits for them (an
   * error one of them raises goes to the loop's exception handler), closes
   * the I/O resources still open (servers, connections, child processes,
   * signal handlers), shuts down the default executor and waits for it, and
   * closes the loop. Afterwards `run()` and `getLoop()` throw
   * `RuntimeError`.
   *
   * Idempotent: a call while closing returns the same promise, a later one
   * resolves at once; a runner never used closes without creating a loop.
   * Rejects with `RuntimeError`, and leaves the runner as it was, while a
   * `run()` of the runner is in progress or when called from a running loop.
   *
   * @example
   * ```ts
   * import { createTask, Runner, sleep, type Task } from "@aio/aio";
   * const runner = new Runner({ clock: "virtual" });
   * let background: Task<void> | undefined;
   * await runner.run(function* () {
   *   background = createTask(sleep(60_000)); // still pending when main returns
   *   yield* sleep(1);
   * });
   * await runner.close();
   * console.log(background?.cancelled()); // true
   * ```
   */
  close(): Promise<void> {
    if (this.#state === CLOSED) return Promise.resolve();
    if (this.#closing !== null) return this.#closing;
    if (this.#running) {
      return Promise.reject(
        new RuntimeError(
          "Runner.close() cannot be called while run() is in progress; await run() first",
        ),
      );
    }
    if (peekRunningLoop() !== null) {
      return Promise.reject(
        new RuntimeError("Runner.close() cannot be called from a running event loop"),
      );
    }
    const loop = this.#loop;
    if (loop === null) {
      this.#state = CLOSED;
      return Promise.resolve();
    }
    this.#state = CLOSING;
    return this.#closing = this.#shutdown(loop);
  }

  async #shutdown(loop: EventLoop): Promise<void> {
    try {
      // Servers stop first: a connection or request arriving while the tasks
      // are cancelled would start a task nobody cancels.
      loop._stopAccepting();
      await cancelAllTasks(loop);
      await loop._closeResources();
      await loop.shutdownDefaultExecutor();
    } finally {
      loop.close();
      this.#loop = null;
      this.#context = null;
      this.#closing = null;
      this.#state = CLOSED;
    }
  }

  /**
   * `close()`, for `await using`.
   *
   * @example
   * ```ts
   * import { type EventLoop, Runner } from "@aio/aio";
   * let loop: EventLoop;
   * {
   *   await using runner = new Runner();
   *   loop = runner.getLoop();
   *   console.log(await runner.run(function* () { return 1; })); // 1
   * }
   * console.log(loop.isClosed()); // true: closed as the block ended
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** The main task's coroutine when `main` is a future (asyncio wraps any awaitable so). */
function* awaitMain<T>(fut: Future<T>): Coroutine<T> {
  return yield* fut;
}

/**
 * Cancels every pending task of `loop`, runs the loop until they are all
 * done, and reports those that ended with an error rather than cancelled
 * (asyncio's `_cancel_all_tasks`).
 */
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
 * The SIGINT listener of the `run()` whose main task it cancels, installed
 * when that `run()` starts and removed when its main is done. One at a time
 * in a process: a `run()` that starts while another one's main task runs
 * leaves SIGINT to that one (asyncio installs its handler only over Python's
 * default one). Not in workers, where a listener would take Ctrl-C from the
 * whole process, and not where Deno has no signals.
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
