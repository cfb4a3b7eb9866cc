// waitFor(), ported from CPython 3.13's test_waitfor.py, plus bad input.
import { assert } from "../deps.ts";
import {
  CancelledError,
  type Coroutine,
  createTask,
  EventLoop,
  getRunningLoop,
  shield,
  sleep,
  TimeoutError,
  ValueError,
  wait,
  waitFor,
} from "../mod.ts";
import { CORE, expectError, vrun } from "./_util.ts";

// A timeout that passes `> 0` but costs nothing.
const EPSILON = 0.1;

/** Runs for TASK_TIMEOUT ms of loop time, ignoring cancel requests. */
class SlowTask {
  static TASK_TIMEOUT = 200;
  exited = false;

  *run(): Coroutine<void> {
    const loop = getRunningLoop();
    const exitAt = loop.time() + SlowTask.TASK_TIMEOUT;
    for (;;) {
      const toSleep = exitAt - loop.time();
      if (toSleep <= 0) break;
      try {
        yield* sleep(toSleep);
      } catch (e) {
        if (!(e instanceof CancelledError)) throw e;
      }
    }
    this.exited = true;
  }
}

Deno.test("test_waitfor::test_asyncio_wait_for_cancelled", async () => {
  await vrun(function* () {
    const t = new SlowTask();
    const waitForTask = createTask(waitFor(t.run(), SlowTask.TASK_TIMEOUT * 2));
    yield* sleep(0);
    waitForTask.cancel();
    yield* wait([waitForTask]);
    assert.ok(t.exited);
  });
});

Deno.test("test_waitfor::test_asyncio_wait_for_timeout", async () => {
  await vrun(function* () {
    const t = new SlowTask();
    try {
      yield* waitFor(t.run(), SlowTask.TASK_TIMEOUT / 2);
    } catch (e) {
      if (!(e instanceof TimeoutError)) throw e;
    }
    assert.ok(t.exited);
  });
});

Deno.test("test_waitfor::test_wait_for_timeout_less_then_0_or_0_future_done", async () => {
  await vrun(function* () {
    const fut = getRunningLoop().createFuture<string>();
    fut.setResult("done");
    const ret = yield* waitFor(fut, 0);
    assert.equal(ret, "done");
    assert.ok(fut.done());
    assert.equal(getRunningLoop().time(), 0);
  });
});

Deno.test("test_waitfor::test_wait_for_timeout_less_then_0_or_0_coroutine_do_not_started", async () => {
  await vrun(function* () {
    let fooStarted = false;
    function* foo() {
      fooStarted = true;
    }
    yield* expectError(TimeoutError, () => waitFor(foo(), 0));
    assert.equal(fooStarted, false);
  });
});

Deno.test("test_waitfor::test_wait_for_timeout_less_then_0_or_0", async () => {
  for (const timeout of [0, -1]) {
    await vrun(function* () {
      let fooRunning: boolean | null = null;
      const started = getRunningLoop().createFuture<void>();
      function* foo() {
        fooRunning = true;
        started.setResult();
        try {
          yield* sleep(10_000);
        } finally {
          fooRunning = false;
        }
        return "done";
      }
      const fut = createTask(foo());
      yield* started;
      const e = yield* expectError(TimeoutError, () => waitFor(fut, timeout));
      assert.ok(e.cause instanceof CancelledError);
      assert.ok(fut.done());
      // it should have been cancelled due to the timeout
      assert.ok(fut.cancelled());
      assert.equal(fooRunning, false);
    });
  }
});

Deno.test("test_waitfor::test_wait_for", async () => {
  await vrun(function* () {
    let fooRunning: boolean | null = null;
    function* foo() {
      fooRunning = true;
      try {
        yield* sleep(3_600_000);
      } finally {
        fooRunning = false;
      }
      return "done";
    }
    const fut = createTask(foo());
    yield* expectError(TimeoutError, () => waitFor(fut, 100));
    assert.ok(fut.done());
    // it should have been cancelled due to the timeout
    assert.ok(fut.cancelled());
    assert.equal(fooRunning, false);
    assert.equal(getRunningLoop().time(), 100);
  });
});

Deno.test("test_waitfor::test_wait_for_blocking", async () => {
  await vrun(function* () {
    function* coro() {
      return "done";
    }
    assert.equal(yield* waitFor(coro(), null), "done");
  });
});

Deno.test("test_waitfor::test_wait_for_race_condition", async () => {
  await vrun(function* () {
    const loop = getRunningLoop();
    const fut = loop.createFuture<string>();
    const task = waitFor(fut, 200);
    loop.callSoon(() => fut.setResult("ok"));
    assert.equal(yield* task, "ok");
  });
});

Deno.test("test_waitfor::test_wait_for_cancellation_race_condition", async () => {
  await vrun(function* () {
    function* inner() {
      yield* expectError(CancelledError, () => sleep(1000));
      return 1;
    }
    assert.equal(yield* waitFor(inner(), 10), 1);
  });
});

Deno.test("test_waitfor::test_wait_for_waits_for_task_cancellation", async () => {
  await vrun(function* () {
    let taskDone = false;
    function* inner() {
      try {
        yield* sleep(10_000);
      } catch (e) {
        if (e instanceof CancelledError) yield* sleep(EPSILON);
        throw e;
      } finally {
        taskDone = true;
      }
    }
    const innerTask = createTask(inner());
    const e = yield* expectError(TimeoutError, () => waitFor(innerTask, EPSILON));
    assert.ok(taskDone);
    assert.ok(e.cause instanceof CancelledError);
  });
});

Deno.test("test_waitfor::test_wait_for_waits_for_task_cancellation_w_timeout_0", async () => {
  await vrun(function* () {
    let taskDone = false;
    function* foo() {
      function* inner() {
        try {
          yield* sleep(10_000);
        } catch (e) {
          if (e instanceof CancelledError) yield* sleep(EPSILON);
          throw e;
        } finally {
          taskDone = true;
        }
      }
      const innerTask = createTask(inner());
      yield* sleep(EPSILON);
      yield* waitFor(innerTask, 0);
    }
    const e = yield* expectError(TimeoutError, () => foo());
    assert.ok(taskDone);
    assert.ok(e.cause instanceof CancelledError);
  });
});

Deno.test("test_waitfor::test_wait_for_reraises_exception_during_cancellation", async () => {
  await vrun(function* () {
    class FooException extends Error {}
    function* foo() {
      function* inner() {
        try {
          yield* sleep(200);
        } finally {
          // deno-lint-ignore no-unsafe-finally
          throw new FooException();
        }
      }
      const innerTask = createTask(inner());
      yield* waitFor(innerTask, EPSILON);
    }
    yield* expectError(FooException, () => foo());
  });
});

for (
  const [name, timeout] of [["test_cancel_blocking_wait_for", null], [
    "test_cancel_wait_for",
    60_000,
  ]] as const
) {
  Deno.test(`test_waitfor::${name}`, async () => {
    await vrun(function* () {
      const loop = getRunningLoop();
      function* blockingCoroutine() {
        const fut = loop.createFuture();
        // Block: fut result is never set
        yield* fut;
      }
      const task = createTask(blockingCoroutine());
      const w = createTask(waitFor(task, timeout));
      loop.callSoon(() => w.cancel());
      yield* expectError(CancelledError, () => w);
      // Python issue #23219: cancelling the wait must also cancel the task
      assert.ok(task.cancelled());
    });
  });
}

Deno.test("test_waitfor::test_wait_for_cancel_suppressed", async () => {
  await vrun(function* () {
    // GH-86296: a task that suppresses the CancelledError and returns a
    // value: waitFor returns the value, as timeout() does.
    function* return42() {
      try {
        yield* sleep(10_000);
      } catch (e) {
        if (e instanceof CancelledError) return 42;
        throw e;
      }
    }
    assert.equal(yield* waitFor(return42(), 100), 42);
  });
});

Deno.test("test_waitfor::test_wait_for_issue86296", async () => {
  await vrun(function* () {
    // GH-86296: The task should get cancelled and not run to completion.
    // inner completes in one cycle of the event loop so it completes before
    // the task is cancelled.
    function* inner() {
      return "done";
    }
    const innerTask = createTask(inner());
    let reachedEnd = false;
    function* waitForCoro() {
      yield* waitFor(innerTask, 100_000);
      yield* sleep(1000);
      reachedEnd = true;
    }
    const task = createTask(waitForCoro());
    assert.equal(task.done(), false);
    // Run the task
    yield* sleep(0);
    task.cancel();
    yield* expectError(CancelledError, () => task);
    assert.ok(innerTask.done());
    assert.equal(yield* innerTask, "done");
    assert.equal(reachedEnd, false);
  });
});

Deno.test("test_waitfor::WaitForShieldTests::test_zero_timeout", async () => {
  await vrun(function* () {
    // shield() makes a separate future: with timeout 0 it is cancelled at
    // once while the task it follows keeps running.
    function* coro() {
      yield* sleep(10);
      return "done";
    }
    const task = createTask(coro());
    const shielded = shield(task);
    yield* expectError(TimeoutError, () => waitFor(shielded, 0));
    // Task is running in background
    assert.equal(task.done(), false);
    assert.equal(task.cancelled(), false);
    assert.ok(shielded.cancelled());
    // Wait for the task to complete
    yield* sleep(100);
    assert.ok(task.done());
  });
});

Deno.test("test_waitfor::WaitForShieldTests::test_none_timeout", async () => {
  await vrun(function* () {
    // With timeout=null the timeout is disabled so it runs till completion.
    function* coro() {
      yield* sleep(100);
      return "done";
    }
    const task = createTask(coro());
    yield* waitFor(shield(task), null);
    assert.ok(task.done());
    assert.equal(yield* task, "done");
  });
});

Deno.test("test_waitfor::WaitForShieldTests::test_shielded_timeout", async () => {
  await vrun(function* () {
    // shield prevents the task from being cancelled.
    function* coro() {
      yield* sleep(100);
      return "done";
    }
    const task = createTask(coro());
    yield* expectError(TimeoutError, () => waitFor(shield(task), 10));
    assert.equal(task.done(), false);
    assert.equal(task.cancelled(), false);
    assert.equal(yield* task, "done");
  });
});

Deno.test("waitFor: a coroutine runs inline in the calling task and leaves no timer behind", async () => {
  await vrun(function* () {
    const loop = getRunningLoop();
    const me = (function* () {
      return getRunningLoop()._currentTask;
    })();
    const outer = loop._currentTask;
    assert.equal(yield* waitFor(me, 1000), outer);
    assert.equal(loop.stats().timers, 0);
    yield* expectError(TimeoutError, () => waitFor(sleep(5000), 1000));
    assert.equal(loop.stats().timers, 0);
    assert.equal(loop.time(), 1000);
  });
});

Deno.test("waitFor: bad input", async () => {
  await vrun(function* () {
    assert.throws(() => waitFor(sleep(1), NaN), TypeError);
    assert.throws(() => waitFor(sleep(1), "1" as never), /got "1"/);
    assert.throws(() => waitFor(42 as never, 10), /got 42/);
    assert.throws(() => waitFor(Promise.resolve(1) as never, 10), /fromPromise/);
    const other = new EventLoop({ core: CORE });
    try {
      for (const t of [null, 0, 10]) {
        yield* expectError(ValueError, () => waitFor(other.createFuture(), t));
      }
    } finally {
      other.close();
    }
  });
});

Deno.test('waitFor: the TimeoutError says what was asked: "waitFor() timed out after 5 ms"', async () => {
  await vrun(function* () {
    yield* sleep(44.130632); // a loop time that is not the timeout
    for (const ms of [5, 0.25]) {
      const e = yield* expectError(TimeoutError, () => waitFor(sleep(1000), ms));
      assert.equal(e.message, `waitFor() timed out after ${ms} ms`);
      assert.ok(e.cause instanceof CancelledError);
    }
    const now = yield* expectError(TimeoutError, () => waitFor(sleep(1000), 0));
    assert.equal(now.message, "waitFor() timed out after 0 ms");
  });
});
