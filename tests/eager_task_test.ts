// Eager tasks (CPython 3.12–3.14): `createTask(coro, { eagerStart: true })`,
// `loop.setTaskFactory(eagerTaskFactory)`, `createEagerTaskFactory`. Ported
// from CPython's test_eager_task_factory.py (EagerTaskFactoryLoopTests and the
// task-counting tests); the rest are aio's own, named after what they fix.
import { assert } from "../deps.ts";
import {
  allTasks,
  CancelledError,
  ContextVar,
  type Coroutine,
  createEagerTaskFactory,
  createTask,
  currentTask,
  eagerTaskFactory,
  type EventLoop,
  type ExceptionContext,
  gather,
  getRunningLoop,
  sleep,
  Task,
  type TaskFactory,
  taskGroup,
  type TaskOptions,
  wait,
} from "../mod.ts";
import { newLoop, vrun, withLoop } from "./_util.ts";

/** A loop with the eager task factory, as the CPython tests' setUp. */
function withEagerLoop(fn: (loop: EventLoop) => Promise<void>): Promise<void> {
  return withLoop((loop) => {
    loop.setTaskFactory(eagerTaskFactory);
    return fn(loop);
  });
}

// ---- EagerTaskFactoryLoopTests ------------------------------------------------

Deno.test("test_eager_task_factory::test_eager_task_factory_set", () =>
  withEagerLoop(async (loop) => {
    assert.equal(loop.getTaskFactory(), eagerTaskFactory);
    function* noop(): Coroutine<void> {}
    await loop.runUntilComplete(function* () {
      const t = loop.createTask(noop());
      assert.ok(t instanceof Task);
      yield* t;
    }());
    loop.setTaskFactory(null);
    assert.equal(loop.getTaskFactory(), null);
    assert.throws(() => loop.setTaskFactory(42 as unknown as TaskFactory), TypeError);
  }));

Deno.test("test_eager_task_factory::test_await_future_during_eager_step", () =>
  withEagerLoop(async (loop) => {
    function* setResult(fut: ReturnType<EventLoop["createFuture"]>, val: string) {
      fut.setResult(val);
    }
    const r = await loop.runUntilComplete(function* () {
      const fut = loop.createFuture<string>();
      const t = loop.createTask(setResult(fut, "my message"));
      assert.ok(t.done(), "the eager step completed the task");
      return yield* fut;
    }());
    assert.equal(r, "my message");
  }));

Deno.test("test_eager_task_factory::test_eager_completion", () =>
  withEagerLoop(async (loop) => {
    function* coro(): Coroutine<string> {
      return "hello";
    }
    const r = await loop.runUntilComplete(function* () {
      const t = loop.createTask(coro());
      assert.ok(t.done(), "the eager step completed the task");
      return yield* t;
    }());
    assert.equal(r, "hello");
  }));

Deno.test("test_eager_task_factory::test_block_after_eager_step", () =>
  withEagerLoop(async (loop) => {
    function* coro(): Coroutine<string> {
      yield* sleep(100);
      return "finished after blocking";
    }
    const r = await loop.runUntilComplete(function* () {
      const t = loop.createTask(coro());
      assert.equal(t.done(), false);
      const result = yield* t;
      assert.ok(t.done());
      return result;
    }());
    assert.equal(r, "finished after blocking");
  }));

Deno.test("test_eager_task_factory::test_cancellation_after_eager_completion", () =>
  withEagerLoop(async (loop) => {
    function* coro(): Coroutine<string> {
      return "finished without blocking";
    }
    const r = await loop.runUntilComplete(function* () {
      const t = loop.createTask(coro());
      assert.equal(t.cancel(), false);
      const result = yield* t;
      assert.equal(t.cancelled(), false, "a finished task can't be cancelled");
      return result;
    }());
    assert.equal(r, "finished without blocking");
  }));

Deno.test("test_eager_task_factory::test_cancellation_after_eager_step_blocks", () =>
  withEagerLoop(async (loop) => {
    function* coro(): Coroutine<string> {
      yield* sleep(100);
      return "finished after blocking";
    }
    const err = await loop.runUntilComplete(function* () {
      const t = loop.createTask(coro());
      t.cancel("cancellation message");
      assert.ok(t.cancelling() > 0);
      yield* t;
    }()).then(() => null, (e) => e);
    assert.ok(err instanceof CancelledError, `got ${err}`);
    assert.equal((err as CancelledError).message, "cancellation message");
  }));

Deno.test("test_eager_task_factory::test_current_task", () =>
  withEagerLoop(async (loop) => {
    let captured: Task<unknown> | null = null;
    function* coro(): Coroutine<void> {
      captured = currentTask();
      // The task before and after blocking is the same one.
      yield* sleep(100);
      assert.equal(currentTask(), captured);
    }
    await loop.runUntilComplete(function* () {
      const me = currentTask();
      const t = loop.createTask(coro());
      assert.equal(captured, t);
      assert.equal(currentTask(), me, "the caller's current task is restored");
      yield* t;
    }());
  }));

Deno.test("test_eager_task_factory::test_all_tasks_with_eager_completion", () =>
  withEagerLoop(async (loop) => {
    let captured: Set<Task<unknown>> | null = null;
    function* coro(): Coroutine<void> {
      captured = allTasks();
    }
    await loop.runUntilComplete(function* () {
      const t = loop.createTask(coro());
      assert.ok(captured!.has(t));
      assert.equal(allTasks().has(t), false);
    }());
    assert.equal(loop._liveTasks, 0);
  }));

Deno.test("test_eager_task_factory::test_all_tasks_with_blocking", () =>
  withEagerLoop(async (loop) => {
    let captured: Set<Task<unknown>> | null = null;
    function* coro(fut1: ReturnType<EventLoop["createFuture"]>, fut2: typeof fut1) {
      captured = allTasks();
      yield* fut1;
      fut2.setResult(undefined);
    }
    await loop.runUntilComplete(function* () {
      const fut1 = loop.createFuture();
      const fut2 = loop.createFuture();
      const t = loop.createTask(coro(fut1, fut2));
      assert.ok(captured!.has(t));
      assert.ok(allTasks().has(t));
      fut1.setResult(undefined);
      yield* fut2;
      assert.equal(allTasks().has(t), false);
    }());
  }));

Deno.test("test_eager_task_factory::test_context_vars", () =>
  withEagerLoop(async (loop) => {
    const cv = new ContextVar("cv", { default: 0 });
    let firstStepRan = false;
    let secondStepRan = false;
    function* coro(): Coroutine<void> {
      assert.equal(cv.get(), 1);
      cv.set(2);
      assert.equal(cv.get(), 2);
      firstStepRan = true;
      yield* sleep(100);
      assert.equal(cv.get(), 2);
      cv.set(3);
      assert.equal(cv.get(), 3);
      secondStepRan = true;
    }
    await loop.runUntilComplete(function* () {
      cv.set(1);
      const t = loop.createTask(coro());
      assert.ok(firstStepRan);
      assert.equal(secondStepRan, false);
      assert.equal(cv.get(), 1);
      yield* t;
      assert.ok(secondStepRan);
      assert.equal(cv.get(), 1);
    }());
  }));

Deno.test("test_eager_task_factory::test_eager_start_false", () =>
  withEagerLoop(async (loop) => {
    let name: string | null = null;
    function* asyncfn(): Coroutine<void> {
      name = currentTask()!.getName();
    }
    await loop.runUntilComplete(function* () {
      const t = getRunningLoop().createTask(asyncfn(), { eagerStart: false, name: "example" });
      assert.equal(t.done(), false);
      assert.equal(name, null);
      yield* t;
      assert.equal(name, "example");
    }());
  }));

Deno.test("test_eager_task_factory::test_name", () =>
  withEagerLoop(async (loop) => {
    let name: string | null = null;
    function* coro(): Coroutine<void> {
      name = currentTask()!.getName();
    }
    await loop.runUntilComplete(function* () {
      const t = loop.createTask(coro(), { name: "test name" });
      assert.equal(name, "test name");
      yield* t;
    }());
  }));

// ---- the task-counting tests (NonEager*/Eager*TaskTests) ---------------------

/**
 * CPython's AsyncTaskCounter: counts the tasks made without `eagerStart`,
 * through `createEagerTaskFactory(CountingTask)` or a plain factory.
 */
function counter(loop: EventLoop, eager: boolean): () => number {
  let count = 0;
  class CountingTask<T> extends Task<T> {
    constructor(coro: Coroutine<T>, loop: EventLoop, options?: TaskOptions) {
      if (!options?.eagerStart) count++;
      super(coro, loop, options);
    }
  }
  loop.setTaskFactory(
    eager
      ? createEagerTaskFactory(CountingTask)
      : (loop, coro, options) => new CountingTask(coro, loop, options),
  );
  return () => count;
}

function* awaitableChain(depth: number): Coroutine<number> {
  if (depth === 0) return 0;
  return 1 + (yield* awaitableChain(depth - 1));
}

function* recursiveTaskgroups(width: number, depth: number): Coroutine<void> {
  if (depth === 0) return;
  yield* taskGroup(function* (tg) {
    for (let i = 0; i < width; i++) tg.createTask(recursiveTaskgroups(width, depth - 1));
  });
}

function* recursiveGather(width: number, depth: number): Coroutine<void> {
  if (depth === 0) return;
  const cs = [];
  for (let i = 0; i < width; i++) cs.push(recursiveGather(width, depth - 1));
  yield* gather(cs);
}

for (const eager of [false, true]) {
  const suite = eager ? "EagerTests" : "NonEagerTests";
  const expected = eager ? 0 : 781; // 1 + 5 + 5^2 + 5^3 + 5^4

  Deno.test(`test_eager_task_factory::${suite}::test_awaitables_chain`, () =>
    withLoop(async (loop) => {
      const count = counter(loop, eager);
      assert.equal(await loop.runUntilComplete(awaitableChain(100)), 100);
      assert.equal(count(), eager ? 0 : 1);
    }));

  Deno.test(`test_eager_task_factory::${suite}::test_recursive_taskgroups`, () =>
    withLoop(async (loop) => {
      const count = counter(loop, eager);
      await loop.runUntilComplete(recursiveTaskgroups(5, 4));
      assert.equal(count(), expected);
    }));

  Deno.test(`test_eager_task_factory::${suite}::test_recursive_gather`, () =>
    withLoop(async (loop) => {
      const count = counter(loop, eager);
      await loop.runUntilComplete(recursiveGather(5, 4));
      assert.equal(count(), expected);
    }));
}

// ---- createTask(coro, { eagerStart: true }) ---------------------------------

Deno.test("eagerStart — the first step runs inside createTask, no factory needed", () =>
  vrun(function* () {
    const log: string[] = [];
    const t = createTask(function* () {
      log.push("step 1");
      yield* sleep(10);
      log.push("step 2");
      return "ok";
    }, { eagerStart: true });
    log.push("after createTask");
    assert.equal(yield* t, "ok");
    assert.deepEqual(log, ["step 1", "after createTask", "step 2"]);
    assert.equal(getRunningLoop().getTaskFactory(), null);
  }));

Deno.test("eagerStart — a coroutine that finishes at once is never scheduled", () =>
  vrun(function* () {
    const loop = getRunningLoop();
    const before = loop.stats().ready;
    const t = createTask(function* () {
      return 7;
    }, { eagerStart: true });
    assert.ok(t.done());
    assert.equal(t.result(), 7);
    assert.equal(loop.stats().ready, before, "nothing was pushed on the ready ring");
    assert.equal(allTasks().has(t), false);
  }));

Deno.test("eagerStart — an exception in the eager step fails the task, not the caller", () =>
  vrun(function* () {
    const boom = new Error("boom");
    let t!: Task<never>;
    try {
      t = createTask(function* (): Coroutine<never> {
        throw boom;
      }, { eagerStart: true });
    } catch {
      assert.fail("createTask threw the coroutine's error");
    }
    assert.ok(t.done());
    assert.equal(t.exception(), boom);
  }));

Deno.test("eagerStart — a CancelledError in the eager step cancels the task", () =>
  vrun(function* () {
    const t = createTask(function* (): Coroutine<void> {
      throw new CancelledError("self");
    }, { eagerStart: true });
    assert.ok(t.cancelled());
  }));

Deno.test("eagerStart — on a loop that is not running, the first step is scheduled (CPython: is_running() is false)", () =>
  withLoop(async (loop) => {
    let ran = false;
    const t = loop.createTask(function* () {
      ran = true;
      return 1;
    }, { eagerStart: true });
    assert.equal(ran, false);
    assert.equal(t.done(), false);
    assert.equal(await loop.runUntilComplete(t), 1);
    assert.ok(ran);
  }));

Deno.test("eagerStart — ordering: a bare yield in the eager step queues the task where createTask was called", () =>
  vrun(function* () {
    const log: string[] = [];
    function* worker(name: string): Coroutine<void> {
      log.push(`${name}1`);
      yield;
      log.push(`${name}2`);
    }
    // As CPython: A's first step is scheduled, B's runs at once and schedules
    // its second, then C's first is scheduled: the next iteration runs A1 B2 C1.
    const a = createTask(worker("A"));
    const b = createTask(worker("B"), { eagerStart: true });
    const c = createTask(worker("C"));
    log.push("main");
    yield* gather([a, b, c]);
    assert.deepEqual(log, ["B1", "main", "A1", "B2", "C1", "A2", "C2"]);
  }));

Deno.test("eagerStart — nested eager steps restore each caller's current task", () =>
  vrun(function* () {
    const main = currentTask();
    const seen: (Task<unknown> | null)[] = [];
    let inner!: Task<void>;
    const outer = createTask(function* () {
      seen.push(currentTask());
      inner = createTask(function* () {
        seen.push(currentTask());
      }, { eagerStart: true });
      seen.push(currentTask());
      yield;
    }, { eagerStart: true });
    assert.equal(currentTask(), main);
    assert.deepEqual(seen, [outer, inner, outer]);
    yield* outer;
  }));

Deno.test("eagerStart — from a plain callback, the current task is null again afterwards", () =>
  withLoop(async (loop) => {
    let inStep: Task<unknown> | null = null;
    let after: Task<unknown> | null | undefined = undefined;
    let t!: Task<void>;
    loop.callSoon(() => {
      t = loop.createTask(function* () {
        inStep = currentTask();
      }, { eagerStart: true });
      after = currentTask(loop);
      loop.stop();
    });
    await loop.runForever();
    assert.equal(inStep, t);
    assert.equal(after, null);
    assert.ok(t.done());
  }));

Deno.test("test_asyncio_wait — wait() over eagerly completed tasks returns them done at once", () =>
  withEagerLoop(async (loop) => {
    await loop.runUntilComplete(function* () {
      const ts = [1, 2, 3].map((i) =>
        createTask(function* () {
          return i;
        })
      );
      const t0 = loop.time();
      const [done, pending] = yield* wait(ts);
      assert.equal(done.size, 3);
      assert.equal(pending.size, 0);
      assert.equal(loop.time(), t0);
      assert.deepEqual(ts.map((t) => t.result()), [1, 2, 3]);
    }());
  }));

Deno.test("eagerStart — an eagerly failed task nobody awaits is reported as never retrieved", async () => {
  const loop = newLoop();
  const reports: ExceptionContext[] = [];
  loop.setExceptionHandler((_l, ctx) => reports.push(ctx));
  await loop.runUntilComplete(function* () {
    createTask(function* (): Coroutine<never> {
      throw new Error("lost");
    }, { eagerStart: true });
  }());
  loop.close();
  assert.ok(
    reports.some((r) =>
      /never retrieved/.test(r.message) && (r.exception as Error).message === "lost"
    ),
    JSON.stringify(reports.map((r) => r.message)),
  );
});
