// Timeout scopes, ported from CPython 3.13's test_timeouts.py. asyncio's
// `async with timeout(d) as cm: body` is `yield* timeout(d, function* (cm) { body })`.
// JavaScript has no implicit exception context (`__context__`), so the
// chaining assertions keep only what `cause` carries.
import { assert } from "../deps.ts";
import {
  CancelledError,
  type Coroutine,
  createTask,
  currentTask,
  EventLoop,
  ExceptionGroup,
  getRunningLoop,
  run,
  RuntimeError,
  sleep,
  taskGroup,
  Timeout,
  timeout,
  timeoutAt,
  TimeoutError,
  ValueError,
} from "../mod.ts";
import { CORE, DENO_ONLY, expectError, vrun } from "./_util.ts";

/**
 * Python's `with self.assertRaises(cls):` — passes if `body` throws `cls`,
 * lets any other error through, fails if nothing is thrown.
 */
function* assertRaises(
  // deno-lint-ignore no-explicit-any
  cls: new (...args: any[]) => Error,
  body: () => Coroutine<unknown>,
): Coroutine<void> {
  try {
    yield* body();
  } catch (e) {
    if (e instanceof cls) return;
    throw e;
  }
  throw new assert.AssertionError({ message: `${cls.name} not raised` });
}

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* the loop is busy */ }
}

Deno.test("test_timeouts::test_timeout_basic", async () => {
  await vrun(function* () {
    let cm: Timeout | undefined;
    yield* expectError(TimeoutError, () =>
      timeout(10, function* (c) {
        cm = c;
        yield* sleep(10_000);
      }));
    assert.ok(cm!.expired());
    assert.equal(getRunningLoop().time(), 10);
  });
});

Deno.test("test_timeouts::test_timeout_at_basic", async () => {
  await vrun(function* () {
    const loop = getRunningLoop();
    let cm: Timeout | undefined;
    const deadline = loop.time() + 10;
    yield* expectError(TimeoutError, () =>
      timeoutAt(deadline, function* (c) {
        cm = c;
        yield* sleep(10_000);
      }));
    assert.ok(cm!.expired());
    assert.equal(cm!.when(), deadline);
  });
});

Deno.test("test_timeouts::test_nested_timeouts", async () => {
  await vrun(function* () {
    const loop = getRunningLoop();
    let cancelled = false;
    let cm1: Timeout | undefined, cm2: Timeout | undefined;
    const deadline = loop.time() + 10;
    yield* expectError(TimeoutError, () =>
      timeoutAt(deadline, function* (c1) {
        cm1 = c1;
        // Only the topmost scope should raise TimeoutError.
        try {
          yield* timeoutAt(deadline, function* (c2) {
            cm2 = c2;
            yield* sleep(10_000);
          });
        } catch (e) {
          if (e instanceof CancelledError) cancelled = true;
          throw e;
        }
      }));
    assert.ok(cancelled);
    assert.ok(cm1!.expired());
    assert.ok(cm2!.expired());
  });
});

Deno.test("test_timeouts::test_waiter_cancelled", async () => {
  await vrun(function* () {
    let cancelled = false;
    yield* expectError(TimeoutError, () =>
      timeout(10, function* () {
        try {
          yield* sleep(10_000);
        } catch (e) {
          if (e instanceof CancelledError) cancelled = true;
          throw e;
        }
      }));
    assert.ok(cancelled);
  });
});

Deno.test("test_timeouts::test_timeout_not_called", async () => {
  await vrun(function* () {
    const loop = getRunningLoop();
    let cm: Timeout | undefined;
    yield* timeout(10_000, function* (c) {
      cm = c;
      yield* sleep(10);
    });
    const t1 = loop.time();
    assert.equal(cm!.expired(), false);
    assert.ok(cm!.when()! > t1);
    assert.equal(loop.stats().timers, 0); // the scope's timer is gone
  });
});

Deno.test("test_timeouts::test_timeout_disabled", async () => {
  await vrun(function* () {
    let cm: Timeout | undefined;
    yield* timeout(null, function* (c) {
      cm = c;
      yield* sleep(10);
    });
    assert.equal(cm!.expired(), false);
    assert.equal(cm!.when(), null);
  });
});

Deno.test("test_timeouts::test_timeout_at_disabled", async () => {
  await vrun(function* () {
    let cm: Timeout | undefined;
    yield* timeoutAt(null, function* (c) {
      cm = c;
      yield* sleep(10);
    });
    assert.equal(cm!.expired(), false);
    assert.equal(cm!.when(), null);
  });
});

for (
  const [name, delay, nap] of [
    ["test_timeout_zero", 0, 10_000],
    ["test_timeout_zero_sleep_zero", 0, 0],
    ["test_timeout_in_the_past_sleep_zero", -11, 0],
  ] as const
) {
  Deno.test(`test_timeouts::${name}`, async () => {
    await vrun(function* () {
      const loop = getRunningLoop();
      const t0 = loop.time();
      let cm: Timeout | undefined;
      yield* expectError(TimeoutError, () =>
        timeout(delay, function* (c) {
          cm = c;
          yield* sleep(nap);
        }));
      const t1 = loop.time();
      assert.ok(cm!.expired());
      // Negative delays act as 0.
      assert.ok(t0 <= cm!.when()! && cm!.when()! <= t1);
    });
  });
}

Deno.test("test_timeouts::test_foreign_exception_passed", async () => {
  await vrun(function* () {
    let cm: Timeout | undefined;
    yield* expectError(RangeError, () =>
      timeout(10, function* (c) {
        cm = c;
        throw new RangeError("key error");
      }));
    assert.equal(cm!.expired(), false);
  });
});

Deno.test("test_timeouts::test_timeout_exception_context: the TimeoutError's cause is the CancelledError", async () => {
  await vrun(function* () {
    const e = yield* expectError(TimeoutError, () =>
      timeout(10, function* () {
        try {
          throw new RangeError("1/0");
        } finally {
          yield* sleep(1000);
        }
      }));
    assert.ok(e.cause instanceof CancelledError);
  });
});

Deno.test("test_timeouts::test_foreign_exception_on_timeout: an error raised while cancelling passes through", async () => {
  await vrun(function* () {
    function* crash() {
      try {
        yield* sleep(1000);
      } finally {
        // deno-lint-ignore no-unsafe-finally
        throw new RangeError("1/0");
      }
    }
    yield* expectError(RangeError, () => timeout(10, crash()));
  });
});

Deno.test("test_timeouts::test_foreign_cancel_doesnt_timeout_if_not_expired", async () => {
  await vrun(function* () {
    let cm: Timeout | undefined;
    const t = createTask(function* () {
      yield* expectError(CancelledError, () =>
        timeout(10_000, function* (c) {
          cm = c;
          currentTask()!.cancel();
          yield* sleep(10_000);
        }));
    });
    yield* t;
    assert.equal(cm!.expired(), false);
  });
});

Deno.test("test_timeouts::test_outer_task_is_not_cancelled", async () => {
  await vrun(function* () {
    function* outer() {
      yield* expectError(TimeoutError, () => timeout(1, sleep(10_000)));
    }
    const task = createTask(outer());
    yield* task;
    assert.equal(task.cancelled(), false);
    assert.ok(task.done());
    assert.equal(task.cancelling(), 0);
  });
});

Deno.test("test_timeouts::test_nested_timeouts_concurrent (real clock)", async () => {
  await run(function* () {
    yield* assertRaises(TimeoutError, () =>
      timeout(2, function* () {
        yield* assertRaises(TimeoutError, () =>
          timeout(100, function* () {
            // Pretend we crunch some numbers.
            busy(10);
            yield* sleep(1000);
          }));
      }));
  }, { core: CORE });
});

Deno.test("test_timeouts::test_nested_timeouts_loop_busy (real clock)", async () => {
  await run(function* () {
    // After the inner timeout is an expensive operation which should be
    // stopped by the outer timeout.
    const loop = getRunningLoop();
    const t0 = loop.time();
    yield* assertRaises(TimeoutError, () =>
      timeout(100, function* () { // (1)
        yield* assertRaises(TimeoutError, () =>
          timeout(10, function* () { // (2)
            // Pretend the loop is busy for a while.
            busy(100);
            yield* sleep(1000);
          }));
        // TimeoutError was caught by (2)
        yield* sleep(10_000); // This sleep should be interrupted by (1)
      }));
    const t1 = loop.time();
    assert.ok(t0 <= t1 && t1 <= t0 + 1000);
  }, { core: CORE });
});

Deno.test("test_timeouts::test_reschedule", async () => {
  await vrun(function* () {
    const loop = getRunningLoop();
    const fut = loop.createFuture<Timeout>();
    const deadline1 = loop.time() + 10_000;
    const deadline2 = deadline1 + 20_000;
    function* f() {
      yield* timeoutAt(deadline1, function* (cm) {
        fut.setResult(cm);
        yield* sleep(50_000);
      });
    }
    const task = createTask(f());
    const cm = yield* fut;
    assert.equal(cm.when(), deadline1);
    cm.reschedule(deadline2);
    assert.equal(cm.when(), deadline2);
    cm.reschedule(null);
    assert.equal(cm.when(), null);
    task.cancel();
    yield* expectError(CancelledError, () => task);
    assert.equal(cm.expired(), false);
  });
});

Deno.test("Timeout.reschedule moves the deadline, also into the past", async () => {
  await vrun(function* () {
    const loop = getRunningLoop();
    yield* expectError(TimeoutError, () =>
      timeout(100, function* (cm) {
        cm.reschedule(loop.time() + 500);
        yield* sleep(300); // survives the original deadline
        cm.reschedule(loop.time() - 1); // already past: expires next iteration
        yield* sleep(10_000);
      }));
    assert.equal(loop.time(), 300);
    yield* timeout(100, function* (cm) {
      assert.throws(() => cm.reschedule(NaN), TypeError);
    });
  });
});

Deno.test("test_timeouts::test_repr_active", DENO_ONLY, async () => {
  await vrun(function* () {
    yield* timeout(10_000, function* (cm) {
      assert.match(String(cm), /^<Timeout \[active\] when=\d+(\.\d*)?>$/);
      assert.equal(Deno.inspect(cm), String(cm));
    });
  });
});

Deno.test("test_timeouts::test_repr_expired", async () => {
  await vrun(function* () {
    let cm: Timeout | undefined;
    yield* expectError(TimeoutError, () =>
      timeout(10, function* (c) {
        cm = c;
        yield* sleep(10_000);
      }));
    assert.equal(String(cm), "<Timeout [expired]>");
  });
});

Deno.test("test_timeouts::test_repr_finished", async () => {
  await vrun(function* () {
    let cm: Timeout | undefined;
    yield* timeout(10_000, function* (c) {
      cm = c;
      yield* sleep(0);
    });
    assert.equal(String(cm), "<Timeout [finished]>");
  });
});

Deno.test("test_timeouts::test_repr_disabled", async () => {
  await vrun(function* () {
    yield* timeout(null, function* (cm) {
      assert.equal(String(cm), "<Timeout [active] when=null>");
    });
  });
});

Deno.test("test_timeouts::test_nested_timeout_in_finally", async () => {
  await vrun(function* () {
    let e2: TimeoutError | undefined;
    const e1 = yield* expectError(TimeoutError, () =>
      timeout(10, function* () {
        try {
          yield* sleep(1000);
        } finally {
          e2 = yield* expectError(TimeoutError, () => timeout(10, sleep(10_000)));
        }
      }));
    assert.ok(e1.cause instanceof CancelledError);
    assert.ok(e2!.cause instanceof CancelledError);
    assert.notEqual(e1.cause, e2!.cause);
  });
});

Deno.test("test_timeouts::test_timeout_after_cancellation", async () => {
  await vrun(function* () {
    const t = createTask(function* () {
      try {
        currentTask()!.cancel();
        yield* sleep(1000); // work which will be cancelled
      } catch (e) {
        assert.ok(e instanceof CancelledError);
      } finally {
        yield* expectError(TimeoutError, () => timeout(0, sleep(1000))); // some cleanup
      }
    });
    yield* t;
  });
});

Deno.test("test_timeouts::test_cancel_in_timeout_after_cancellation", async () => {
  await vrun(function* () {
    const t = createTask(function* () {
      try {
        currentTask()!.cancel();
        yield* sleep(1000); // work which will be cancelled
      } catch (e) {
        assert.ok(e instanceof CancelledError);
      } finally {
        yield* expectError(CancelledError, () =>
          timeout(1000, function* () {
            currentTask()!.cancel();
            yield* sleep(2000); // some cleanup
          }));
      }
    });
    yield* t;
  });
});

Deno.test("test_timeouts::test_timeout_already_entered", async () => {
  await vrun(function* () {
    yield* timeout(10, function* (cm) {
      const e = yield* expectError(RuntimeError, () => cm.run(function* () {}));
      assert.match(e.message, /has already been entered/);
    });
  });
});

Deno.test("test_timeouts::test_timeout_double_enter", async () => {
  await vrun(function* () {
    const cm = new Timeout(getRunningLoop().time() + 10);
    yield* cm.run(function* () {});
    const e = yield* expectError(RuntimeError, () => cm.run(function* () {}));
    assert.match(e.message, /has already been entered/);
  });
});

Deno.test("Timeout.run: a scope made by hand", async () => {
  await vrun(function* () {
    const loop = getRunningLoop();
    const cm = new Timeout(loop.time() + 100);
    assert.equal(String(cm), "<Timeout [created]>");
    const e = yield* expectError(TimeoutError, () => cm.run(sleep(1000)));
    assert.ok(e.cause instanceof CancelledError);
    assert.ok(cm.expired());
    assert.equal(loop.time(), 100);
    assert.equal(yield* new Timeout(null).run(sleep(5, "ok")), "ok");
    assert.throws(() => new Timeout(NaN), TypeError);
    assert.throws(() => new Timeout(1).run(42 as never), TypeError);
  });
});

Deno.test("test_timeouts::test_timeout_finished", async () => {
  await vrun(function* () {
    let cm: Timeout | undefined;
    yield* timeout(10, function* (c) {
      cm = c;
    });
    assert.throws(() => cm!.reschedule(20), { name: "RuntimeError", message: /finished/ });
  });
});

Deno.test("test_timeouts::test_timeout_expired", async () => {
  await vrun(function* () {
    let cm: Timeout | undefined;
    yield* expectError(TimeoutError, () =>
      timeout(10, function* (c) {
        cm = c;
        yield* sleep(1000);
      }));
    assert.throws(() => cm!.reschedule(20), { name: "RuntimeError", message: /expired/ });
  });
});

Deno.test("test_timeouts::test_timeout_expiring", async () => {
  await vrun(function* () {
    yield* timeout(10, function* (cm) {
      yield* expectError(CancelledError, () => sleep(1000));
      assert.throws(() => cm.reschedule(20), { name: "RuntimeError", message: /expiring/ });
    });
  });
});

Deno.test("test_timeouts::test_timeout_not_entered", () => {
  const cm = new Timeout(10);
  assert.throws(() => cm.reschedule(20), { name: "RuntimeError", message: /has not been entered/ });
});

Deno.test("test_timeouts::test_timeout_without_task", async () => {
  await vrun(function* () {
    const loop = getRunningLoop();
    const fut = loop.createFuture<unknown>();
    // Drive the scope from a plain callback: there is no task to cancel.
    loop.callSoon(() => {
      try {
        timeout(10, sleep(1)).next();
        fut.setResult(null);
      } catch (e) {
        fut.setResult(e);
      }
    });
    const err = yield* fut;
    assert.ok(err instanceof RuntimeError);
    assert.match(err.message, /task/);
  });
});

Deno.test("test_timeouts::test_timeout_taskgroup", async () => {
  await vrun(function* () {
    function* task() {
      try {
        yield* sleep(2000); // Will be interrupted after 10 ms
      } finally {
        // deno-lint-ignore no-unsafe-finally
        throw new RangeError("1/0"); // Crash in cleanup
      }
    }
    const eg = yield* expectError(ExceptionGroup, () =>
      timeout(10, function* () {
        yield* taskGroup(function* (tg) {
          tg.createTask(task());
          try {
            throw new ValueError("body");
          } finally {
            yield* sleep(1000);
          }
        });
      }));
    // The body's ValueError was replaced by the CancelledError its finally
    // block raised, as in Python: only the task's error is in the group.
    assert.equal(eg.exceptions.length, 1);
    assert.ok(eg.exceptions[0] instanceof RangeError);
    assert.equal(currentTask()!.cancelling(), 0);
  });
});

Deno.test("timeout: a body that swallows the cancellation exits normally", async () => {
  await vrun(function* () {
    const loop = getRunningLoop();
    let cm: Timeout | undefined;
    const r = yield* timeout(10, function* (c) {
      cm = c;
      try {
        yield* sleep(1000);
      } catch {
        return "swallowed";
      }
      return "slept";
    });
    assert.equal(r, "swallowed");
    assert.ok(cm!.expired());
    assert.equal(currentTask()!.cancelling(), 0);
    assert.equal(loop.time(), 10);
  });
});

Deno.test("timeout: the body may be an awaitable; the result passes through", async () => {
  await vrun(function* () {
    const loop = getRunningLoop();
    assert.equal(yield* timeout(100, sleep(10, "coro")), "coro");
    const f = loop.createFuture<string>();
    loop.callLater(5, () => f.setResult("future"));
    assert.equal(yield* timeout(100, f), "future");
    const slow = loop.createFuture<string>();
    yield* expectError(TimeoutError, () => timeout(100, slow));
    assert.ok(slow.cancelled()); // the awaited future was cancelled
    assert.equal(loop.stats().timers, 0);
  });
});

Deno.test("timeout: bad input", async () => {
  await vrun(function* () {
    assert.throws(() => timeout(NaN, sleep(1)), TypeError);
    assert.throws(() => timeout("5" as never, sleep(1)), /got "5"/);
    assert.throws(() => timeoutAt(NaN, sleep(1)), TypeError);
    assert.throws(() => timeout(10, 42 as never), /got 42/);
    yield* expectError(TypeError, () => timeout(10, (() => 42) as never));
    // A future of another loop is a ValueError.
    const loop2 = new EventLoop({ core: CORE });
    try {
      yield* expectError(ValueError, () => timeout(10, loop2.createFuture()));
    } finally {
      loop2.close();
    }
  });
});

Deno.test("timeout: the TimeoutError names the delay asked for, or the deadline once moved", async () => {
  await vrun(function* () {
    yield* sleep(7);
    const e = yield* expectError(TimeoutError, () => timeout(5, sleep(1000)));
    assert.equal(e.message, "timeout() timed out after 5 ms");
    const moved = yield* expectError(TimeoutError, () =>
      timeout(5, function* (cm) {
        cm.reschedule(getRunningLoop().time() + 20);
        yield* sleep(1000);
      }));
    assert.equal(moved.message, "timeout() timed out: its deadline (loop time 32 ms) passed");
    const at = yield* expectError(TimeoutError, () => timeoutAt(40, sleep(1000)));
    assert.equal(at.message, "timeoutAt() timed out: its deadline (loop time 40 ms) passed");
  });
});
