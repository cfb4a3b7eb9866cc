/**
 * The exceptions aio raises, named after their asyncio counterparts. Every
 * class extends `Error` (or `AggregateError`) and its `name` equals the class
 * name, so `err.name === "CancelledError"` and `instanceof` both work.
 *
 * @module
 */

/**
 * The task or future was cancelled. Thrown into a coroutine at its current
 * suspension point when its task is cancelled; catch it only to clean up, then
 * rethrow (or call `task.uncancel()` if you really mean to go on).
 *
 * The ones the loop makes carry no captured stack unless the loop runs in
 * debug mode (`run(main, { debug: true })`): capturing a stack costs more in
 * Deno than the rest of a cancellation.
 *
 * @example
 * ```ts
 * import { CancelledError, run, sleep, createTask } from "@aio/aio";
 * await run(function* () {
 *   const t = createTask(sleep(1000));
 *   yield; // let it start
 *   t.cancel("no longer needed");
 *   try {
 *     yield* t;
 *   } catch (e) {
 *     console.log(e instanceof CancelledError, (e as Error).message);
 *   }
 * });
 * ```
 *
 * @category Errors
 */
export class CancelledError extends Error {
  /** Creates the error; `message` is the argument given to `cancel(msg)`. */
  constructor(message?: string, options?: ErrorOptions) {
    super(message ?? "", options);
    this.name = "CancelledError";
  }
}

/**
 * @internal The CancelledError the loop throws into a cancelled coroutine.
 *
 * Constructing an `Error` costs about 1.4 µs in Deno (with any
 * `Error.stackTraceLimit`), and about 3 µs inside a resumed `yield*` chain,
 * where a cancellation makes it: 41% of cancelling a task 10 frames deep. And
 * cancelling is control flow that timeouts and task groups do all the time.
 * So outside debug mode the error is made without `Error`'s constructor: it is
 * still an `instanceof CancelledError` with its `name` and `message`, and its
 * `stack` says how to get a real one. In debug mode, as asyncio keeps its
 * costly diagnostics there, it is a real error whose stack shows where the
 * coroutine was suspended.
 */
export function makeCancelledError(
  message: string | undefined,
  withStack: boolean,
): CancelledError {
  if (withStack) return new CancelledError(message);
  const e = Object.create(CancelledError.prototype) as CancelledError;
  e.name = "CancelledError";
  e.message = message ?? "";
  e.stack = `CancelledError: ${e.message}\n${NO_STACK}`;
  return e;
}

const NO_STACK = "    at <a suspension point: run the loop in debug mode for the stack>";

/**
 * An operation exceeded its deadline (`waitFor`, `timeout`, `asCompleted`).
 *
 * @example
 * ```ts
 * import { TimeoutError } from "@aio/aio";
 * const e = new TimeoutError("took too long");
 * console.log(e.name); // "TimeoutError"
 * ```
 *
 * @category Errors
 */
export class TimeoutError extends Error {
  /** Creates the error. */
  constructor(message?: string, options?: ErrorOptions) {
    super(message ?? "", options);
    this.name = "TimeoutError";
  }
}

/**
 * A future was used in a state that does not allow the call, for example
 * `result()` before it is done or `setResult()` twice.
 *
 * @example
 * ```ts
 * import { InvalidStateError } from "@aio/aio";
 * console.log(new InvalidStateError("Result is not set.").name);
 * ```
 *
 * @category Errors
 */
export class InvalidStateError extends Error {
  /** Creates the error. */
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InvalidStateError";
  }
}

/**
 * A call was made in a context that does not allow it: no running loop, a
 * closed loop, a loop started inside another, a future of another loop.
 *
 * @example
 * ```ts
 * import { getRunningLoop, RuntimeError } from "@aio/aio";
 * try {
 *   getRunningLoop();
 * } catch (e) {
 *   console.log(e instanceof RuntimeError); // true: no loop is running here
 * }
 * ```
 *
 * @category Errors
 */
export class RuntimeError extends Error {
  /** Creates the error. */
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RuntimeError";
  }
}

/**
 * An argument had the right type but a bad value (Python's `ValueError`).
 *
 * @example
 * ```ts
 * import { ValueError } from "@aio/aio";
 * console.log(new ValueError("maxWorkers must be >= 1").name);
 * ```
 *
 * @category Errors
 */
export class ValueError extends Error {
  /** Creates the error. */
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ValueError";
  }
}

/**
 * A lookup found nothing: `ContextVar.get()` on a variable with no value and
 * no default (Python's `LookupError`).
 *
 * @example
 * ```ts
 * import { ContextVar, LookupError } from "@aio/aio";
 * try {
 *   new ContextVar("unset").get();
 * } catch (e) {
 *   console.log(e instanceof LookupError); // true
 * }
 * ```
 *
 * @category Errors
 */
export class LookupError extends Error {
  /** Creates the error. */
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LookupError";
  }
}

/**
 * `getNowait()` on an empty queue.
 *
 * @example
 * ```ts
 * import { QueueEmpty } from "@aio/aio";
 * console.log(new QueueEmpty().name);
 * ```
 *
 * @category Errors
 */
export class QueueEmpty extends Error {
  /** Creates the error. */
  constructor(message?: string, options?: ErrorOptions) {
    super(message ?? "queue is empty", options);
    this.name = "QueueEmpty";
  }
}

/**
 * `putNowait()` on a full queue.
 *
 * @example
 * ```ts
 * import { QueueFull } from "@aio/aio";
 * console.log(new QueueFull().name);
 * ```
 *
 * @category Errors
 */
export class QueueFull extends Error {
  /** Creates the error. */
  constructor(message?: string, options?: ErrorOptions) {
    super(message ?? "queue is full", options);
    this.name = "QueueFull";
  }
}

/**
 * A `put` or `get` on a queue that was shut down.
 *
 * @example
 * ```ts
 * import { QueueShutDown } from "@aio/aio";
 * console.log(new QueueShutDown().name);
 * ```
 *
 * @category Errors
 */
export class QueueShutDown extends Error {
  /** Creates the error. */
  constructor(message?: string, options?: ErrorOptions) {
    super(message ?? "queue is shut down", options);
    this.name = "QueueShutDown";
  }
}

/**
 * A `Barrier` was reset or aborted while tasks waited on it.
 *
 * @example
 * ```ts
 * import { BrokenBarrierError } from "@aio/aio";
 * console.log(new BrokenBarrierError().name);
 * ```
 *
 * @category Errors
 */
export class BrokenBarrierError extends Error {
  /** Creates the error. */
  constructor(message?: string, options?: ErrorOptions) {
    super(message ?? "barrier is broken", options);
    this.name = "BrokenBarrierError";
  }
}

/**
 * A worker of a `WorkerPoolExecutor` died while running the job.
 *
 * @example
 * ```ts
 * import { BrokenWorkerError } from "@aio/aio";
 * console.log(new BrokenWorkerError("worker 1 exited").name);
 * ```
 *
 * @category Errors
 */
export class BrokenWorkerError extends Error {
  /** Creates the error. */
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BrokenWorkerError";
  }
}

/**
 * Several errors raised together, as by a `TaskGroup` whose children failed.
 * Python's `ExceptionGroup`; the errors are in `.exceptions` (and in
 * `AggregateError`'s `.errors`).
 *
 * @example
 * ```ts
 * import { ExceptionGroup } from "@aio/aio";
 * const g = new ExceptionGroup("two failures", [new Error("a"), new Error("b")]);
 * console.log(g.exceptions.length); // 2
 * ```
 *
 * @category Errors
 */
export class ExceptionGroup extends AggregateError {
  /** The grouped errors, in the order they were collected. */
  readonly exceptions: readonly unknown[];
  /** Creates the group; `exceptions` must not be empty, as in Python. */
  constructor(message: string, exceptions: readonly unknown[], options?: ErrorOptions) {
    if (!Array.isArray(exceptions) || exceptions.length === 0) {
      throw new ValueError("ExceptionGroup needs a non-empty array of exceptions");
    }
    super(exceptions, message, options);
    this.name = "ExceptionGroup";
    this.exceptions = Object.freeze([...exceptions]);
  }
}

/**
 * The stream ended before a read got what it asked for: `readexactly(n)`
 * before `n` bytes, `readuntil()` before the separator. The bytes read so far
 * are in `.partial` (they are no longer buffered); `.expected` is the byte
 * count asked for, or `null` when it was not known (`readuntil`). asyncio's
 * `IncompleteReadError`.
 *
 * @example
 * ```ts
 * import { IncompleteReadError } from "@aio/aio";
 * const e = new IncompleteReadError(new Uint8Array(3), 10);
 * console.log(e.message); // "3 bytes read on a total of 10 expected bytes"
 * console.log(e.partial.length, e.expected); // 3 10
 * ```
 *
 * @category Errors
 */
export class IncompleteReadError extends Error {
  /** The bytes read before the end of the stream. */
  partial: Uint8Array;
  /** How many bytes were expected in all; `null` if unknown. */
  expected: number | null;
  /** Creates the error; the message says how many bytes came of how many. */
  constructor(partial: Uint8Array, expected: number | null, options?: ErrorOptions) {
    super(
      `${partial.length} bytes read on a total of ${expected ?? "undefined"} expected bytes`,
      options,
    );
    this.name = "IncompleteReadError";
    this.partial = partial;
    this.expected = expected;
  }
}

/**
 * `readuntil()` read `limit` bytes without finding the separator, or found
 * it after more than `limit` bytes. The data stays buffered: read it with
 * `read()` or `readexactly(e.consumed)`, or drop the connection.
 * `.consumed` is how many bytes the error is about. asyncio's
 * `LimitOverrunError`.
 *
 * @example
 * ```ts
 * import { LimitOverrunError } from "@aio/aio";
 * const e = new LimitOverrunError("separator not found within the limit", 65537);
 * console.log(e.name, e.consumed); // "LimitOverrunError" 65537
 * ```
 *
 * @category Errors
 */
export class LimitOverrunError extends Error {
  /** How many bytes, from the start of the buffer, are to be consumed. */
  consumed: number;
  /** Creates the error. */
  constructor(message: string, consumed: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "LimitOverrunError";
    this.consumed = consumed;
  }
}

/**
 * The program was interrupted with Ctrl-C (SIGINT) while `run()` ran its main
 * coroutine. `run()` cancels the main task at the first SIGINT, lets its
 * `finally` blocks and every other task wind down, and then rejects with this
 * error (the main task's `CancelledError` is its `cause`). Python's
 * `KeyboardInterrupt`, which asyncio's runner raises in the same place.
 *
 * @example
 * ```ts
 * import { KeyboardInterrupt, run, sleep } from "@aio/aio";
 * try {
 *   await run(function* () {
 *     yield* sleep(10); // press Ctrl-C during a long wait to see the error
 *   });
 * } catch (e) {
 *   if (!(e instanceof KeyboardInterrupt)) throw e;
 *   console.log("interrupted");
 * }
 * ```
 *
 * @category Errors
 */
export class KeyboardInterrupt extends Error {
  /** Creates the error. */
  constructor(message?: string, options?: ErrorOptions) {
    super(message ?? "interrupted by SIGINT", options);
    this.name = "KeyboardInterrupt";
  }
}
