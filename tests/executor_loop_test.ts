// Executors and the event loop: runInExecutor, the default executor, the
// virtual clock while jobs run, and wake-ups of an idle loop. Ported from
// CPython's test_asyncio (test_base_events.py, test_events.py) where a
// counterpart exists.
import { assert } from "../deps.ts";
import {
  CancelledError,
  createTask,
  type EventLoop,
  getRunningLoop,
  run,
  sleep,
  waitFor,
  WorkerPoolExecutor,
} from "../mod.ts";
import { CORE, vrun } from "./_util.ts";

function spin(ms: number): number {
  const end = performance.now() + ms;
  while (performance.now() < end);
  return ms;
}

Deno.test("test_base_events::BaseEventLoopTests::test_run_in_executor", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
  const r = await vrun(function* () {
    const loop = getRunningLoop();
    const fut = loop.runInExecutor(pool, (a: number, b: string) => b.repeat(a), 3, "ab");
    assert.equal(fut.getLoop(), loop);
    return yield* fut;
  });
  assert.equal(r, "ababab");
});

Deno.test("runInExecutor(null): the loop's default pool, shut down by run()", async () => {
  let loopSeen: EventLoop | null = null;
  const r = await vrun(function* () {
    loopSeen = getRunningLoop();
    const a = yield* loopSeen.runInExecutor(null, (x: number) => x + 1, 1);
    const b = yield* loopSeen.runInExecutor(null, (x: number) => x + 2, 1);
    return [a, b];
  });
  assert.deepEqual(r, [2, 3]);
  // run() shut the default executor down and the loop is closed: the test's
  // sanitizers would fail on a live worker.
  assert.ok(loopSeen!.isClosed());
  assert.throws(() => loopSeen!.runInExecutor(null, () => 1), { name: "RuntimeError" });
});

Deno.test("setDefaultExecutor: runInExecutor(null) uses it; shutdownDefaultExecutor waits for it", async () => {
  const pool = new WorkerPoolExecutor({ maxWorkers: 1, name: "custom" });
  await vrun(function* () {
    const loop = getRunningLoop();
    loop.setDefaultExecutor(pool);
    assert.equal(yield* loop.runInExecutor(null, () => "custom pool"), "custom pool");
  });
  assert.deepEqual(pool.stats(), {
    workers: 0,
    queued: 0,
    running: 0,
    abandoned: 0,
    done: 1,
    submitted: 1,
  });
  assert.throws(() => pool.submit(() => 1), { name: "RuntimeError" });
});

Deno.test("test_events::EventLoopTestsMixin::test_run_in_executor_cancel", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
  await run(function* () {
    const loop = getRunningLoop();
    const blocker = loop.runInExecutor(pool, spin, 50);
    const queued = loop.runInExecutor(pool, spin, 50);
    const task = createTask((function* () {
      return yield* queued;
    })());
    yield* sleep(0);
    task.cancel();
    try {
      yield* task;
    } catch (e) {
      assert.ok(e instanceof CancelledError);
    }
    assert.equal(queued.cancelled(), true, "a job that had not started is cancelled with its task");
    assert.equal(yield* blocker, 50);
  }, { core: CORE });
});

Deno.test("virtual clock: time does not jump while a job runs", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
  await vrun(function* () {
    const loop = getRunningLoop();
    const timer = createTask(sleep(60_000, "timer"));
    const r = yield* pool.submit(spin, 30);
    assert.equal(r, 30);
    assert.equal(loop.time(), 0, "the hour-long timer did not fire early");
    assert.equal(timer.done(), false);
    // With nothing in flight the clock jumps again.
    assert.equal(yield* timer, "timer");
    assert.equal(loop.time(), 60_000);
  });
});

Deno.test("virtual clock: waitFor around a running job does not time out while the clock is held", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
  const r = await vrun(function* () {
    return yield* waitFor(pool.submit(spin, 20), 10);
  });
  assert.equal(r, 20);
});

Deno.test("virtual clock: a job submitted outside the loop holds the clock once the loop awaits it", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
  const fut = pool.submit(spin, 30);
  await vrun(function* () {
    const timer = createTask(sleep(1000));
    assert.equal(yield* fut, 30);
    assert.equal(getRunningLoop().time(), 0);
    timer.cancel();
  });
});

Deno.test("a reply wakes an idle loop at once", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
  await pool.submit(() => 0); // the worker is up
  await run(function* () {
    const far = createTask(sleep(10_000));
    const t0 = performance.now();
    const r = yield* pool.submit(spin, 20);
    const took = performance.now() - t0;
    assert.equal(r, 20);
    assert.ok(took < 500, `took ${took} ms`);
    far.cancel();
  }, { core: CORE });
});
