/**
 * Task groups: structured concurrency, asyncio's `async with TaskGroup() as tg:`
 * as `yield* taskGroup(function* (tg) { ... })`.
 *
 * @module
 */
import { type Context, copyContext } from "./context.ts";
import { CancelledError, ExceptionGroup, RuntimeError } from "./errors.ts";
import { Future } from "./future.ts";
import { followedBy, groupParentOf } from "./_graph_links.ts";
import type { EventLoop } from "./loop.ts";
import { getRunningLoop } from "./running.ts";
import type { Awaitable, Coroutine, Task, TaskOptions } from "./task.ts";
import { describe, isCoroutine } from "./util.ts";

/**
 * What a task group runs: a coroutine function given the group.
 *
 * @category Combinators
 */
export type TaskGroupBody<T> = (tg: TaskGroup) => Awaitable<T>;

/**
 * A group of tasks that live no longer than the scope that made them.
 * Create one with {@linkcode taskGroup} (or `new TaskGroup().run(body)`),
 * and start tasks in it with {@linkcode TaskGroup.createTask}. asyncio's
 * `TaskGroup`.
 *
 * - The scope ends only when every task of the group is done.
 * - The first task to fail cancels all the others and the body; once all
 *   have finished, the failures are thrown together as one `ExceptionGroup`
 *   (tasks' errors in the order they failed, then the body's own error).
 *   A `CancelledError` is never one of them.
 * - Cancelling the task that runs the group cancels the tasks too and
 *   surfaces as a `CancelledError`.
 * - The task running the group ends up with the same `cancelling()` count it
 *   had on entry: the group withdraws the cancellations it made itself.
 *
 * @example
 * ```ts
 * import { run, sleep, TaskGroup } from "@aio/aio";
 * await run(function* () {
 *   const results = yield* new TaskGroup().run(function* (tg) {
 *     const a = tg.createTask(sleep(100, "a"));
 *     const b = tg.createTask(sleep(200, "b"));
 *     return [a, b];
 *   });
 *   console.log(results.map((t) => t.result())); // ["a", "b"]
 * }, { clock: "virtual" });
 * ```
 *
 * @category Combinators
 */
export class TaskGroup {
  /** @ignore */
  _entered = false;
  /** @ignore */
  _exiting = false;
  /** @ignore */
  _aborting = false;
  /** @ignore */
  _loop: EventLoop | null = null;
  /** @ignore */
  _parentTask: Task<unknown> | null = null;
  /** @ignore The group cancelled its parent itself and must withdraw that. */
  _parentCancelRequested = false;
  /** @ignore */
  _tasks: Set<Task<unknown>> = new Set();
  /** @ignore */
  _errors: unknown[] = [];
  /** @ignore Resolved when the last task finishes, while the scope is exiting. */
  _onCompletedFut: Future<boolean> | null = null;
  /** @ignore Done callbacks of every task share one context. */
  _cbOptions: { context: Context } | null = null;
  /** @ignore One callback for every task of the group. */
  _onTaskDone = (task: Task<unknown>): void => this._taskDone(task);

  /**
   * Starts `coro` (a coroutine, or a zero-argument coroutine function) as a
   * task of this group and returns the task. A `RuntimeError` before the
   * group's scope runs, after it finished, or while it shuts down because a
   * task failed.
   *
   * @example
   * ```ts
   * import { run, sleep, taskGroup } from "@aio/aio";
   * await run(function* () {
   *   yield* taskGroup(function* (tg) {
   *     const t = tg.createTask(sleep(10, "x"), { name: "sleeper" });
   *     console.log(t.getName()); // "sleeper"
   *   });
   * });
   * ```
   */
  createTask<T>(coro: Coroutine<T> | (() => Coroutine<T>), options?: TaskOptions): Task<T> {
    if (!this._entered) throw new RuntimeError(`TaskGroup ${this} has not been entered`);
    if (this._exiting && this._tasks.size === 0) {
      throw new RuntimeError(`TaskGroup ${this} is finished`);
    }
    if (this._aborting) {
      throw new RuntimeError(`TaskGroup ${this} is shutting down: one of its tasks failed`);
    }
    const task = this._loop!.createTask(coro, options);
    this._tasks.add(task);
    task.addDoneCallback(this._onTaskDone, this._cbOptions!);
    return task;
  }

  /**
   * Runs `body(this)` as the group's scope in the current task and returns
   * what it returns, once every task of the group is done. `taskGroup(body)`
   * is `new TaskGroup().run(body)`. A group runs once: a second `run` is a
   * `RuntimeError`, as is running outside a task.
   *
   * @example
   * ```ts
   * import { run, TaskGroup } from "@aio/aio";
   * await run(function* () {
   *   const tg = new TaskGroup();
   *   console.log(yield* tg.run(function* () {
   *     return 42;
   *   })); // 42
   * });
   * ```
   */
  *run<T>(body: TaskGroupBody<T>): Coroutine<T> {
    checkBody(body);
    this._enter();
    let result: T | undefined;
    let threw = false;
    let error: unknown;
    try {
      const aw = body(this);
      if (!(aw instanceof Future) && !isCoroutine(aw)) {
        throw new TypeError(
          `taskGroup() body must be a coroutine function (function*), but it returned ${
            describe(aw)
          }`,
        );
      }
      result = yield* aw;
    } catch (e) {
      threw = true;
      error = e;
    }
    yield* this._exit(threw, error);
    return result as T;
  }

  /**
   * A short description such as `<TaskGroup tasks=2 errors=1 cancelling>`.
   *
   * @example
   * ```ts
   * import { TaskGroup } from "@aio/aio";
   * console.log(String(new TaskGroup())); // "<TaskGroup>"
   * ```
   */
  toString(): string {
    let info = "";
    if (this._tasks.size > 0) info += ` tasks=${this._tasks.size}`;
    if (this._errors.length > 0) info += ` errors=${this._errors.length}`;
    if (this._aborting) info += " cancelling";
    else if (this._entered) info += " entered";
    return `<TaskGroup${info}>`;
  }

  /** @ignore */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /** @ignore */
  _enter(): void {
    if (this._entered) throw new RuntimeError(`TaskGroup ${this} has already been entered`);
    const loop = getRunningLoop();
    const parent = loop._currentTask;
    if (parent === null) {
      throw new RuntimeError(
        `TaskGroup ${this} cannot determine the parent task: run it with yield* from a coroutine`,
      );
    }
    this._loop = loop;
    this._parentTask = parent;
    // For introspection: a child task's done callback leads to this parent.
    groupParentOf.set(this._onTaskDone, parent);
    this._cbOptions = { context: copyContext() };
    this._entered = true;
  }

  /** @ignore Waits for the tasks, then throws what the scope must throw. */
  *_exit(threw: boolean, error: unknown): Coroutine<void> {
    this._exiting = true;
    const parent = this._parentTask!;
    let propagateCancel: CancelledError | null = threw && error instanceof CancelledError
      ? error
      : null;
    // The body failed or was cancelled: the tasks have no one to report to.
    if (threw && !this._aborting) this._abort();

    // A loop: the wait can be cancelled several times if the parent is
    // cancelled repeatedly, or once while our own cancellation is under way.
    while (this._tasks.size > 0) {
      if (this._onCompletedFut === null) {
        this._onCompletedFut = this._loop!.createFuture<boolean>();
        followedBy.set(this._onCompletedFut, { kind: "TaskGroup", futures: this._tasks });
      }
      try {
        yield* this._onCompletedFut;
      } catch (e) {
        if (!(e instanceof CancelledError)) throw e;
        if (!this._aborting) {
          // The parent is cancelled from outside while the body is done:
          // cancel the tasks and, once they are done, re-raise.
          propagateCancel = e;
          this._abort();
        }
      }
      this._onCompletedFut = null;
    }

    if (this._parentCancelRequested) {
      // We cancelled the parent ourselves; withdraw that. If nothing else
      // asked for cancellation, our CancelledError must not escape.
      if (parent.uncancel() === 0) propagateCancel = null;
    }
    const errors = this._errors;
    this._errors = [];
    // Errors take priority over a CancelledError.
    if (propagateCancel !== null && errors.length === 0) throw propagateCancel;
    if (threw && !(error instanceof CancelledError)) errors.push(error);
    if (errors.length > 0) {
      // Keep an outside cancellation of the parent pending, at a stable count.
      if (parent.cancelling() > 0) {
        parent.uncancel();
        parent.cancel();
      }
      throw new ExceptionGroup("unhandled errors in a TaskGroup", errors);
    }
  }

  /** @ignore */
  _abort(): void {
    this._aborting = true;
    for (const t of this._tasks) {
      if (!t.done()) t.cancel();
    }
  }

  /** @ignore */
  _taskDone(task: Task<unknown>): void {
    this._tasks.delete(task);
    const completed = this._onCompletedFut;
    if (completed !== null && this._tasks.size === 0 && !completed.done()) {
      completed.setResult(true);
    }
    if (task.cancelled()) return;
    const exc = task.exception();
    if (exc === undefined) return;
    this._errors.push(exc);
    const parent = this._parentTask!;
    if (parent.done()) {
      this._loop!.callExceptionHandler({
        message: `Task ${task} has errored out but its parent task ${parent} is already completed`,
        exception: exc,
        task,
      });
      return;
    }
    if (!this._aborting && !this._parentCancelRequested) {
      // Stop whatever the body is doing, and the other tasks; the scope's
      // exit turns our cancellation of the parent back into its errors.
      this._abort();
      this._parentCancelRequested = true;
      parent.cancel();
    }
  }
}

function checkBody(body: unknown): void {
  if (typeof body !== "function") {
    throw new TypeError(
      `taskGroup() expects a coroutine function (function* (tg) {...}), got ${describe(body)}`,
    );
  }
}

/**
 * Runs `body` with a new {@linkcode TaskGroup} and evaluates to what it
 * returns, once every task created in the group is done. asyncio's
 * `async with asyncio.TaskGroup() as tg:`. The first task to fail cancels
 * the others and the body; all failures are thrown together as one
 * `ExceptionGroup`. Nested groups nest their `ExceptionGroup`s.
 *
 * @example
 * ```ts
 * import { ExceptionGroup, run, sleep, taskGroup } from "@aio/aio";
 * function* fail(ms: number, msg: string) {
 *   yield* sleep(ms);
 *   throw new Error(msg);
 * }
 * await run(function* () {
 *   try {
 *     yield* taskGroup(function* (tg) {
 *       tg.createTask(fail(100, "first"));
 *       tg.createTask(sleep(60_000)); // cancelled when "first" fails
 *     });
 *   } catch (e) {
 *     console.log((e as ExceptionGroup).exceptions.map((x) => (x as Error).message)); // ["first"]
 *   }
 * }, { clock: "virtual" });
 * ```
 *
 * @category Combinators
 */
export function taskGroup<T>(body: TaskGroupBody<T>): Coroutine<T> {
  checkBody(body);
  return new TaskGroup().run(body);
}
