/**
 * Task: a coroutine scheduled on the event loop (asyncio's `Task`). The loop
 * steps the generator itself, so cancellation arrives as a `CancelledError`
 * thrown at the suspension point and `finally` blocks run.
 *
 * @module
 */
import { type Context, copyContext, swapContext } from "./context.ts";
import { CancelledError, makeCancelledError, RuntimeError, ValueError } from "./errors.ts";
import { Future, PENDING, suspending } from "./future.ts";
import type { EventLoop } from "./loop.ts";
import { getRunningLoop, peekRunningLoop } from "./running.ts";
import { abortTaskSignal } from "./task_signal.ts";
import { describe, isCoroutine } from "./util.ts";

/**
 * What a `function*` coroutine returns when called: aio's `async def`.
 * It waits with `yield*` (a future, a task, another coroutine); a bare
 * `yield` with no value gives other tasks one turn. A bare `yield` of
 * anything else (a future: a missing `*`) fails the task with a `TypeError`.
 *
 * @category Tasks and futures
 */
export type Coroutine<T> = Generator<Future<unknown> | undefined, T, unknown>;

/**
 * Anything `yield*` can wait on: a future, a task, or a coroutine.
 *
 * @category Tasks and futures
 */
export type Awaitable<T> = Future<T> | Coroutine<T>;

/**
 * Options for creating a task.
 *
 * @category Tasks and futures
 */
export interface TaskOptions {
  /** The task's name; default `Task-N`. */
  name?: string;
  /** The context the task runs in; default a copy of the current one. */
  context?: Context;
  /**
   * Run the first step now, inside `createTask` (CPython 3.12's eager
   * tasks): a coroutine that finishes without suspending gives a task that
   * is already done and was never scheduled. Only when called from a task or
   * callback of the task's loop; elsewhere the first step is scheduled as
   * usual (CPython: when the loop is not running).
   */
  eagerStart?: boolean;
}

let taskCounter = 0;

/**
 * The task a coroutine object was given to, set when the task takes it: a
 * coroutine runs once, so a second task (or `run`) for it is refused, as
 * CPython's "cannot reuse already awaited coroutine". A symbol-keyed property
 * rather than a WeakSet: one store per task, and the read on a fresh
 * generator misses through a cached prototype chain.
 */
const OWNER = Symbol("aio.task");
type Owned = { [OWNER]?: Task<unknown> };

/** Where each task was created, in debug mode only. */
const taskTracebacks = new WeakMap<Task<unknown>, string | undefined>();

/**
 * A coroutine running on the loop. Tasks are futures: wait for one with
 * `yield* task` (or `await task` from plain async code). Create them with
 * {@linkcode createTask}; their first step runs in a later loop iteration,
 * or at once with `eagerStart` (see {@linkcode TaskOptions}).
 *
 * @example
 * ```ts
 * import { createTask, run, sleep } from "@aio/aio";
 * function* work(ms: number) {
 *   yield* sleep(ms);
 *   return ms * 2;
 * }
 * console.log(await run(function* () {
 *   const t = createTask(work(10), { name: "worker" });
 *   console.log(t.getName()); // "worker"
 *   return yield* t; // 20
 * }));
 * ```
 *
 * @category Tasks and futures
 */
export class Task<T = unknown> extends Future<T> {
  // While a task is pending, either `_futWaiter` is null and its id is on
  // the loop's ready ring (its next step is scheduled), or `_futWaiter` is
  // the one future it waits on and its id is not on the ring (that future's
  // wakeup will push it). The one exception is an eager first step
  // (`_eagerStart`), which runs before the id was ever pushed.
  /** @ignore */
  declare _loop: EventLoop;
  /** @ignore */
  _coro: Coroutine<T>;
  /**
   * @ignore The name given, or the N of the default `Task-N`: the string
   * is made only when someone asks (see `getName`).
   */
  _name: string | number;
  /** @ignore */
  _context: Context;
  /** @ignore The loop handle id this task owns while pending: pushing it schedules a step. */
  _id: number;
  /** @ignore */
  _futWaiter: Future<unknown> | null = null;
  /** @ignore */
  _mustCancel = false;
  /** @ignore */
  _numCancelsRequested = 0;
  /** @ignore An exception to throw into the coroutine at its next step. */
  _pendingExc: unknown = undefined;
  /** @ignore Behind `taskSignal()`, made on its first call (task_signal.ts owns it). */
  _signalController: AbortController | null = null;

  /**
   * Wraps `coro` in a task on `loop` and schedules its first step. Prefer
   * {@linkcode createTask}.
   */
  constructor(coro: Coroutine<T>, loop: EventLoop, options?: TaskOptions) {
    super(loop);
    if (!isCoroutine(coro)) throw notCoroutine("a Task", coro);
    const owner = (coro as Owned)[OWNER];
    if (owner !== undefined) throw reusedCoroutine(owner);
    loop._checkClosed();
    this._coro = coro;
    this._name = options?.name !== undefined ? String(options.name) : ++taskCounter;
    this._context = options?.context ?? copyContext();
    if (loop._debug) taskTracebacks.set(this, new Error().stack);
    (coro as Owned)[OWNER] = this;
    if (options?.eagerStart === true && peekRunningLoop() === loop) {
      this._id = loop._adoptEagerTask(this);
      this._eagerStart();
    } else {
      this._id = loop._adoptTask(this);
    }
  }

  /**
   * @ignore The first step, run inside the constructor (CPython's
   * `Task.__eager_start`): the task is the current task while it runs and
   * the caller's current task comes back after (`_swap_current_task`). The
   * task holds an id but is not on the ready ring, so the invariant at the
   * top of the class holds once the step returns: a step that finished the
   * task released the id (never scheduled), one that suspended either
   * pushed the id (a bare `yield`) or waits on one future.
   */
  _eagerStart(): void {
    const loop = this._loop;
    const prevTask = loop._currentTask;
    try {
      this._run();
    } finally {
      loop._currentTask = prevTask;
    }
  }

  /**
   * The task's name.
   *
   * @example
   * ```ts
   * import { createTask, run } from "@aio/aio";
   * await run(function* () {
   *   const t = createTask((function* () {})(), { name: "fetch" });
   *   console.log(t.getName()); // "fetch"
   * });
   * ```
   */
  getName(): string {
    const name = this._name;
    return typeof name === "string" ? name : `Task-${name}`;
  }

  /** @ignore Where the task was created, in debug mode (asyncio's `_source_traceback`). */
  get _sourceTraceback(): string | undefined {
    return taskTracebacks.get(this);
  }

  /**
   * Renames the task.
   *
   * @example
   * ```ts
   * import { currentTask, run } from "@aio/aio";
   * await run(function* () {
   *   currentTask()!.setName("main");
   *   console.log(currentTask()!.getName()); // "main"
   * });
   * ```
   */
  setName(name: unknown): void {
    this._name = String(name);
  }

  /**
   * The coroutine object this task runs.
   *
   * @example
   * ```ts
   * import { createTask, run } from "@aio/aio";
   * await run(function* () {
   *   const coro = (function* () {})();
   *   console.log(createTask(coro).getCoro() === coro); // true
   * });
   * ```
   */
  getCoro(): Coroutine<T> {
    return this._coro;
  }

  /**
   * The context the task runs in.
   *
   * @example
   * ```ts
   * import { ContextVar, currentTask, run } from "@aio/aio";
   * const v = new ContextVar("v", { default: 0 });
   * await run(function* () {
   *   v.set(5);
   *   console.log(currentTask()!.getContext().get(v)); // 5
   * });
   * ```
   */
  getContext(): Context {
    return this._context;
  }

  /**
   * Requests cancellation: the coroutine receives a `CancelledError` (with
   * `msg`) at its current suspension point, and a future it waits on is
   * cancelled. Returns `false` if the task is already done. The coroutine may
   * catch the error; a task that does and goes on should call
   * {@linkcode Task.uncancel}.
   *
   * @example
   * ```ts
   * import { createTask, run, sleep } from "@aio/aio";
   * await run(function* () {
   *   const t = createTask(sleep(60_000));
   *   yield;
   *   console.log(t.cancel("bye"), t.cancelling()); // true 1
   *   try { yield* t; } catch (e) { console.log((e as Error).name); } // CancelledError
   * });
   * ```
   */
  override cancel(msg?: string): boolean {
    if (this._tbRef !== null) this._retrieved();
    if (this._state !== PENDING) return false;
    this._numCancelsRequested++;
    // taskSignal() aborts at the request, so a fetch in flight stops at once.
    if (this._signalController !== null) abortTaskSignal(this._signalController, msg);
    const waiter = this._futWaiter;
    if (waiter !== null && waiter.cancel(msg)) {
      // The waiter's done callback will step us; nothing else to arrange.
      return true;
    }
    this._mustCancel = true;
    this._cancelMessage = msg;
    return true;
  }

  /**
   * How many cancellation requests are pending (incremented by `cancel()`,
   * decremented by `uncancel()`).
   *
   * @example
   * ```ts
   * import { currentTask, run } from "@aio/aio";
   * await run(function* () {
   *   console.log(currentTask()!.cancelling()); // 0
   * });
   * ```
   */
  cancelling(): number {
    return this._numCancelsRequested;
  }

  /**
   * Withdraws one cancellation request; returns the remaining count. Used by
   * code that caught a `CancelledError` on purpose (timeouts, task groups).
   *
   * @example
   * ```ts
   * import { currentTask, run } from "@aio/aio";
   * await run(function* () {
   *   const me = currentTask()!;
   *   me.cancel();
   *   console.log(me.uncancel()); // 0: the request is withdrawn
   * });
   * ```
   */
  uncancel(): number {
    if (this._numCancelsRequested > 0) {
      this._numCancelsRequested--;
      if (this._numCancelsRequested === 0) this._mustCancel = false;
    }
    return this._numCancelsRequested;
  }

  /**
   * Tasks complete by running; setting their result from outside is a
   * `RuntimeError`, as in asyncio.
   */
  override setResult(_value: T): never {
    throw new RuntimeError(
      "Task does not support setResult(): a task's result is what its coroutine returns",
    );
  }

  /**
   * Tasks complete by running; setting their exception from outside is a
   * `RuntimeError`, as in asyncio.
   */
  override setException(_exception: unknown): never {
    throw new RuntimeError(
      "Task does not support setException(): a task fails when its coroutine throws",
    );
  }

  /** @ignore */
  override _reprInfo(): string[] {
    const info = super._reprInfo();
    if (this._state === PENDING && this._numCancelsRequested > 0) info[1] = "cancelling";
    info.splice(2, 0, `name=${this.getName()}`, `coro=${coroName(this._coro)}`);
    if (this._futWaiter !== null) info.push(`waitFor=${this._futWaiter}`);
    return info;
  }

  /**
   * @ignore One resumption of the coroutine, CPython's `Task.__step`. The
   * loop calls it when the task's id comes off the ready ring; it is the
   * hottest path in aio, so the rare cases sit behind one branch.
   */
  _run(): void {
    const loop = this._loop;
    if (this._state !== PENDING) {
      // Cannot happen unless a wakeup was scheduled twice; report, don't crash the loop.
      loop.callExceptionHandler({
        message: `step of a task that is already done: ${this}`,
        task: this,
      });
      return;
    }
    let exc = this._pendingExc;
    if (exc !== undefined || this._mustCancel) exc = this._takeStepException(exc);
    this._futWaiter = null;
    loop._currentTask = this;
    const prevCtx = swapContext(this._context);
    let r: IteratorResult<Future<unknown> | undefined, T>;
    try {
      r = exc === undefined ? this._coro.next() : this._coro.throw(exc);
    } catch (e) {
      swapContext(prevCtx);
      loop._currentTask = null;
      this._fail(e);
      return;
    }
    swapContext(prevCtx);
    loop._currentTask = null;
    if (r.done) {
      if (this._mustCancel) {
        // Cancelled after its last suspension point: the request still wins.
        this._mustCancel = false;
        this._doCancel(this._cancelMessage);
      } else {
        this._doSetResult(r.value);
      }
      loop._releaseTask(this);
      return;
    }
    const y = r.value;
    if (y === undefined) {
      loop._pushReady(this._id);
    } else if (y === suspending.fut) {
      // Came through `yield* future`: anything else, a bare `yield future`
      // included, is a bad yield.
      suspending.fut = null;
      this._waitOn(y);
    } else {
      this._pendingExc = new TypeError(badYieldMessage(this, y));
      loop._pushReady(this._id);
    }
  }

  /** @ignore What to throw into the coroutine at this step, if anything. */
  _takeStepException(exc: unknown): unknown {
    this._pendingExc = undefined;
    if (this._mustCancel) {
      // A deferred cancel (the waiter was done, or refused): the coroutine
      // gets the CancelledError instead of the waiter's outcome. CPython's
      // wakeup reads that outcome first, so a failed waiter counts as
      // retrieved and is not reported as "never retrieved".
      const waiter = this._futWaiter;
      if (waiter !== null && waiter._logTraceback) waiter._retrieved();
      // A fresh error, not `_makeCancelledError()`: that one caches, and a
      // task that caught an earlier cancellation and was cancelled again
      // would get the old error with the old message.
      if (!(exc instanceof CancelledError)) {
        exc = makeCancelledError(this._cancelMessage, this._loop._debug);
      }
      this._mustCancel = false;
    }
    return exc;
  }

  /** @ignore */
  _waitOn(fut: Future<unknown>): void {
    const loop = this._loop;
    if (fut._loop !== loop) {
      if (fut._loop === null) {
        fut._loop = loop;
      } else {
        this._pendingExc = new RuntimeError(
          `Task ${this.getName()} awaited ${fut} that belongs to a different event loop`,
        );
        loop._pushReady(this._id);
        return;
      }
    }
    if (fut === this) {
      this._pendingExc = new RuntimeError(`Task ${this.getName()} cannot await itself`);
      loop._pushReady(this._id);
      return;
    }
    fut._addWakeup(this);
    this._futWaiter = fut;
    if (this._mustCancel && fut.cancel(this._cancelMessage)) this._mustCancel = false;
  }

  /** @ignore The coroutine threw: the task is cancelled or failed. */
  _fail(e: unknown): void {
    if (e instanceof CancelledError) {
      this._cancelledExc = e;
      this._doCancel(undefined);
    } else {
      this._doSetException(
        e === undefined
          ? new TypeError(`Task ${this.getName()}: its coroutine threw undefined`)
          : e,
      );
    }
    this._loop._releaseTask(this);
  }
}

function coroName(coro: object): string {
  // A generator object does not reveal its function; createTask records the
  // name when it is handed a coroutine function instead.
  return (coro as { _aioName?: string })._aioName ?? "coroutine";
}

/** The TypeError for a value given where a coroutine is needed. */
function notCoroutine(what: string, x: unknown): TypeError {
  if (x instanceof Future) {
    const kind = x instanceof Task ? "Task" : "Future";
    return new TypeError(
      `${what} needs a coroutine (what calling a function* returns), got a ${kind}: a ${kind} ` +
        `is not a coroutine${kind === "Task" ? " (it already runs)" : ""}. Wait for it with ` +
        `yield* ${kind.toLowerCase()}, or pass the function* (or what calling it returns) instead`,
    );
  }
  return new TypeError(
    `${what} needs a coroutine (what calling a function* returns), got ${describe(x)}`,
  );
}

/** The RuntimeError for a coroutine object that a task already took. */
function reusedCoroutine(owner: Task<unknown>): RuntimeError {
  return new RuntimeError(
    `cannot reuse already awaited coroutine: this coroutine object belongs to ${owner}, and a ` +
      `coroutine runs once. Call the function* again for a new coroutine (createTask(work()) ` +
      `each time), or yield* that task to wait for its result`,
  );
}

function badYieldMessage(task: Task<unknown>, y: unknown): string {
  if (isCoroutine(y)) {
    return `Task ${task.getName()} yielded a coroutine object: use yield* to await a coroutine, not yield`;
  }
  if (y instanceof Future) {
    const kind = y instanceof Task ? "Task" : "Future";
    return `Task ${task.getName()} yielded ${y} with a bare yield: write yield* ${kind.toLowerCase()} ` +
      `to wait for a ${kind} (a bare yield takes no value; alone it gives other tasks one turn)`;
  }
  return `Task ${task.getName()} got bad yield: ${
    describe(y)
  }. A coroutine may yield* a Future, Task or coroutine, or yield nothing to give other tasks a turn`;
}

/**
 * Wraps a coroutine in a {@linkcode Task} on the running loop and schedules
 * it; its first step runs in a later loop iteration, or at once with
 * `{ eagerStart: true }` (then a coroutine that finishes without suspending
 * gives a task already done). The loop's task factory, if it has one
 * (`loop.setTaskFactory`), makes the task. Accepts a coroutine
 * object or a zero-argument coroutine function (then the task's repr names
 * it). A non-coroutine is a `TypeError` naming the value (a Future or Task is
 * not a coroutine: `yield*` it instead). A coroutine object runs once: one
 * that a task already took is a `RuntimeError` ("cannot reuse already
 * awaited coroutine"); call the `function*` again for a new one.
 *
 * @example
 * ```ts
 * import { createTask, run, sleep } from "@aio/aio";
 * await run(function* () {
 *   const a = createTask(sleep(20, "a"));
 *   const b = createTask(sleep(10, "b"));
 *   console.log(yield* a, yield* b); // "a" "b" after 20 ms, not 30
 * });
 * ```
 *
 * @category Tasks and futures
 */
export function createTask<T>(
  coro: Coroutine<T> | (() => Coroutine<T>),
  options?: TaskOptions,
): Task<T> {
  return getRunningLoop().createTask(coro, options);
}

/**
 * Makes the task for {@linkcode EventLoop.createTask} once a loop has one
 * (`loop.setTaskFactory`): given the loop, the coroutine object and the
 * caller's options, it returns a {@linkcode Task} bound to that loop.
 *
 * @example
 * ```ts
 * import { EventLoop, Task, type TaskFactory } from "@aio/aio";
 * let made = 0;
 * const counting: TaskFactory = (loop, coro, options) => {
 *   made++;
 *   return new Task(coro, loop, options);
 * };
 * const loop = new EventLoop({ clock: "virtual" });
 * loop.setTaskFactory(counting);
 * await loop.runUntilComplete((function* () {})());
 * console.log(made); // 1
 * loop.close();
 * ```
 *
 * @category Tasks and futures
 */
export type TaskFactory = <T>(
  loop: EventLoop,
  coro: Coroutine<T>,
  options?: TaskOptions,
) => Task<T>;

/**
 * A task class (or function) that {@linkcode createEagerTaskFactory} can
 * call as `new ctor(coro, loop, options)`: {@linkcode Task} or a subclass.
 *
 * @category Tasks and futures
 */
export type TaskConstructor = new <T>(
  coro: Coroutine<T>,
  loop: EventLoop,
  options?: TaskOptions,
) => Task<T>;

/** The options an eager factory passes when the caller gave none: one object for every task. */
const EAGER: TaskOptions = Object.freeze({ eagerStart: true });

/**
 * A task factory whose tasks start eagerly (CPython 3.12's
 * `create_eager_task_factory`): each task is made with
 * `new customTaskConstructor(coro, loop, { ...options, eagerStart: true })`,
 * unless the caller asked for `eagerStart: false` (CPython 3.14).
 *
 * @example
 * ```ts
 * import { createEagerTaskFactory, createTask, getRunningLoop, run, Task } from "@aio/aio";
 * class MyTask<T> extends Task<T> {}
 * await run(function* () {
 *   getRunningLoop().setTaskFactory(createEagerTaskFactory(MyTask));
 *   const t = createTask(function* () { return 1; });
 *   console.log(t instanceof MyTask, t.done()); // true true
 * });
 * ```
 *
 * @category Tasks and futures
 */
export function createEagerTaskFactory(
  customTaskConstructor: TaskConstructor = Task,
): TaskFactory {
  return <T>(loop: EventLoop, coro: Coroutine<T>, options?: TaskOptions): Task<T> =>
    new customTaskConstructor(
      coro,
      loop,
      options === undefined
        ? EAGER
        : options.eagerStart === undefined
        ? { ...options, eagerStart: true }
        : options,
    );
}

/**
 * The task factory that starts every task eagerly (CPython 3.12's
 * `asyncio.eager_task_factory`): with `loop.setTaskFactory(eagerTaskFactory)`
 * each `createTask` (and each coroutine handed to `gather`, `wait`, a task
 * group...) runs its coroutine's first step at once, and a coroutine that
 * finishes without suspending gives a task that is already done and was
 * never scheduled. Pass `eagerStart: false` to `createTask` to opt one task
 * out.
 *
 * @example
 * ```ts
 * import { createTask, eagerTaskFactory, getRunningLoop, run } from "@aio/aio";
 * await run(function* () {
 *   getRunningLoop().setTaskFactory(eagerTaskFactory);
 *   const t = createTask(function* () { return "at once"; });
 *   console.log(t.done(), t.result()); // true "at once"
 * });
 * ```
 *
 * @category Tasks and futures
 */
export const eagerTaskFactory: TaskFactory = createEagerTaskFactory(Task);

/** @internal Turns a coroutine function into a coroutine, remembering its name. */
export function toCoroutine<T>(
  coro: Coroutine<T> | (() => Coroutine<T>),
  what: string,
): Coroutine<T> {
  if (typeof coro === "function") {
    const fn = coro;
    // Refuse async functions before calling them: calling one would start
    // its body (and a rejection would go unhandled) only to fail here.
    const kind = (fn as { constructor?: { name?: string } }).constructor?.name;
    if (kind === "AsyncFunction" || kind === "AsyncGeneratorFunction") {
      throw new TypeError(
        `${what} expects a coroutine or a coroutine function (function*), got ${
          describe(fn)
        }: wrap a promise with fromPromise()`,
      );
    }
    const made = fn();
    if (!isCoroutine(made)) {
      throw new TypeError(
        `${what} expects a coroutine or a coroutine function; ${describe(fn)} returned ${
          describe(made)
        }`,
      );
    }
    (made as { _aioName?: string })._aioName = fn.name || "anonymous";
    return made;
  }
  if (!isCoroutine(coro)) throw notCoroutine(what, coro);
  return coro;
}

/**
 * The task whose step is running now on `loop` (default: the running loop),
 * or `null` outside a task.
 *
 * @example
 * ```ts
 * import { currentTask, run } from "@aio/aio";
 * await run(function* () {
 *   console.log(currentTask()?.getName()); // "Task-1" or similar
 * });
 * ```
 *
 * @category Tasks and futures
 */
export function currentTask(loop?: EventLoop): Task<unknown> | null {
  return (loop ?? getRunningLoop())._currentTask;
}

/**
 * The tasks of `loop` (default: the running loop) that are not done.
 *
 * @example
 * ```ts
 * import { allTasks, createTask, run, sleep } from "@aio/aio";
 * await run(function* () {
 *   createTask(sleep(10));
 *   console.log(allTasks().size); // 2: main and the sleeper
 * });
 * ```
 *
 * @category Tasks and futures
 */
export function allTasks(loop?: EventLoop): Set<Task<unknown>> {
  return (loop ?? getRunningLoop())._pendingTasks();
}

/**
 * Makes a future of `x`: a Future or Task is returned unchanged (a
 * `ValueError` if `options.loop` is given and it belongs to another loop); a
 * coroutine is wrapped in a task on `options.loop` or the running loop (a
 * `RuntimeError` if a task already took it); anything else is a `TypeError`.
 *
 * @example
 * ```ts
 * import { ensureFuture, run, sleep } from "@aio/aio";
 * await run(function* () {
 *   const t = ensureFuture(sleep(5, "done"));
 *   console.log(ensureFuture(t) === t, yield* t); // true "done"
 * });
 * ```
 *
 * @category Tasks and futures
 */
export function ensureFuture<T>(x: Awaitable<T>, options?: { loop?: EventLoop }): Future<T> {
  if (x instanceof Future) {
    // As asyncio: a future bound to another loop than the one asked for is
    // a ValueError, not silently returned.
    const loop = options?.loop;
    if (loop !== undefined && x._loop !== null && x._loop !== loop) {
      throw new ValueError(
        "ensureFuture(): the future belongs to a different loop than the one given in options.loop",
      );
    }
    return x;
  }
  if (isCoroutine(x)) return (options?.loop ?? getRunningLoop()).createTask(x as Coroutine<T>);
  throw new TypeError(`ensureFuture() expects a Future, Task or coroutine, got ${describe(x)}`);
}
