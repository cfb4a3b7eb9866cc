/**
 * Checking and wrapping what users hand to the combinators: the shared rules
 * for "is this awaitable", "which loop", and "what does it evaluate to".
 *
 * @module
 */
import { ValueError } from "./errors.ts";
import { Future } from "./future.ts";
import type { EventLoop } from "./loop.ts";
import { getRunningLoop, peekRunningLoop } from "./running.ts";
import { type Awaitable, type Coroutine, Task } from "./task.ts";
import { checkDelay, describe, isCoroutine } from "./util.ts";

/**
 * What `yield*` on an awaitable evaluates to: `T` for a `Future<T>`, a
 * `Task<T>` or a `Coroutine<T>`.
 *
 * @example
 * ```ts
 * import type { AwaitableResult, Task } from "@aio/aio";
 * type N = AwaitableResult<Task<number>>; // number
 * const n: N = 1;
 * ```
 *
 * @category Tasks and futures
 */
export type AwaitableResult<A> = A extends Future<infer R> ? R
  : A extends Generator<unknown, infer R, never> ? R
  : never;

/** @internal A TypeError naming `x`, with a hint for the usual mistakes. */
function notAwaitable(x: unknown, what: string): TypeError {
  let hint = "";
  if (typeof x === "function") hint = ": call it to get a coroutine";
  return new TypeError(
    `${what} expects a Future, Task or coroutine (what calling a function* returns), got ${
      describe(x)
    }${hint}`,
  );
}

/** @internal Throws a TypeError unless `x` is a future or a coroutine. */
export function checkAwaitable(x: unknown, what: string): void {
  if (!(x instanceof Future) && !isCoroutine(x)) throw notAwaitable(x, what);
}

/**
 * @internal The loop a combinator works on: the running one, else the loop of
 * the first bound future among `aws`; with neither, `getRunningLoop()`'s
 * RuntimeError.
 */
export function loopFor(aws: readonly unknown[]): EventLoop {
  const running = peekRunningLoop();
  if (running !== null) return running;
  for (let i = 0; i < aws.length; i++) {
    const x = aws[i];
    if (x instanceof Future && x._loop !== null) return x._loop;
  }
  return getRunningLoop();
}

/**
 * @internal Throws a ValueError if `fut` belongs to a loop other than `loop`;
 * binds an unbound future to `loop`.
 */
export function checkLoop(fut: Future<unknown>, loop: EventLoop, what: string): void {
  const own = fut._loop;
  if (own === loop) return;
  if (own === null) {
    fut._loop = loop;
    return;
  }
  throw new ValueError(
    `${what}: ${fut} belongs to a different event loop than the one running it`,
  );
}

/**
 * @internal The future for an awaitable already checked with
 * `checkAwaitable`: a future as is (checked against `loop`), a coroutine
 * wrapped in a new task on `loop`.
 */
export function toFuture<T>(x: Awaitable<T>, loop: EventLoop, what: string): Future<T> {
  if (x instanceof Future) {
    checkLoop(x, loop, what);
    return x;
  }
  // Through the loop's task factory, as asyncio's ensure_future.
  return loop._taskFactory === null
    ? new Task(x as Coroutine<T>, loop)
    : loop.createTask(x as Coroutine<T>);
}

/**
 * @internal A timeout in ms or `null` (also for `undefined`): negatives act
 * as 0, NaN and non-numbers are a TypeError.
 */
export function checkTimeout(ms: unknown, what: string): number | null {
  if (ms === null || ms === undefined) return null;
  return checkDelay(ms, what);
}
