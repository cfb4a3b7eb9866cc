/**
 * Future: a result that will exist later (asyncio's `Future`). Tasks wait on
 * futures with `yield*`; plain async code can `await` them.
 *
 * @module
 */
import { captureData, type Context, type ContextData, runCaptured } from "./context.ts";
import {
  type CancelledError,
  InvalidStateError,
  makeCancelledError,
  RuntimeError,
} from "./errors.ts";
import type { EventLoop } from "./loop.ts";
import { peekRunningLoop } from "./running.ts";
import { describe } from "./util.ts";
import { suspensions } from "./_graph_links.ts";
import type { Task } from "./task.ts";

/** @internal */
export const PENDING = 0;
/** @internal */
export const CANCELLED = 1;
/** @internal */
export const FINISHED = 2;

/**
 * @internal The handoff that tells `yield* future` from a bare `yield future`
 * (a missing `*`), CPython's `_asyncio_future_blocking`. The iterator behind
 * `yield* future` (and every hand-written coroutine that waits) stores the
 * future here right before yielding it; the task that receives it takes it
 * back out. The handoff is synchronous, so one slot serves the thread: a
 * future that reaches a task without being in the slot was yielded bare.
 */
export const suspending: { fut: Future<unknown> | null; trace: boolean } = {
  fut: null,
  // True once any loop turned debug mode on: `yield* future` then records
  // where the task suspends (see `traceSuspension`). Outside debug mode the
  // suspension path pays one load and one untaken branch.
  trace: false,
};

/**
 * @internal Debug mode only: records where the current task suspends on `fut`, while
 * the coroutine's `yield*` chain is still on the stack, and when.
 */
export function traceSuspension(fut: Future<unknown>): void {
  const loop = fut._loop ?? peekRunningLoop();
  if (loop === null || !loop._debug) return;
  const task = loop._currentTask;
  if (task === null) return;
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 100; // room for a deep yield* chain (V8 keeps 10 frames)
  const stack = new Error().stack;
  Error.stackTraceLimit = limit;
  suspensions.set(task, { fut, stack, at: loop.time() });
}

/**
 * A done callback: receives the future that completed.
 *
 * @category Tasks and futures
 */
export type DoneCallback<F> = (future: F) => void;

/**
 * Unretrieved-exception bookkeeping: the registry fires when a failed future
 * nobody asked about is garbage collected; the loop reports the rest at close.
 */
interface Unretrieved {
  loop: EventLoop;
  ref: WeakRef<Future<unknown>>;
  exception: unknown;
  what: string;
}
const collected = new FinalizationRegistry<Unretrieved>((held) => {
  if (held.loop._unretrieved.delete(held.ref) && !held.loop.isClosed()) {
    held.loop.callExceptionHandler({
      message: `${held.what} exception was never retrieved`,
      exception: held.exception,
    });
  }
});

/**
 * The outcome of an operation that has not finished yet: pending, then either
 * a result, an exception, or cancelled. Callbacks added with
 * {@linkcode Future.addDoneCallback} are scheduled on the loop, in
 * registration order, when it completes.
 *
 * Inside a coroutine `yield* future` suspends the task until the future is
 * done and evaluates to its result (or throws). In plain async code
 * `await future` does the same.
 *
 * @example
 * ```ts
 * import { getRunningLoop, run } from "@aio/aio";
 * const value = await run(function* () {
 *   const loop = getRunningLoop();
 *   const fut = loop.createFuture<number>();
 *   loop.callLater(10, () => fut.setResult(42));
 *   return yield* fut;
 * });
 * console.log(value); // 42
 * ```
 *
 * @category Tasks and futures
 */
export class Future<T = unknown> implements PromiseLike<T> {
  /** @ignore */
  _state: number = PENDING;
  /** @ignore */
  _result: T | undefined = undefined;
  /** @ignore */
  _exception: unknown = undefined;
  /** @ignore Failed and nobody has looked at the exception yet. */
  _logTraceback = false;
  /** @ignore */
  _loop: EventLoop | null;
  /** @ignore Pairs of (callback or waiting Task, Context, ContextData or null). */
  _callbacks: unknown[] | null = null;
  /**
   * @ignore The first registration (a waiting Task or a callback), kept
   * out of `_callbacks` while it is the only one: the common case of one
   * waiter needs no array. Set only while `_callbacks` is null.
   */
  _first: unknown = null;
  /** @ignore The context of `_first` when it is a callback. */
  _firstCtx: Context | ContextData | null = null;
  /** @ignore */
  _cancelMessage: string | undefined = undefined;
  /** @ignore The CancelledError a task's coroutine raised, kept so `result()` rethrows it. */
  _cancelledExc: CancelledError | null = null;
  /** @ignore */
  _tbRef: WeakRef<Future<unknown>> | null = null;
  /** @ignore The promise `then()` made, and what settles it; rare, so one field. */
  _promise: { promise: Promise<T>; settle: () => void } | null = null;

  /**
   * Creates a pending future on `loop`, or on the running loop. A future
   * created outside any loop binds to the first loop whose task awaits it.
   * Prefer `loop.createFuture()`.
   */
  constructor(loop?: EventLoop) {
    this._loop = loop ?? peekRunningLoop();
  }

  /**
   * Whether the future has a result, an exception, or was cancelled.
   *
   * @example
   * ```ts
   * import { Future } from "@aio/aio";
   * const f = new Future<number>();
   * f.setResult(1);
   * console.log(f.done()); // true
   * ```
   */
  done(): boolean {
    return this._state !== PENDING;
  }

  /**
   * Whether the future was cancelled.
   *
   * @example
   * ```ts
   * import { Future } from "@aio/aio";
   * const f = new Future();
   * f.cancel();
   * console.log(f.cancelled()); // true
   * ```
   */
  cancelled(): boolean {
    return this._state === CANCELLED;
  }

  /**
   * The result. Throws `InvalidStateError` while pending, the
   * `CancelledError` if cancelled, and the exception if it failed.
   *
   * @example
   * ```ts
   * import { Future } from "@aio/aio";
   * const f = new Future<string>();
   * f.setResult("ok");
   * console.log(f.result()); // "ok"
   * ```
   */
  result(): T {
    if (this._state === FINISHED) {
      if (this._logTraceback || this._tbRef !== null) this._retrieved();
      if (this._exception !== undefined) throw this._exception;
      return this._result as T;
    }
    if (this._state === CANCELLED) throw this._makeCancelledError();
    throw new InvalidStateError("Result is not ready: the future is still pending.");
  }

  /**
   * The exception the future failed with, or `undefined` if it succeeded.
   * Throws like {@linkcode Future.result} when pending or cancelled.
   *
   * @example
   * ```ts
   * import { Future } from "@aio/aio";
   * const f = new Future();
   * f.setException(new Error("boom"));
   * console.log((f.exception() as Error).message); // "boom"
   * ```
   */
  exception(): unknown {
    if (this._state === FINISHED) {
      this._retrieved();
      return this._exception;
    }
    if (this._state === CANCELLED) throw this._makeCancelledError();
    throw new InvalidStateError("Exception is not set: the future is still pending.");
  }

  /**
   * Marks the future done with `value` and schedules its callbacks.
   * `InvalidStateError` if it is already done.
   *
   * @example
   * ```ts
   * import { Future } from "@aio/aio";
   * const f = new Future<number>();
   * f.setResult(3);
   * console.log(f.result()); // 3
   * ```
   */
  setResult(value: T): void {
    if (this._state !== PENDING) {
      throw new InvalidStateError(`setResult() on a future that is already ${this._stateName()}`);
    }
    this._doSetResult(value);
  }

  /** @ignore */
  _doSetResult(value: T): void {
    this._result = value;
    this._state = FINISHED;
    this._scheduleCallbacks();
  }

  /**
   * Marks the future failed with `exception` and schedules its callbacks.
   * `InvalidStateError` if it is already done. An exception nobody retrieves
   * is reported through the loop's exception handler.
   *
   * @example
   * ```ts
   * import { Future } from "@aio/aio";
   * const f = new Future();
   * f.setException(new RangeError("bad"));
   * console.log(f.exception() instanceof RangeError); // true
   * ```
   */
  setException(exception: unknown): void {
    if (this._state !== PENDING) {
      throw new InvalidStateError(
        `setException() on a future that is already ${this._stateName()}`,
      );
    }
    if (exception === undefined) {
      throw new TypeError("setException() needs an exception; undefined means success in aio");
    }
    this._doSetException(exception);
  }

  /** @ignore */
  _doSetException(exception: unknown): void {
    this._exception = exception;
    this._state = FINISHED;
    this._trackUnretrieved();
    this._scheduleCallbacks();
  }

  /**
   * Cancels the future and schedules its callbacks. Returns `false` if it
   * was already done. `msg` becomes the `CancelledError`'s message.
   *
   * @example
   * ```ts
   * import { Future } from "@aio/aio";
   * const f = new Future();
   * console.log(f.cancel("stop"), f.cancel()); // true false
   * ```
   */
  cancel(msg?: string): boolean {
    if (this._tbRef !== null) this._retrieved();
    if (this._state !== PENDING) return false;
    this._doCancel(msg);
    return true;
  }

  /** @ignore */
  _doCancel(msg: string | undefined): void {
    this._state = CANCELLED;
    this._cancelMessage = msg;
    this._scheduleCallbacks();
  }

  /**
   * Calls `fn(future)` through the loop's `callSoon` once the future is done
   * (at once, if it already is), in the context current now or in
   * `options.context`.
   *
   * @example
   * ```ts
   * import { getRunningLoop, run } from "@aio/aio";
   * await run(function* () {
   *   const fut = getRunningLoop().createFuture<string>();
   *   fut.addDoneCallback((f) => console.log("got", f.result()));
   *   fut.setResult("Foo!");
   *   yield; // the callback runs in the next loop iteration
   * });
   * ```
   */
  addDoneCallback(fn: DoneCallback<this>, options?: { context?: Context }): void {
    if (typeof fn !== "function") {
      throw new TypeError(`addDoneCallback() expects a function, got ${describe(fn)}`);
    }
    const ctx = options?.context ?? captureData();
    if (this._state !== PENDING) {
      if (this._loop === null) queueMicrotask(() => runCaptured(ctx, fn, this));
      else this._loop._callSoonInternal(fn as (f: unknown) => void, this, ctx);
      return;
    }
    this._register(fn, ctx);
  }

  /**
   * Removes every registration of `fn`; returns how many were removed.
   *
   * @example
   * ```ts
   * import { Future } from "@aio/aio";
   * const f = new Future();
   * const cb = () => {};
   * f.addDoneCallback(cb);
   * f.addDoneCallback(cb);
   * console.log(f.removeDoneCallback(cb)); // 2
   * ```
   */
  removeDoneCallback(fn: DoneCallback<this>): number {
    if (this._first === fn) {
      this._first = null;
      this._firstCtx = null;
      return 1;
    }
    const cbs = this._callbacks;
    if (cbs === null) return 0;
    let kept = 0;
    for (let i = 0; i < cbs.length; i += 2) {
      if (cbs[i] !== fn) {
        cbs[kept++] = cbs[i];
        cbs[kept++] = cbs[i + 1];
      }
    }
    const removed = (cbs.length - kept) / 2;
    cbs.length = kept;
    return removed;
  }

  /**
   * The loop this future belongs to.
   *
   * @example
   * ```ts
   * import { getRunningLoop, run } from "@aio/aio";
   * await run(function* () {
   *   const loop = getRunningLoop();
   *   console.log(loop.createFuture().getLoop() === loop); // true
   * });
   * ```
   */
  getLoop(): EventLoop {
    return this._requireLoop("getLoop");
  }

  /**
   * Promise interop: `await future` in ordinary async code. A cancelled
   * future rejects with its `CancelledError`.
   *
   * @example
   * ```ts
   * import { EventLoop } from "@aio/aio";
   * const loop = new EventLoop({ clock: "virtual" });
   * const fut = loop.createFuture<number>();
   * loop.callLater(1000, () => fut.setResult(7));
   * const stopper = fut.then(() => loop.stop());
   * await loop.runForever();
   * await stopper;
   * console.log(await fut); // 7
   * loop.close();
   * ```
   */
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    let link = this._promise;
    if (link === null) {
      let settle!: () => void;
      const promise = new Promise<T>((resolve, reject) => {
        settle = () => {
          if (this._state === FINISHED) {
            if (this._exception !== undefined) reject(this._exception);
            else resolve(this._result as T);
          } else reject(this._makeCancelledError());
        };
      });
      this._promise = link = { promise, settle };
      // The promise now carries the exception to whoever awaits it.
      this._retrieved();
      if (this._state !== PENDING) settle();
    }
    return link.promise.then(onfulfilled, onrejected);
  }

  /**
   * `yield* future` inside a coroutine: suspends the task until the future
   * is done, then evaluates to its result or throws its exception.
   *
   * @example
   * ```ts
   * import { getRunningLoop, run } from "@aio/aio";
   * await run(function* () {
   *   const fut = getRunningLoop().createFuture<number>();
   *   getRunningLoop().callSoon(() => fut.setResult(1));
   *   console.log(yield* fut); // 1
   * });
   * ```
   */
  [Symbol.iterator](): Iterator<Future<unknown>, T, unknown> {
    return new Awaiting(this);
  }

  /**
   * A short description such as `<Future pending>` or `<Future finished result=3>`.
   *
   * @example
   * ```ts
   * import { Future } from "@aio/aio";
   * console.log(String(new Future())); // "<Future pending>"
   * ```
   */
  toString(): string {
    return `<${this._reprInfo().join(" ")}>`;
  }

  /** @ignore Pieces of the repr, extended by Task. */
  _reprInfo(): string[] {
    const info = [this._kind(), this._stateName()];
    if (this._state === FINISHED) {
      if (this._exception !== undefined) info.push(`exception=${reprValue(this._exception)}`);
      else info.push(`result=${reprValue(this._result)}`);
    }
    return info;
  }

  /** @ignore */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /** @ignore What reprs and reports call this object: its class name, as in asyncio. */
  _kind(): string {
    return this.constructor.name;
  }

  /** @ignore */
  _stateName(): string {
    return this._state === PENDING
      ? "pending"
      : this._state === CANCELLED
      ? "cancelled"
      : "finished";
  }

  /** @ignore */
  _makeCancelledError(): CancelledError {
    if (this._cancelledExc !== null) return this._cancelledExc;
    return (this._cancelledExc = makeCancelledError(
      this._cancelMessage,
      this._loop !== null && this._loop._debug,
    ));
  }

  /** @ignore Registers a task to be stepped when this future completes. */
  _addWakeup(task: Task<unknown>): void {
    if (this._state !== PENDING) task._loop._scheduleTask(task);
    else this._register(task, null);
  }

  /** @ignore Adds a registration, keeping registration order. */
  _register(cb: unknown, ctx: Context | ContextData | null): void {
    if (this._callbacks === null) {
      if (this._first === null) {
        this._first = cb;
        this._firstCtx = ctx;
        return;
      }
      this._callbacks = [this._first, this._firstCtx];
      this._first = null;
      this._firstCtx = null;
    }
    this._callbacks.push(cb, ctx);
  }

  /** @ignore The callback or task registered last, or null if none is. */
  _lastRegistration(): unknown {
    const cbs = this._callbacks;
    if (cbs === null) return this._first;
    return cbs.length > 0 ? cbs[cbs.length - 2] : null;
  }

  /** @ignore How many registrations are waiting for this future. */
  _callbackCount(): number {
    return (this._first !== null ? 1 : 0) +
      (this._callbacks !== null ? this._callbacks.length / 2 : 0);
  }

  /** @ignore */
  _requireLoop(what: string): EventLoop {
    if (this._loop === null) {
      throw new RuntimeError(`${what}: this future is not bound to an event loop yet`);
    }
    return this._loop;
  }

  /** @ignore */
  _scheduleCallbacks(): void {
    if (this._promise !== null) this._promise.settle();
    const first = this._first;
    if (first !== null) {
      this._first = null;
      const ctx = this._firstCtx;
      this._firstCtx = null;
      this._dispatch(first, ctx);
      return;
    }
    const cbs = this._callbacks;
    if (cbs === null) return;
    this._callbacks = null;
    for (let i = 0; i < cbs.length; i += 2) {
      this._dispatch(cbs[i], cbs[i + 1] as Context | ContextData | null);
    }
  }

  /** @ignore Schedules one registration: a task's step or a callback. */
  _dispatch(cb: unknown, ctx: Context | ContextData | null): void {
    const loop = this._loop;
    if (typeof cb !== "function") {
      (cb as Task<unknown>)._loop._scheduleTask(cb as Task<unknown>);
    } else if (loop === null) {
      // Nobody on a loop waits on an unbound future: its callbacks were
      // added by plain code, so run them as microtasks.
      queueMicrotask(() => runCaptured(ctx!, cb as (f: unknown) => void, this));
    } else {
      loop._callSoonInternal(cb as (f: unknown) => void, this, ctx!);
    }
  }

  /** @ignore */
  _trackUnretrieved(): void {
    // `then()` was already called: the promise it made carries the exception
    // to whoever awaits it (or Deno reports it as an unhandled rejection), so
    // the exception counts as retrieved and is not reported a second time.
    if (this._promise !== null) return;
    const loop = this._loop;
    this._logTraceback = true;
    if (loop === null) return;
    const ref = new WeakRef<Future<unknown>>(this);
    this._tbRef = ref;
    loop._unretrieved.add(ref);
    collected.register(this, {
      loop,
      ref,
      exception: this._exception,
      what: this._kind(),
    }, ref);
  }

  /** @ignore */
  _retrieved(): void {
    this._logTraceback = false;
    const ref = this._tbRef;
    if (ref !== null) {
      this._tbRef = null;
      this._loop?._unretrieved.delete(ref);
      collected.unregister(ref);
    }
  }
}

/**
 * The iterator behind `yield* future`: one small object per await where a
 * generator would cost several. It yields the future while it is pending and
 * returns its result (or throws) once the task is resumed.
 */
class Awaiting<T> implements Iterator<Future<unknown>, T, unknown> {
  #fut: Future<T>;
  #yielded = false;

  constructor(fut: Future<T>) {
    this.#fut = fut;
  }

  next(): IteratorResult<Future<unknown>, T> {
    const fut = this.#fut;
    if (fut._state === PENDING) {
      if (this.#yielded) {
        throw new RuntimeError(
          "a future was resumed before it was done: use yield* future, not yield future",
        );
      }
      this.#yielded = true;
      if (suspending.trace) traceSuspension(fut);
      suspending.fut = fut;
      return { value: fut, done: false };
    }
    return { value: fut.result(), done: true };
  }

  throw(error: unknown): never {
    throw error;
  }

  return(value: T): IteratorResult<Future<unknown>, T> {
    return { value, done: true };
  }

  [Symbol.iterator](): this {
    return this;
  }
}

function reprValue(v: unknown): string {
  if (v instanceof Error) return `${v.name}(${JSON.stringify(v.message)})`;
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "object" && v !== null) return v.constructor?.name ?? "object";
  return String(v);
}
