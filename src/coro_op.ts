/**
 * @internal Hand-written coroutines for the hottest waits (`Queue.get`,
 * `Queue.put`, `Lock.acquire`).
 *
 * A `function*` coroutine costs a generator object and a resumable frame per
 * call, even when it finishes without waiting, which is what a queue
 * operation does almost every time. A `CoroOp` is one small object that
 * speaks the iterator protocol `yield*` uses (`next`, `throw`, `return`) and
 * doubles as its own result object, so the common path allocates one object
 * and no future. It stays lazy like a real coroutine: nothing happens until
 * the first `next()`.
 *
 * @module
 */
import { RuntimeError } from "./errors.ts";
import { FINISHED, type Future, PENDING, suspending, traceSuspension } from "./future.ts";

/** @internal Not started. */
export const START = 0;
/** @internal Waiting on `_fut`. */
const SUSPENDED = 1;
/** @internal Finished, by returning or throwing. */
export const CLOSED = 2;

/**
 * @internal Subclasses must call `this._init()` first thing in their
 * constructor: field initializers here would make every allocation go
 * through a second constructor, which measured ~3x slower per operation.
 */
export abstract class CoroOp<R> {
  /** Iterator-result view of this object: `yield*` reads these two. */
  declare done: boolean;
  /** The future being waited on while suspended, the result once done. */
  declare value: unknown;
  /** @internal */
  declare _fut: Future<unknown> | null;
  /** @internal */
  declare _phase: number;

  /** @internal */
  _init(): void {
    this.done = false;
    this.value = undefined;
    this._fut = null;
    this._phase = START;
  }

  /**
   * Runs the operation: at the start (`woken` null) and again after the
   * future it waited on finished normally. Ends by calling `_wait(fut)` or
   * `_return(value)`, or throws.
   */
  abstract _run(woken: Future<unknown> | null): void;

  /**
   * Undoes the bookkeeping of a wait that ends abnormally (cancellation, a
   * thrown-in error, `return()`); `fut` may still be pending.
   */
  abstract _abort(fut: Future<unknown>): void;

  /** @internal */
  _wait(fut: Future<unknown>): void {
    this._phase = SUSPENDED;
    this._fut = fut;
    this.done = false;
    this.value = fut;
    if (suspending.trace) traceSuspension(fut);
    suspending.fut = fut;
  }

  /** @internal */
  _return(value: R): void {
    this._phase = CLOSED;
    this.done = true;
    this.value = value;
  }

  /** Iterator protocol: a coroutine is its own iterator. */
  [Symbol.iterator](): this {
    return this;
  }

  /** Iterator protocol: start, or resume after the awaited future is done. */
  next(): this {
    let woken: Future<unknown> | null = null;
    if (this._phase === SUSPENDED) {
      const fut = this._fut!;
      this._fut = null;
      if (fut._state !== FINISHED || fut._exception !== undefined) {
        this._phase = CLOSED;
        this._abort(fut);
        if (fut._state === PENDING) {
          throw new RuntimeError(
            "a coroutine was resumed before the future it waits on was done: use yield*, not yield",
          );
        }
        fut.result(); // throws what awaiting it throws (the same CancelledError)
      }
      woken = fut;
    } else if (this._phase === CLOSED) {
      this.done = true;
      this.value = undefined;
      return this;
    }
    try {
      this._run(woken);
    } catch (e) {
      this._phase = CLOSED;
      throw e;
    }
    return this;
  }

  /** Iterator protocol: an error (a cancellation) thrown in at the wait. */
  throw(e: unknown): never {
    if (this._phase === SUSPENDED) {
      const fut = this._fut!;
      this._fut = null;
      this._phase = CLOSED;
      this._abort(fut);
    }
    this._phase = CLOSED;
    throw e;
  }

  /** Iterator protocol: the coroutine is closed while waiting. */
  return(value?: unknown): this {
    if (this._phase === SUSPENDED) {
      const fut = this._fut!;
      this._fut = null;
      this._phase = CLOSED;
      this._abort(fut);
    }
    this._phase = CLOSED;
    this.done = true;
    this.value = value;
    return this;
  }
}

// Iterator helpers (`map`, `toArray`, ...) like a generator has, without a
// super() call per allocation. %IteratorPrototype% is reached through an
// array iterator rather than the `Iterator` global, which Node 20 lacks
// (there the helpers are simply absent).
Object.setPrototypeOf(
  CoroOp.prototype,
  Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())),
);
