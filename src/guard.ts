/**
 * Scoped use of lock-like primitives, shared by `Lock`, `Condition`,
 * `Semaphore` and `BoundedSemaphore` (Python's `async with lock:`):
 *
 * - `yield* x.with(function* () { … })` acquires, runs the body, and releases
 *   when the body returns, throws, or its task is cancelled; it evaluates to
 *   the body's result.
 * - `using held = yield* x.guard();` inside a block of a `function*`
 *   acquires now and releases when the block is left: by falling off its
 *   end, `return`, an exception, or the `CancelledError` a cancelled task
 *   receives at any `yield*` in the block. Put the declaration in the
 *   smallest block that needs the hold; `held.release()` ends it early.
 *   Always `yield*` the guard: `using g = x.guard()` (no `yield*`) would
 *   be a coroutine, not a held lock; it throws a `TypeError` at that line.
 *
 * @module
 */
import { RuntimeError } from "./errors.ts";
import type { Future } from "./future.ts";
import type { Coroutine } from "./task.ts";
import { describe, isCoroutine } from "./util.ts";

/** @internal What the scoped forms need from a primitive. */
export interface Acquirable {
  acquire(): Coroutine<unknown>;
  release(): void;
}

/**
 * What `with()` runs: a coroutine, or a coroutine function (called after the
 * primitive is acquired, with `A` as arguments: `Barrier.with` passes the
 * index).
 *
 * @example
 * ```ts
 * import { Lock, run, type ScopedBody } from "@aio/aio";
 * const body: ScopedBody<number> = function* () {
 *   return 42;
 * };
 * console.log(await run(() => new Lock().with(body))); // 42
 * ```
 *
 * @category Synchronization
 */
export type ScopedBody<R, A extends unknown[] = []> = Coroutine<R> | ((...args: A) => Coroutine<R>);

/**
 * A held lock, semaphore unit or condition lock, as returned by `guard()`.
 * Releasing it (explicitly, or by `using` when its scope ends) releases the
 * primitive once; disposing an already released guard does nothing, so an
 * early `release()` and a `using` declaration combine safely.
 *
 * `using` works in generator functions: the guard is disposed when the block
 * is left by `return`, by an exception, or by the `CancelledError` a
 * cancelled task receives at any `yield*` inside the block.
 *
 * @example
 * ```ts
 * import { Lock, run, sleep } from "@aio/aio";
 * const lock = new Lock();
 * await run(function* () {
 *   {
 *     using _held = yield* lock.guard();
 *     console.log(lock.locked()); // true
 *     yield* sleep(10);
 *   } // released here, also on throw or cancellation
 *   console.log(lock.locked()); // false
 * });
 * ```
 *
 * @category Synchronization
 */
export class Guard implements Disposable {
  #owner: Acquirable | null;

  /** @ignore Guards come from `guard()`. */
  constructor(owner: Acquirable) {
    this.#owner = owner;
  }

  /**
   * Whether the guard has been released.
   *
   * @example
   * ```ts
   * import { Lock, run } from "@aio/aio";
   * await run(function* () {
   *   const g = yield* new Lock().guard();
   *   g.release();
   *   console.log(g.released); // true
   * });
   * ```
   */
  get released(): boolean {
    return this.#owner === null;
  }

  /**
   * Releases the primitive now. A second `release()` is a `RuntimeError`: it
   * would release a hold that belongs to someone else.
   *
   * @example
   * ```ts
   * import { Semaphore, run } from "@aio/aio";
   * const sem = new Semaphore(1);
   * await run(function* () {
   *   const g = yield* sem.guard();
   *   g.release();
   *   console.log(sem.locked()); // false
   * });
   * ```
   */
  release(): void {
    const owner = this.#owner;
    if (owner === null) {
      throw new RuntimeError("this guard was already released; each guard releases once");
    }
    this.#owner = null;
    owner.release();
  }

  /**
   * Releases the primitive unless already released; what `using` calls.
   *
   * @example
   * ```ts
   * import { Lock, run } from "@aio/aio";
   * const lock = new Lock();
   * await run(function* () {
   *   const g = yield* lock.guard();
   *   g[Symbol.dispose]();
   *   console.log(lock.locked()); // false
   * });
   * ```
   */
  [Symbol.dispose](): void {
    if (this.#owner !== null) this.release();
  }
}

/** @internal Validates a scoped body at the call, not at the first step. */
export function checkBody(body: unknown, what: string): void {
  if (typeof body !== "function" && !isCoroutine(body)) {
    throw new TypeError(
      `${what} expects a coroutine function (function*) or a coroutine, got ${describe(body)}`,
    );
  }
}

/** @internal Turns a body into the coroutine to run. */
export function startBody<R, A extends unknown[]>(
  body: ScopedBody<R, A>,
  what: string,
  ...args: A
): Coroutine<R> {
  if (typeof body !== "function") return body;
  const coro = body(...args);
  if (!isCoroutine(coro)) {
    throw new TypeError(
      `${what} expects a coroutine function (function*); ${describe(body)} returned ${
        describe(coro)
      }`,
    );
  }
  return coro;
}

/** @internal `async with prim: body` */
export function* withHeld<R>(prim: Acquirable, body: ScopedBody<R>, what: string): Coroutine<R> {
  yield* prim.acquire();
  try {
    return yield* startBody(body, what);
  } finally {
    prim.release();
  }
}

function* acquireGuard(prim: Acquirable): Coroutine<Guard> {
  yield* prim.acquire();
  return new Guard(prim);
}

/**
 * The coroutine `guard()` returns. Generators are disposable (disposing one
 * closes it), so `using g = lock.guard()` without `yield*` would type-check
 * and silently hold nothing: reading `[Symbol.dispose]` here throws instead,
 * at the `using` line.
 */
class GuardCoroutine {
  #inner: Coroutine<Guard>;

  constructor(inner: Coroutine<Guard>) {
    this.#inner = inner;
  }

  [Symbol.iterator](): this {
    return this;
  }

  next(value?: unknown): IteratorResult<Future<unknown> | undefined, Guard> {
    return this.#inner.next(value);
  }

  throw(e: unknown): IteratorResult<Future<unknown> | undefined, Guard> {
    return this.#inner.throw(e);
  }

  return(value: Guard): IteratorResult<Future<unknown> | undefined, Guard> {
    return this.#inner.return(value);
  }

  get [Symbol.dispose](): never {
    throw new TypeError(
      "guard() returns a coroutine, not a held guard: write `using g = yield* x.guard();`",
    );
  }
}

/** @internal `acquire()`, then a guard that releases. */
export function guardOf(prim: Acquirable): Coroutine<Guard> {
  return new GuardCoroutine(acquireGuard(prim)) as unknown as Coroutine<Guard>;
}
