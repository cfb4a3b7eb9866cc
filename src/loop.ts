/**
 * The event loop: a handle table, one iteration with CPython's semantics, and
 * a driver that runs iterations inside Deno's own event loop without starving
 * it.
 *
 * @module
 */
import { captureData, Context, type ContextData, enterData, swapContext } from "./context.ts";
import { RuntimeError, ValueError } from "./errors.ts";
import { Future, suspending } from "./future.ts";
import { peekRunningLoop, setRunningLoop } from "./running.ts";
import { createCore } from "./scheduler/mod.ts";
import type { CoreKind, SchedulerCore } from "./scheduler/types.ts";
import { addSignalHandler, removeSignalHandler } from "./signals.ts";
import { type Coroutine, Task, type TaskFactory, type TaskOptions, toCoroutine } from "./task.ts";
import { checkDelay, describe } from "./util.ts";
import { dumpTasks, type TaskDump } from "./graph.ts";

/**
 * Options for {@linkcode EventLoop} and `run`.
 *
 * @category Running
 */
export interface EventLoopOptions {
  /** Scheduler core: `"wasm"` (default) or the pure-TypeScript `"ts"`. */
  core?: CoreKind;
  /**
   * `"real"` (default) or `"virtual"`: time starts at 0 and jumps to the next
   * timer whenever nothing is ready and nothing outside the loop is in flight.
   */
  clock?: "real" | "virtual";
  /** Debug mode: slow-callback reports and creation stacks in error reports. */
  debug?: boolean;
}

/**
 * What the loop passes to an exception handler (asyncio's context dict).
 *
 * @category Running
 */
export interface ExceptionContext {
  /** What went wrong, in words. */
  message: string;
  /** The error, if there is one. */
  exception?: unknown;
  /** The future involved, if any. */
  future?: Future<unknown>;
  /** The task involved, if any. */
  task?: Task<unknown>;
  /** The callback handle involved, if any. */
  handle?: Handle;
  /** Where the task or handle was created (debug mode only). */
  sourceTraceback?: string;
  /** Anything else worth reporting. */
  [key: string]: unknown;
}

/**
 * A custom exception handler; see {@linkcode EventLoop.setExceptionHandler}.
 *
 * @category Running
 */
export type ExceptionHandler = (loop: EventLoop, context: ExceptionContext) => void;

/**
 * What `runInExecutor` needs from an executor (`WorkerPoolExecutor` is one).
 *
 * @category Executors
 */
export interface Executor {
  /** Schedules `fn(...args)` and returns a future of its result. */
  // deno-lint-ignore no-explicit-any
  submit(fn: any, ...args: any[]): Future<unknown>;
  /** Stops accepting jobs and releases workers. */
  shutdown(options?: { wait?: boolean; cancelFutures?: boolean }): Promise<void>;
}

// The executor module registers how to make a default executor, so that a
// program that never uses executors never loads worker code.
let defaultExecutorFactory: (() => Executor) | null = null;

/**
 * @internal Something aio opened for a loop's tasks that must not outlive
 * the loop: a server, a connection, a child process, a signal listener, an
 * HTTP server. `run()` awaits `_closeForLoop()` of each one still open after
 * its tasks are cancelled; `close()` calls it without waiting.
 */
export interface LoopResource {
  _closeForLoop(): void | Promise<void>;
  /**
   * For listeners: stop taking new work (connections, requests) before
   * `run()` cancels the tasks, so none arrives that nobody would cancel.
   */
  _stopAccepting?(): void;
}

/** @internal */
export function setDefaultExecutorFactory(factory: () => Executor): void {
  defaultExecutorFactory = factory;
}

// Ids index the handle table and are pushed through the core as small ints.
const MAX_ID = 2 ** 30;
// While tasks keep the loop busy, hand control to the host this often (ms)
// so I/O, promises and Deno timers progress.
const SLICE_MS = 4;
/**
 * The busy driver's next turn is a reaction to this settled promise: as cheap
 * as `queueMicrotask` in Deno and Bun, and 2x cheaper in Node 22, where
 * `queueMicrotask` costs about 75 ns a call.
 */
const RESOLVED: Promise<void> = Promise.resolve();
// Deno's timers fire about 1 ms late, so a host timer is set 1 ms short and
// only the last sub-millisecond is waited for with message hops.
const HOST_TIMER_MIN_MS = 1;

const NO_ARGS: unknown[] = [];

/**
 * The arguments after the callback (`from` is its position + 1). The
 * scheduling methods read `arguments` instead of declaring a rest parameter:
 * most callbacks take none, and a rest parameter allocates an empty array for
 * each of them, a measurable share of `callLater`'s cost.
 */
function restArgs(args: IArguments, from = 2): unknown[] {
  return args.length > from ? Array.prototype.slice.call(args, from) : NO_ARGS;
}

/** Where each handle was scheduled, in debug mode only (asyncio's `_source_traceback`). */
const handleTracebacks = new WeakMap<Handle, string | undefined>();

/** Something the loop can run when its id comes off the ready ring. */
interface Runnable {
  _run(): void;
}

/**
 * A callback scheduled with `callSoon`. Cancel it before it runs and it
 * never runs.
 *
 * @example
 * ```ts
 * import { run, getRunningLoop } from "@aio/aio";
 * await run(function* () {
 *   const h = getRunningLoop().callSoon(() => console.log("never printed"));
 *   h.cancel();
 *   yield;
 *   console.log(h.cancelled()); // true
 * });
 * ```
 *
 * @category Running
 */
export class Handle {
  /** @ignore */
  _loop: EventLoop;
  /** @ignore */
  _fn: (...args: unknown[]) => void;
  /** @ignore */
  _args: unknown[];
  /**
   * @ignore An explicit context to run in, or the context variables
   * captured when the callback was scheduled (one field: a timer's handle is
   * what `callLater` allocates, and every field of it costs W4/W5 time in GC).
   */
  _context: Context | ContextData;
  /** @ignore */
  _cancelledHandle = false;
  /** @ignore */
  _id = -1;

  /** @ignore Handles come from `callSoon`, `callLater` and `callAt`. */
  constructor(
    loop: EventLoop,
    fn: (...args: unknown[]) => void,
    args: unknown[],
    ctx: Context | ContextData,
  ) {
    this._loop = loop;
    this._fn = fn;
    this._args = args;
    this._context = ctx;
    if (loop._debug) handleTracebacks.set(this, new Error().stack);
  }

  /**
   * Prevents the callback from running, if it has not run yet.
   *
   * @example
   * ```ts
   * import { run, getRunningLoop } from "@aio/aio";
   * await run(function* () {
   *   getRunningLoop().callSoon(() => console.log("skipped")).cancel();
   * });
   * ```
   */
  cancel(): void {
    if (this._cancelledHandle) return;
    this._cancelledHandle = true;
    this._onCancel();
  }

  /**
   * Whether {@linkcode Handle.cancel} was called.
   *
   * @example
   * ```ts
   * import { run, getRunningLoop } from "@aio/aio";
   * await run(function* () {
   *   const h = getRunningLoop().callSoon(() => {});
   *   console.log(h.cancelled()); // false
   * });
   * ```
   */
  cancelled(): boolean {
    return this._cancelledHandle;
  }

  /**
   * A short description such as `<Handle tick()>`.
   *
   * @example
   * ```ts
   * import { run, getRunningLoop } from "@aio/aio";
   * await run(function* () {
   *   console.log(String(getRunningLoop().callSoon(function tick() {}))); // "<Handle tick()>"
   * });
   * ```
   */
  toString(): string {
    const state = this._cancelledHandle ? " cancelled" : "";
    return `<${this.constructor.name}${state}${this._whenInfo()} ${
      this._fn.name || "anonymous"
    }()>`;
  }

  /** @ignore */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /** @ignore */
  _whenInfo(): string {
    return "";
  }

  /** @ignore */
  _onCancel(): void {}

  /** @ignore */
  _run(): void {
    this._loop._freeId(this._id);
    if (this._cancelledHandle) return;
    const ctx = this._context;
    const prev = ctx instanceof Context ? swapContext(ctx) : enterData(ctx);
    try {
      this._fn.apply(undefined, this._args);
    } finally {
      swapContext(prev);
    }
  }
}

/**
 * A callback scheduled with `callLater` or `callAt`.
 *
 * @example
 * ```ts
 * import { run, getRunningLoop } from "@aio/aio";
 * await run(function* () {
 *   const loop = getRunningLoop();
 *   const h = loop.callLater(1000, () => {});
 *   console.log(h.when() - loop.time()); // 1000 (the clock has not moved)
 *   h.cancel();
 * }, { clock: "virtual" });
 * ```
 *
 * @category Running
 */
export class TimerHandle extends Handle {
  /** @ignore */
  _when: number;
  /** @ignore The core's token for this timer. */
  _token = -1;

  /** @ignore */
  constructor(
    loop: EventLoop,
    when: number,
    fn: (...args: unknown[]) => void,
    args: unknown[],
    ctx: Context | ContextData,
  ) {
    super(loop, fn, args, ctx);
    this._when = when;
  }

  /**
   * The loop time (ms) at which the callback is due.
   *
   * @example
   * ```ts
   * import { run, getRunningLoop } from "@aio/aio";
   * await run(function* () {
   *   console.log(getRunningLoop().callAt(250, () => {}).when()); // 250
   * }, { clock: "virtual" });
   * ```
   */
  when(): number {
    return this._when;
  }

  /** @ignore */
  override _whenInfo(): string {
    return ` when=${this._when}`;
  }

  /** @ignore */
  override _onCancel(): void {
    this._loop._cancelTimer(this);
  }
}

/**
 * A future's done callback on its way through the ready ring. Nobody outside
 * the loop holds one, so it is recycled after it runs: completing futures
 * allocates nothing in steady state. It reports its own failure, before it is
 * recycled, so the report names the right callback.
 */
class CallbackHandle {
  _loop: EventLoop;
  _fn: ((arg: unknown) => void) | null = null;
  _arg: unknown = undefined;
  _ctx: Context | null = null;
  _data: ContextData | null = null;
  _id = -1;

  constructor(loop: EventLoop) {
    this._loop = loop;
  }

  toString(): string {
    return `<Handle ${this._fn?.name || "anonymous"}() done callback>`;
  }

  _run(): void {
    const loop = this._loop;
    loop._freeId(this._id);
    const prev = this._ctx !== null ? swapContext(this._ctx) : enterData(this._data!);
    try {
      this._fn!(this._arg);
    } catch (e) {
      loop._callbackFailed(e, this);
    } finally {
      swapContext(prev);
      this._fn = null;
      this._arg = undefined;
      this._ctx = null;
      this._data = null;
      loop._callbackPool.push(this);
    }
  }
}

/**
 * An asyncio event loop. Most programs never touch one directly: `run()`
 * makes one, runs a coroutine on it and closes it. Use a loop yourself to
 * schedule plain callbacks, to control its lifetime, or in tests with the
 * virtual clock.
 *
 * @example
 * ```ts
 * import { EventLoop } from "@aio/aio";
 * const loop = new EventLoop({ clock: "virtual" });
 * loop.callLater(3_600_000, () => { console.log("an hour later, at once"); loop.stop(); });
 * await loop.runForever();
 * console.log(loop.time()); // 3600000
 * loop.close();
 * ```
 *
 * @category Running
 */
export class EventLoop {
  /** Which scheduler core holds this loop's queues. */
  readonly core: CoreKind;
  /**
   * In debug mode, callbacks that take at least this long (ms) are reported.
   */
  slowCallbackDuration = 100;

  /** @ignore */
  _core: SchedulerCore;
  /** @ignore */
  _handles: (Runnable | undefined)[] = [];
  /** @ignore */
  _freeIds: number[] = [];
  /** @ignore */
  _nextId = 0;
  /** @ignore Live timers in the core, tracked here to skip `advance` when zero. */
  _timers = 0;
  /** @ignore Timers scheduled but not yet in the core (see `_addTimer`). */
  _newTimers: TimerHandle[] = [];
  /** @ignore */
  _virtual: boolean;
  /** @ignore */
  _vnow = 0;
  /** @ignore */
  _debug: boolean;
  /** @ignore */
  _closed = false;
  /** @ignore */
  _running = false;
  /** @ignore */
  _stopping = false;
  /** @ignore */
  _currentTask: Task<unknown> | null = null;
  /** @ignore Tasks created and not yet done. */
  _liveTasks = 0;
  /** @ignore What `createTask` calls to make a task, if set (`setTaskFactory`). */
  _taskFactory: TaskFactory | null = null;
  /** @ignore */
  _exceptionHandler: ExceptionHandler | null = null;
  /** @ignore Failed futures whose exception nobody has retrieved. */
  _unretrieved: Set<WeakRef<Future<unknown>>> = new Set();
  /** @ignore Promises and executor jobs the loop waits on. */
  _inflight = 0;
  /** @ignore Futures settled from outside, cancelled by `close()` so nothing outlives the loop. */
  _externals: Set<Future<unknown>> = new Set();
  /** @ignore Open I/O resources (see LoopResource); each removes itself when closed. */
  _resources: Set<LoopResource> = new Set();
  /** @ignore Resolves the driver's host wait; set only while it waits. */
  _wakeResolve: (() => void) | null = null;
  /** @ignore */
  _hostTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** @ignore */
  _channel: MessageChannel | null = null;
  /** @ignore */
  _hopResolve: (() => void) | null = null;
  /** @ignore Recycled handles for futures' done callbacks. */
  _callbackPool: CallbackHandle[] = [];
  /** @ignore */
  _defaultExecutor: Executor | null = null;
  /** @ignore */
  _executorShuttingDown = false;

  /** Creates a loop; see {@linkcode EventLoopOptions}. */
  constructor(options?: EventLoopOptions) {
    const core = options?.core ?? "wasm";
    if (core !== "wasm" && core !== "ts") {
      throw new TypeError(`core must be "wasm" or "ts", got ${describe(core)}`);
    }
    const clock = options?.clock ?? "real";
    if (clock !== "real" && clock !== "virtual") {
      throw new TypeError(`clock must be "real" or "virtual", got ${describe(clock)}`);
    }
    this.core = core;
    this._core = createCore(core);
    this._virtual = clock === "virtual";
    this._debug = Boolean(options?.debug);
    if (this._debug) suspending.trace = true;
  }

  // ---- scheduling -------------------------------------------------------

  /**
   * Schedules `fn(...args)` for the next loop iteration (FIFO), in a copy of
   * the current context. A callback scheduled while the loop is running an
   * iteration runs in the next one, never in the current one.
   *
   * @example
   * ```ts
   * import { EventLoop } from "@aio/aio";
   * const loop = new EventLoop();
   * loop.callSoon((a: number, b: number) => { console.log(a + b); loop.stop(); }, 1, 2);
   * await loop.runForever();
   * loop.close();
   * ```
   */
  // deno-lint-ignore no-explicit-any
  callSoon<A extends any[]>(fn: (...args: A) => void, ...args: A): Handle;
  callSoon(fn: (...a: unknown[]) => void): Handle {
    this._checkClosed();
    checkCallback(fn, "callSoon()");
    const h = new Handle(this, fn, restArgs(arguments, 1), captureData());
    h._id = this._allocId(h);
    this._pushReady(h._id);
    return h;
  }

  /**
   * Schedules `fn(...args)` to run `delayMs` milliseconds from now (negative
   * delays act as 0; `NaN` is a `TypeError`). Never runs early; equal
   * deadlines run in the order they were scheduled.
   *
   * @example
   * ```ts
   * import { EventLoop } from "@aio/aio";
   * const loop = new EventLoop({ clock: "virtual" });
   * loop.callLater(50, () => loop.stop());
   * await loop.runForever();
   * console.log(loop.time()); // 50
   * loop.close();
   * ```
   */
  // deno-lint-ignore no-explicit-any
  callLater<A extends any[]>(delayMs: number, fn: (...args: A) => void, ...args: A): TimerHandle;
  callLater(delayMs: number, fn: (...a: unknown[]) => void): TimerHandle {
    const delay = checkDelay(delayMs, "callLater() delay");
    this._checkClosed();
    checkCallback(fn, "callLater()");
    return this._timerAt(this.time() + delay, fn, restArgs(arguments));
  }

  /**
   * Schedules `fn(...args)` at loop time `whenMs` (see {@linkcode EventLoop.time}).
   *
   * @example
   * ```ts
   * import { EventLoop } from "@aio/aio";
   * const loop = new EventLoop({ clock: "virtual" });
   * loop.callAt(1234.5, () => loop.stop());
   * await loop.runForever();
   * console.log(loop.time()); // 1234.5
   * loop.close();
   * ```
   */
  // deno-lint-ignore no-explicit-any
  callAt<A extends any[]>(whenMs: number, fn: (...args: A) => void, ...args: A): TimerHandle;
  callAt(whenMs: number, fn: (...a: unknown[]) => void): TimerHandle {
    if (typeof whenMs !== "number" || Number.isNaN(whenMs)) {
      throw new TypeError(
        `callAt() time must be a number of milliseconds, got ${describe(whenMs)}`,
      );
    }
    this._checkClosed();
    checkCallback(fn, "callAt()");
    return this._timerAt(whenMs, fn, restArgs(arguments));
  }

  /** @ignore `callAt` once its arguments are checked. */
  _timerAt(when: number, fn: (...a: unknown[]) => void, args: unknown[]): TimerHandle {
    const h = new TimerHandle(this, when, fn, args, captureData());
    this._addTimer(h);
    return h;
  }

  /**
   * The loop's clock in milliseconds: `performance.now()` for the real clock;
   * for the virtual clock, 0 at creation and then only what timers advanced.
   *
   * @example
   * ```ts
   * import { EventLoop } from "@aio/aio";
   * const loop = new EventLoop({ clock: "virtual" });
   * console.log(loop.time()); // 0
   * loop.close();
   * ```
   */
  time(): number {
    return this._virtual ? this._vnow : performance.now();
  }

  /**
   * A new pending future bound to this loop.
   *
   * @example
   * ```ts
   * import { EventLoop } from "@aio/aio";
   * const loop = new EventLoop();
   * console.log(loop.createFuture().done()); // false
   * loop.close();
   * ```
   */
  createFuture<T = unknown>(): Future<T> {
    return new Future<T>(this);
  }

  /**
   * Wraps a coroutine (or a zero-argument coroutine function) in a task on
   * this loop; its first step runs in a later iteration, or at once with
   * `eagerStart` when called from this loop's tasks or callbacks. The task
   * factory makes the task if one is set ({@linkcode EventLoop.setTaskFactory}).
   *
   * @example
   * ```ts
   * import { EventLoop, sleep } from "@aio/aio";
   * const loop = new EventLoop({ clock: "virtual" });
   * const t = loop.createTask(sleep(100, "done"), { name: "sleeper" });
   * console.log(await loop.runUntilComplete(t)); // "done"
   * loop.close();
   * ```
   */
  createTask<T>(coro: Coroutine<T> | (() => Coroutine<T>), options?: TaskOptions): Task<T> {
    this._checkClosed();
    const factory = this._taskFactory;
    if (factory !== null) return factory(this, toCoroutine(coro, "createTask()"), options);
    return new Task(toCoroutine(coro, "createTask()"), this, options);
  }

  /**
   * Sets what {@linkcode EventLoop.createTask} (and so `createTask`,
   * `ensureFuture`, `gather`, task groups...) calls to make a task:
   * `factory(loop, coro, options)` must return a {@linkcode Task} on this
   * loop. `null` restores the default, `new Task(coro, loop, options)`.
   * {@linkcode eagerTaskFactory} starts every task eagerly.
   *
   * @example
   * ```ts
   * import { createTask, eagerTaskFactory, EventLoop } from "@aio/aio";
   * const loop = new EventLoop({ clock: "virtual" });
   * loop.setTaskFactory(eagerTaskFactory);
   * console.log(await loop.runUntilComplete(function* () {
   *   return createTask(function* () { return 42; }).done(); // true: already ran
   * }()));
   * loop.close();
   * ```
   */
  setTaskFactory(factory: TaskFactory | null): void {
    if (factory !== null && typeof factory !== "function") {
      throw new TypeError(`task factory must be a function or null, got ${describe(factory)}`);
    }
    this._taskFactory = factory;
  }

  /**
   * The task factory set with {@linkcode EventLoop.setTaskFactory}, or
   * `null` for the default.
   *
   * @example
   * ```ts
   * import { EventLoop } from "@aio/aio";
   * const loop = new EventLoop();
   * console.log(loop.getTaskFactory()); // null
   * loop.close();
   * ```
   */
  getTaskFactory(): TaskFactory | null {
    return this._taskFactory;
  }

  // ---- running ----------------------------------------------------------

  /**
   * Runs the loop until `aw` (a future, task or coroutine) is done and
   * returns its result, or rejects with its error. On a loop that is already
   * running it rejects with a `RuntimeError` before wrapping or binding `aw`,
   * so a coroutine passed then never runs.
   *
   * @example
   * ```ts
   * import { EventLoop, sleep } from "@aio/aio";
   * const loop = new EventLoop({ clock: "virtual" });
   * console.log(await loop.runUntilComplete(sleep(10, "x"))); // "x"
   * loop.close();
   * ```
   */
  async runUntilComplete<T>(aw: Future<T> | Coroutine<T>): Promise<T> {
    this._checkClosed();
    // Before anything is created or bound: a refused call leaves no orphan task.
    this._checkNotRunning();
    let fut: Future<T>;
    if (aw instanceof Future) {
      if (aw._loop === null) aw._loop = this;
      if (aw._loop !== this) {
        throw new ValueError("runUntilComplete(): the future belongs to a different loop");
      }
      fut = aw;
    } else {
      fut = this.createTask(aw);
    }
    const stop = () => this.stop();
    fut.addDoneCallback(stop);
    try {
      await this.runForever();
    } finally {
      fut.removeDoneCallback(stop);
    }
    if (!fut.done()) throw new RuntimeError("Event loop stopped before the future completed.");
    return fut.result();
  }

  /**
   * Runs iterations until {@linkcode EventLoop.stop} is called. A second
   * concurrent run, or a run from inside another loop's callback, is a
   * `RuntimeError`.
   *
   * @example
   * ```ts
   * import { EventLoop } from "@aio/aio";
   * const loop = new EventLoop();
   * loop.callSoon(() => loop.stop());
   * await loop.runForever();
   * loop.close();
   * ```
   */
  async runForever(): Promise<void> {
    this._checkClosed();
    this._checkNotRunning();
    this._running = true;
    try {
      await this._drive();
    } finally {
      this._running = false;
      this._stopping = false;
      this._releaseHost();
    }
  }

  /**
   * Makes `runForever` return after the current iteration (callbacks already
   * scheduled for it still run).
   *
   * @example
   * ```ts
   * import { EventLoop } from "@aio/aio";
   * const loop = new EventLoop();
   * loop.callSoon(() => loop.stop());
   * await loop.runForever();
   * console.log(loop.isRunning()); // false
   * loop.close();
   * ```
   */
  stop(): void {
    this._stopping = true;
    this._wake();
  }

  /**
   * Whether `runForever` (or `runUntilComplete`) is in progress.
   *
   * @example
   * ```ts
   * import { getRunningLoop, run } from "@aio/aio";
   * await run(function* () {
   *   console.log(getRunningLoop().isRunning()); // true
   * });
   * ```
   */
  isRunning(): boolean {
    return this._running;
  }

  /**
   * Whether {@linkcode EventLoop.close} was called.
   *
   * @example
   * ```ts
   * import { EventLoop } from "@aio/aio";
   * const loop = new EventLoop();
   * loop.close();
   * console.log(loop.isClosed()); // true
   * ```
   */
  isClosed(): boolean {
    return this._closed;
  }

  /**
   * Closes the loop: pending callbacks are dropped, failed futures nobody
   * looked at are reported, the default executor is shut down without
   * waiting. Closing a running loop is a `RuntimeError`; closing twice does
   * nothing. Any later use is a `RuntimeError`.
   *
   * @example
   * ```ts
   * import { EventLoop } from "@aio/aio";
   * const loop = new EventLoop();
   * loop.close();
   * try { loop.callSoon(() => {}); } catch (e) { console.log((e as Error).name); } // RuntimeError
   * ```
   */
  close(): void {
    if (this._running) throw new RuntimeError("Cannot close a running event loop");
    if (this._closed) return;
    this._reportUnretrieved();
    this._closed = true;
    for (const r of [...this._resources]) void r._closeForLoop();
    this._resources.clear();
    for (const fut of [...this._externals]) fut.cancel("the event loop was closed");
    this._handles = [];
    this._freeIds = [];
    this._newTimers = [];
    this._releaseHost();
    const ex = this._defaultExecutor;
    this._defaultExecutor = null;
    if (ex !== null) void ex.shutdown({ wait: false });
    this._core.dispose?.();
  }

  // ---- executors ----------------------------------------------------------

  /**
   * Runs `fn(...args)` on `executor` (or the loop's default
   * `WorkerPoolExecutor` when `null`) and returns a future of its result.
   *
   * @example
   * ```ts ignore
   * import { getRunningLoop, run } from "@aio/aio";
   * const n = await run(function* () {
   *   return yield* getRunningLoop().runInExecutor(null, (x: number) => x * 2, 21);
   * });
   * console.log(n); // 42
   * ```
   */
  runInExecutor<R>(
    executor: Executor | null,
    // deno-lint-ignore no-explicit-any
    fn: (...args: any[]) => R,
    ...args: unknown[]
  ): Future<Awaited<R>> {
    this._checkClosed();
    const ex = executor ?? this._getDefaultExecutor();
    const fut = ex.submit(fn, ...args);
    if (fut._loop === null) fut._loop = this;
    return fut as Future<Awaited<R>>;
  }

  /**
   * Sets the executor `runInExecutor(null, …)` and `toThread` use.
   *
   * @example
   * ```ts ignore
   * import { getRunningLoop, run, WorkerPoolExecutor } from "@aio/aio";
   * await run(function* () {
   *   getRunningLoop().setDefaultExecutor(new WorkerPoolExecutor({ maxWorkers: 1 }));
   * });
   * ```
   */
  setDefaultExecutor(executor: Executor): void {
    if (
      executor === null || typeof executor !== "object" || typeof executor.submit !== "function" ||
      typeof executor.shutdown !== "function"
    ) {
      throw new TypeError(
        `setDefaultExecutor() expects an executor with submit() and shutdown(), got ${
          describe(executor)
        }`,
      );
    }
    this._defaultExecutor = executor;
  }

  /**
   * Shuts down the default executor and waits for its jobs; `run()` calls
   * this before closing the loop.
   *
   * @example
   * ```ts
   * import { EventLoop } from "@aio/aio";
   * const loop = new EventLoop();
   * await loop.shutdownDefaultExecutor(); // nothing to do: none was created
   * loop.close();
   * ```
   */
  async shutdownDefaultExecutor(): Promise<void> {
    this._executorShuttingDown = true;
    const ex = this._defaultExecutor;
    this._defaultExecutor = null;
    if (ex !== null) await ex.shutdown({ wait: true });
  }

  // ---- signals ----------------------------------------------------------

  /**
   * Calls `cb(...args)` as a loop callback each time the process receives
   * `sig` (asyncio's `add_signal_handler`): it runs in a loop iteration, in
   * the context current now, and an exception it throws goes to the
   * exception handler. One handler per signal: adding another replaces it.
   * A registered handler keeps the process alive (as an open server does)
   * until it is removed or the loop closes; closing removes every handler.
   * An unknown signal name, a signal Deno cannot listen to (`SIGKILL`,
   * `SIGSTOP`, one this OS lacks) or a callback that is not a plain function
   * is a `TypeError`; a closed loop is a `RuntimeError`.
   *
   * @example
   * ```ts
   * import { getRunningLoop, run } from "@aio/aio";
   * await run(function* () {
   *   const loop = getRunningLoop();
   *   const hup = loop.createFuture<string>();
   *   loop.addSignalHandler("SIGHUP", () => hup.setResult("reload"));
   *   Deno.kill(Deno.pid, "SIGHUP");
   *   console.log(yield* hup); // "reload"
   *   loop.removeSignalHandler("SIGHUP");
   * });
   * ```
   */
  // deno-lint-ignore no-explicit-any
  addSignalHandler<A extends any[]>(sig: Deno.Signal, cb: (...args: A) => void, ...args: A): void;
  addSignalHandler(sig: Deno.Signal, cb: (...a: unknown[]) => void): void {
    addSignalHandler(this, sig, cb, restArgs(arguments));
  }

  /**
   * Removes the handler for `sig`; returns whether there was one (asyncio's
   * `remove_signal_handler`). The signal gets Deno's default behaviour back
   * when nothing else listens to it. An unknown signal name is a `TypeError`.
   *
   * @example
   * ```ts
   * import { EventLoop } from "@aio/aio";
   * const loop = new EventLoop();
   * loop.addSignalHandler("SIGUSR1", () => console.log("usr1"));
   * console.log(loop.removeSignalHandler("SIGUSR1")); // true
   * console.log(loop.removeSignalHandler("SIGUSR1")); // false
   * loop.close();
   * ```
   */
  removeSignalHandler(sig: Deno.Signal): boolean {
    return removeSignalHandler(this, sig);
  }

  // ---- errors and debug -------------------------------------------------

  /**
   * Sets the function that receives errors nobody else can: exceptions
   * thrown by callbacks, unretrieved task exceptions. `null` restores the
   * default, which prints to the console.
   *
   * @example
   * ```ts
   * import { EventLoop } from "@aio/aio";
   * const loop = new EventLoop();
   * loop.setExceptionHandler((_loop, ctx) => console.log("caught:", ctx.message));
   * loop.callSoon(() => { throw new Error("boom"); });
   * loop.callSoon(() => loop.stop());
   * await loop.runForever();
   * loop.close();
   * ```
   */
  setExceptionHandler(handler: ExceptionHandler | null): void {
    if (handler !== null && typeof handler !== "function") {
      throw new TypeError(
        `setExceptionHandler() expects a function or null, got ${describe(handler)}`,
      );
    }
    this._exceptionHandler = handler;
  }

  /**
   * The custom exception handler, or `null`.
   *
   * @example
   * ```ts
   * import { EventLoop } from "@aio/aio";
   * const loop = new EventLoop();
   * console.log(loop.getExceptionHandler()); // null
   * loop.close();
   * ```
   */
  getExceptionHandler(): ExceptionHandler | null {
    return this._exceptionHandler;
  }

  /**
   * Reports `context` to the custom handler, or the default one. An error
   * thrown by the custom handler is reported by the default one.
   *
   * @example
   * ```ts
   * import { EventLoop } from "@aio/aio";
   * const loop = new EventLoop();
   * loop.setExceptionHandler((_l, ctx) => console.log(ctx.message));
   * loop.callExceptionHandler({ message: "something odd" });
   * loop.close();
   * ```
   */
  callExceptionHandler(context: ExceptionContext): void {
    const handler = this._exceptionHandler;
    if (handler === null) {
      this.defaultExceptionHandler(context);
      return;
    }
    try {
      handler(this, context);
    } catch (e) {
      this.defaultExceptionHandler({
        message: "Unhandled error in exception handler",
        exception: e,
        context,
      });
    }
  }

  /**
   * Prints `context` with `console.error`.
   *
   * @example
   * ```ts
   * import { EventLoop } from "@aio/aio";
   * const loop = new EventLoop();
   * loop.defaultExceptionHandler({ message: "shown on stderr" });
   * loop.close();
   * ```
   */
  defaultExceptionHandler(context: ExceptionContext): void {
    const lines = [context.message || "Unhandled exception in event loop"];
    for (const [key, value] of Object.entries(context)) {
      if (key === "message" || key === "exception") continue;
      lines.push(`${key}: ${value}`);
    }
    const exc = context.exception;
    if (exc !== undefined) lines.push(exc instanceof Error && exc.stack ? exc.stack : String(exc));
    console.error(lines.join("\n"));
  }

  /**
   * Turns debug mode on or off.
   *
   * @example
   * ```ts
   * import { EventLoop } from "@aio/aio";
   * const loop = new EventLoop();
   * loop.setDebug(true);
   * console.log(loop.getDebug()); // true
   * loop.close();
   * ```
   */
  setDebug(on: boolean): void {
    this._debug = Boolean(on);
    if (this._debug) suspending.trace = true;
  }

  /**
   * Whether debug mode is on.
   *
   * @example
   * ```ts
   * import { EventLoop } from "@aio/aio";
   * console.log(new EventLoop({ debug: true }).getDebug()); // true
   * ```
   */
  getDebug(): boolean {
    return this._debug;
  }

  /**
   * Every pending task of this loop: its name, state, what it awaits, how
   * long it has waited (debug mode only), who awaits it, where it is
   * suspended (CPython 3.14's `python -m asyncio ps`, as data).
   * {@linkcode formatTasks} prints it as a table and a tree.
   *
   * @example
   * ```ts
   * import { createTask, getRunningLoop, run, sleep } from "@aio/aio";
   * await run(function* main() {
   *   const child = createTask(function* nap() { yield* sleep(50); }, { name: "napper" });
   *   createTask(function* look() {
   *     for (const t of getRunningLoop().dumpTasks()) {
   *       console.log(t.name, t.state, t.awaits); // napper waiting Future(id=…), then Task-1 waiting Task(name="napper"), ...
   *     }
   *   });
   *   yield* child;
   * }, { debug: true });
   * ```
   */
  dumpTasks(): TaskDump[] {
    return dumpTasks(this);
  }

  /**
   * Counters for tests and diagnostics: ready handles, live timers, tasks
   * and promises or jobs in flight.
   *
   * @example
   * ```ts
   * import { EventLoop } from "@aio/aio";
   * const loop = new EventLoop();
   * console.log(loop.stats()); // { ready: 0, timers: 0, handles: 0, inflight: 0 }
   * loop.close();
   * ```
   */
  stats(): { ready: number; timers: number; handles: number; inflight: number } {
    if (!this._closed) this._flushTimers();
    return {
      ready: this._core.readyCount(),
      timers: this._timers,
      handles: this._nextId - this._freeIds.length,
      inflight: this._inflight,
    };
  }

  // ---- internals used by futures, tasks and combinators --------------------

  /** @ignore */
  _checkClosed(): void {
    if (this._closed) throw new RuntimeError("Event loop is closed");
  }

  /** @ignore asyncio's `_check_running`: no second run, and none from inside another loop. */
  _checkNotRunning(): void {
    if (this._running) throw new RuntimeError("This event loop is already running");
    if (peekRunningLoop() !== null) {
      throw new RuntimeError("Cannot run an event loop from a callback of another running loop");
    }
  }

  /** @ignore */
  _allocId(obj: Runnable): number {
    const id = this._freeIds.length > 0 ? this._freeIds.pop()! : this._nextId++;
    if (id >= MAX_ID) throw new RuntimeError("too many pending handles (2^30)");
    this._handles[id] = obj;
    return id;
  }

  /** @ignore */
  _freeId(id: number): void {
    this._handles[id] = undefined;
    this._freeIds.push(id);
  }

  /** @ignore */
  _pushReady(id: number): void {
    this._core.pushReady(id);
    if (this._wakeResolve !== null) this._wake();
  }

  /** @ignore */
  _scheduleTask(task: Task<unknown>): void {
    this._pushReady(task._id);
  }

  /** @ignore A new task takes an id for its whole life and is scheduled. */
  _adoptTask(task: Task<unknown>): number {
    this._liveTasks++;
    const id = this._allocId(task);
    this._pushReady(id);
    return id;
  }

  /**
   * @ignore A task starting eagerly takes its id but is not scheduled: its
   * first step runs now (`Task._eagerStart`) and schedules what follows.
   */
  _adoptEagerTask(task: Task<unknown>): number {
    this._liveTasks++;
    return this._allocId(task);
  }

  /** @ignore */
  _releaseTask(task: Task<unknown>): void {
    this._liveTasks--;
    this._freeId(task._id);
  }

  /** @ignore `callSoon` for futures' done callbacks: no checks, context given. */
  _callSoonInternal(fn: (arg: unknown) => void, arg: unknown, ctx: Context | ContextData): void {
    if (this._closed) return;
    const h = this._callbackPool.pop() ?? new CallbackHandle(this);
    h._fn = fn;
    h._arg = arg;
    if (ctx instanceof Context) h._ctx = ctx;
    else h._data = ctx;
    h._id = this._allocId(h);
    this._pushReady(h._id);
  }

  /**
   * @ignore Timers wait in `_newTimers` until the current iteration ends
   * (or, scheduled between iterations, until the next begins): nothing can
   * fire them sooner, and one cancelled before then, as the timeout around
   * an operation that finished without waiting is, never costs the core an
   * insertion, a cancellation or a handle id.
   */
  _addTimer(h: TimerHandle): void {
    // A timer due at Infinity never fires; it needs no place in the core, and
    // the virtual clock must never jump to it.
    if (h._when === Infinity) return;
    this._newTimers.push(h);
    // A sleeping driver may be waiting for a later deadline.
    if (this._wakeResolve !== null) this._wake();
  }

  /** @ignore Moves the timers still wanted from `_newTimers` into the core, in order. */
  _flushTimers(): void {
    const list = this._newTimers;
    const core = this._core;
    for (let i = 0; i < list.length; i++) {
      const h = list[i];
      if (h._cancelledHandle) continue;
      h._id = this._allocId(h);
      h._token = core.addTimer(h._when === -Infinity ? -Number.MAX_VALUE : h._when, h._id);
      this._timers++;
    }
    list.length = 0;
  }

  /** @ignore */
  _cancelTimer(h: TimerHandle): void {
    // Not in the core yet (or never to be): `_flushTimers` skips it.
    if (this._closed || h._token < 0) return;
    if (this._core.cancelTimer(h._token)) {
      this._timers--;
      this._freeId(h._id);
    }
    // Otherwise it already fired into the ready ring and is skipped there.
  }

  /**
   * @ignore Something outside the loop (a promise, a job) will complete
   * later. A future passed here is cancelled if the loop closes first.
   */
  _beginExternal(fut?: Future<unknown>): void {
    this._inflight++;
    if (fut !== undefined) this._externals.add(fut);
  }

  /** @ignore */
  _endExternal(fut?: Future<unknown>): void {
    this._inflight--;
    if (fut !== undefined) this._externals.delete(fut);
    // With the virtual clock, time may jump again now.
    if (this._inflight === 0 && this._wakeResolve !== null) this._wake();
  }

  /**
   * @ignore Closes every resource still open (servers, connections, child
   * processes, signal listeners) and waits until they are; for `run()`, once
   * the tasks that used them are cancelled. One that fails to close is
   * reported to the exception handler.
   */
  async _closeResources(): Promise<void> {
    while (this._resources.size > 0) {
      const all = [...this._resources];
      this._resources.clear();
      const results = await Promise.allSettled(all.map((r) => r._closeForLoop()));
      for (const r of results) {
        if (r.status === "rejected") {
          this.callExceptionHandler({
            message: "an I/O resource failed to close when the loop ended",
            exception: r.reason,
          });
        }
      }
    }
  }

  /** @ignore Listeners stop accepting (see `LoopResource._stopAccepting`). */
  _stopAccepting(): void {
    for (const r of this._resources) r._stopAccepting?.();
  }

  /** @ignore */
  _pendingTasks(): Set<Task<unknown>> {
    const out = new Set<Task<unknown>>();
    // The table can be large (every pending timer has a slot): skip the scan
    // when no task is alive, as at the end of most runs.
    if (this._liveTasks === 0) return out;
    for (const h of this._handles) {
      if (h instanceof Task && !h.done()) out.add(h);
    }
    return out;
  }

  /** @ignore */
  _getDefaultExecutor(): Executor {
    if (this._defaultExecutor !== null) return this._defaultExecutor;
    if (this._executorShuttingDown) {
      throw new RuntimeError(
        "the default executor was shut down; create a new loop to use one again",
      );
    }
    if (defaultExecutorFactory === null) {
      throw new RuntimeError(
        "no default executor available: import aio's executor module (mod.ts does)",
      );
    }
    return (this._defaultExecutor = defaultExecutorFactory());
  }

  // ---- one iteration ------------------------------------------------------

  /**
   * @ignore One iteration: due timers join the ready ring behind what is
   * there, then exactly the handles ready at this moment run. Returns how
   * many ran.
   */
  _runOnce(): number {
    const core = this._core;
    if (this._newTimers.length > 0) this._flushTimers();
    if (this._timers > 0) this._timers -= core.advance(this.time());
    let n = core.readyCount();
    if (n === 0) return 0;
    const total = n;
    const prev = setRunningLoop(this);
    if (this._debug) {
      this._runDebug(n);
    } else {
      const handles = this._handles;
      let h: Runnable | undefined;
      while (n > 0) {
        try {
          while (n > 0) {
            n--;
            h = handles[core.popReady()]!;
            h._run();
          }
        } catch (e) {
          this._callbackFailed(e, h);
        }
      }
    }
    setRunningLoop(prev);
    if (this._newTimers.length > 0) this._flushTimers();
    return total;
  }

  /** @ignore The same iteration, timing each callback. */
  _runDebug(n: number): void {
    const core = this._core;
    for (; n > 0; n--) {
      const h = this._handles[core.popReady()]!;
      // Described before it runs: a recycled callback handle forgets itself.
      const what = h instanceof CallbackHandle ? String(h) : null;
      const t0 = performance.now();
      try {
        h._run();
      } catch (e) {
        this._callbackFailed(e, h);
      }
      const took = performance.now() - t0;
      if (took >= this.slowCallbackDuration) {
        console.warn(`Executing ${what ?? h} took ${took.toFixed(3)} ms`);
      }
    }
  }

  /** @ignore */
  _callbackFailed(e: unknown, h: Runnable | undefined): void {
    const ctx: ExceptionContext = { message: `Exception in callback ${h}`, exception: e };
    if (h instanceof CallbackHandle) ctx.future = h._arg as Future<unknown>;
    if (h instanceof Handle) {
      ctx.handle = h;
      const tb = handleTracebacks.get(h);
      if (tb !== undefined) ctx.sourceTraceback = tb;
    }
    this.callExceptionHandler(ctx);
  }

  /** @ignore */
  _reportUnretrieved(): void {
    for (const ref of this._unretrieved) {
      const f = ref.deref();
      if (f === undefined || !f._logTraceback) continue;
      f._logTraceback = false;
      const isTask = f instanceof Task;
      const ctx: ExceptionContext = {
        message: `${isTask ? "Task" : "Future"} exception was never retrieved`,
        exception: f._exception,
        future: f,
      };
      if (isTask && f._sourceTraceback) ctx.sourceTraceback = f._sourceTraceback;
      this.callExceptionHandler(ctx);
    }
    this._unretrieved.clear();
  }

  // ---- the host driver --------------------------------------------------

  /** @ignore Runs iterations until stopped, sharing the thread with Deno. */
  async _drive(): Promise<void> {
    const core = this._core;
    for (;;) {
      await this._runBusy();
      if (this._stopping) return;
      if (core.readyCount() > 0) {
        // The slice is used up: let the host run (I/O, timers, workers).
        await this._hop();
        continue;
      }
      // Idle: nothing is ready. A promise callback that ran since the last
      // iteration may have scheduled a timer.
      if (this._newTimers.length > 0) this._flushTimers();
      if (this._virtual) {
        if (this._inflight === 0 && this._timers > 0) {
          const t = core.nextDeadline();
          if (t > this._vnow) this._vnow = t;
          await null;
          continue;
        }
        await this._hostWait(Infinity);
      } else if (this._timers > 0) {
        const wait = core.nextDeadline() - performance.now();
        if (wait > 0) await this._hostWait(wait);
        else await null;
      } else {
        await this._hostWait(Infinity);
      }
    }
  }

  /**
   * @ignore Iterations, the first at once and then one per microtask turn
   * (so promise settlements get in between), until the loop stops, nothing
   * is ready, or a slice of host time is used up. A plain function re-queued
   * as a reaction to a settled promise costs about 20 ns a turn where `await
   * null` in the async driver costs 30, and a busy loop takes one turn per
   * iteration.
   */
  _runBusy(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const core = this._core;
      const sliceStart = performance.now();
      let work = 0;
      const iterate = () => {
        try {
          work += this._runOnce();
          if (this._stopping || core.readyCount() === 0) return resolve();
          if (work >= 1024) {
            work = 0;
            if (performance.now() - sliceStart >= SLICE_MS) return resolve();
          }
          RESOLVED.then(iterate);
        } catch (e) {
          reject(e);
        }
      };
      iterate();
    });
  }

  /** @ignore Waits until woken, or `ms` passed; no CPU while waiting long. */
  _hostWait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this._wakeResolve = resolve;
      if (ms < HOST_TIMER_MIN_MS) {
        this._hopResolve = resolve;
        this._port().postMessage(null);
        return;
      }
      // A long wait: an open port would keep Deno alive even with nothing
      // left to do, hiding a deadlock as a hang.
      this._closeChannel();
      if (ms !== Infinity) {
        this._hostTimer = setTimeout(this._onHostTimer, Math.max(0, Math.floor(ms) - 1));
      }
    });
  }

  /** @ignore */
  _onHostTimer = (): void => {
    this._hostTimer = undefined;
    this._wake();
  };

  /** @ignore Wakes the driver from `_hostWait`. */
  _wake(): void {
    const resolve = this._wakeResolve;
    if (resolve === null) return;
    this._wakeResolve = null;
    this._hopResolve = null;
    if (this._hostTimer !== undefined) {
      clearTimeout(this._hostTimer);
      this._hostTimer = undefined;
    }
    resolve();
  }

  /** @ignore A macrotask turn without setTimeout's clamp. */
  _hop(): Promise<void> {
    return new Promise<void>((resolve) => {
      this._hopResolve = resolve;
      this._port().postMessage(null);
    });
  }

  /** @ignore */
  _port(): MessagePort {
    if (this._channel === null) {
      this._channel = new MessageChannel();
      this._channel.port1.onmessage = () => {
        const r = this._hopResolve;
        this._hopResolve = null;
        if (r !== null) {
          if (this._wakeResolve === r) this._wakeResolve = null;
          r();
        }
      };
    }
    return this._channel.port2;
  }

  /** @ignore */
  _closeChannel(): void {
    const ch = this._channel;
    if (ch !== null) {
      this._channel = null;
      ch.port1.close();
      ch.port2.close();
    }
  }

  /** @ignore Drops every host resource: timer, channel. */
  _releaseHost(): void {
    if (this._hostTimer !== undefined) {
      clearTimeout(this._hostTimer);
      this._hostTimer = undefined;
    }
    this._wakeResolve = null;
    this._hopResolve = null;
    this._closeChannel();
  }
}

function checkCallback(fn: unknown, what: string): void {
  if (typeof fn !== "function") {
    throw new TypeError(`${what} expects a function, got ${describe(fn)}`);
  }
}

/**
 * A new event loop (asyncio's `new_event_loop()`).
 *
 * @example
 * ```ts
 * import { newEventLoop } from "@aio/aio";
 * const loop = newEventLoop({ clock: "virtual" });
 * console.log(loop.core); // "wasm"
 * loop.close();
 * ```
 *
 * @category Running
 */
export function newEventLoop(options?: EventLoopOptions): EventLoop {
  return new EventLoop(options);
}
