// gather(), ported from CPython's test_tasks.py (GatherTestsBase,
// FutureGatherTests, CoroutineGatherTests and the gather tests of
// BaseTaskTests), plus aio's own: typed results, bad input, cancel messages.
import { assert } from "../deps.ts";
import {
  CancelledError,
  ContextVar,
  type Coroutine,
  createTask,
  EventLoop,
  Future,
  gather,
  getRunningLoop,
  RuntimeError,
  sleep,
  type Task,
  ValueError,
} from "../mod.ts";
import { caught, CORE, vrun } from "./_util.ts";

/** Gives the loop `n` iterations: enough for done callbacks to run. */
function* turns(n = 3): Coroutine<void> {
  for (let i = 0; i < n; i++) yield;
}

function futures<T = unknown>(n: number): Future<T>[] {
  const loop = getRunningLoop();
  return Array.from({ length: n }, () => loop.createFuture<T>());
}

/** A coroutine that evaluates to what `fut` does (CoroutineGatherTests.wrap_futures). */
function* await_(fut: Future<unknown>): Coroutine<unknown> {
  return yield* fut;
}

type Wrap = (fs: Future<unknown>[]) => (Future<unknown> | Coroutine<unknown>)[];
const WRAPS: [string, Wrap][] = [
  ["FutureGatherTests", (fs) => fs],
  ["CoroutineGatherTests", (fs) => fs.map(await_)],
];

for (const [cls, wrap] of WRAPS) {
  const checkSuccess = async (returnExceptions?: boolean) => {
    await vrun(function* () {
      const [a, b, c] = futures<number>(3);
      const fut = gather(wrap([a, b, c]), { returnExceptions });
      let calls = 0;
      fut.addDoneCallback(() => calls++);
      yield* turns();
      b.setResult(1);
      a.setResult(2);
      yield* turns();
      assert.equal(calls, 0);
      assert.equal(fut.done(), false);
      c.setResult(3);
      yield* turns();
      assert.equal(calls, 1);
      assert.deepEqual(fut.result(), [2, 1, 3]);
    });
  };

  Deno.test(`test_tasks::${cls}::test_success`, async () => {
    await checkSuccess();
    await checkSuccess(false);
  });

  Deno.test(`test_tasks::${cls}::test_result_exception_success`, async () => {
    await checkSuccess(true);
  });

  Deno.test(`test_tasks::${cls}::test_one_exception`, async () => {
    await vrun(function* () {
      const [a, b, c, d, e] = futures(5);
      const fut = gather(wrap([a, b, c, d, e]));
      let calls = 0;
      fut.addDoneCallback(() => calls++);
      yield* turns();
      const exc = new RangeError("zero division");
      a.setResult(1);
      b.setException(exc);
      yield* turns();
      assert.ok(fut.done());
      assert.equal(calls, 1);
      assert.equal(fut.exception(), exc);
      // Does nothing
      c.setResult(3);
      d.cancel();
      e.setException(new Error("runtime"));
      e.exception();
      yield* turns();
    });
  });

  Deno.test(`test_tasks::${cls}::test_return_exceptions`, async () => {
    await vrun(function* () {
      const [a, b, c, d] = futures(4);
      const fut = gather(wrap([a, b, c, d]), { returnExceptions: true });
      let calls = 0;
      fut.addDoneCallback(() => calls++);
      yield* turns();
      const exc = new RangeError("zero division");
      const exc2 = new Error("runtime");
      b.setResult(1);
      c.setException(exc);
      a.setResult(3);
      yield* turns();
      assert.equal(fut.done(), false);
      d.setException(exc2);
      yield* turns();
      assert.ok(fut.done());
      assert.equal(calls, 1);
      assert.deepEqual(fut.result(), [3, 1, exc, exc2]);
    });
  });
}

Deno.test("test_tasks::FutureGatherTests::test_constructor_empty_sequence_use_running_loop", async () => {
  await vrun(function* () {
    const fut = gather([]);
    assert.ok(fut instanceof Future);
    assert.equal(fut.getLoop(), getRunningLoop());
    yield* turns(1);
    assert.ok(fut.done());
    assert.deepEqual(fut.result(), []);
    assert.deepEqual(yield* fut, []);
  });
});

Deno.test("test_tasks::FutureGatherTests::test_constructor_empty_sequence_without_loop: aio gives a done future instead of a RuntimeError", async () => {
  // asyncio needs an event loop to make the empty result; aio's futures can
  // be unbound, so `gather([])` works anywhere.
  const fut = gather([]);
  assert.ok(fut.done());
  assert.deepEqual(await fut, []);
});

Deno.test("test_tasks::FutureGatherTests::test_constructor_heterogenous_futures", async () => {
  const one = new EventLoop({ core: CORE, clock: "virtual" });
  const other = new EventLoop({ core: CORE, clock: "virtual" });
  try {
    assert.throws(() => gather([one.createFuture(), other.createFuture()]), ValueError);
    // Inside a running loop, a future of any other loop is refused.
    await vrun(function* () {
      assert.throws(() => gather([one.createFuture()]), ValueError);
      assert.throws(() => gather([sleep(1), other.createFuture()]), ValueError);
      // Nothing was started for the coroutine before the error.
      assert.equal(getRunningLoop().stats().timers, 0);
      yield* turns(1);
    });
  } finally {
    one.close();
    other.close();
  }
});

Deno.test("test_tasks::FutureGatherTests::test_constructor_homogenous_futures", async () => {
  const other = new EventLoop({ core: CORE, clock: "virtual" });
  try {
    const children = [other.createFuture(), other.createFuture(), other.createFuture()];
    const fut = gather(children);
    assert.equal(fut.getLoop(), other);
    assert.equal(fut.done(), false);
    const fut2 = gather(children);
    assert.equal(fut2.getLoop(), other);
    children.forEach((c, i) => c.setResult(i));
    assert.deepEqual(await other.runUntilComplete(fut), [0, 1, 2]);
    assert.deepEqual(await other.runUntilComplete(fut2), [0, 1, 2]);
  } finally {
    other.close();
  }
});

Deno.test("test_tasks::FutureGatherTests::test_one_cancellation", async () => {
  await vrun(function* () {
    const [a, b, c, d, e] = futures(5);
    const fut = gather([a, b, c, d, e]);
    let calls = 0;
    fut.addDoneCallback(() => calls++);
    a.setResult(1);
    b.cancel();
    yield* turns();
    assert.ok(fut.done());
    assert.equal(calls, 1);
    assert.equal(fut.cancelled(), false);
    assert.ok(fut.exception() instanceof CancelledError);
    // Does nothing
    c.setResult(3);
    d.cancel();
    e.setException(new Error("runtime"));
    e.exception();
    yield* turns();
  });
});

Deno.test("test_tasks::FutureGatherTests::test_result_exception_one_cancellation", async () => {
  await vrun(function* () {
    const [a, b, c, d, e, f] = futures(6);
    const fut = gather([a, b, c, d, e, f], { returnExceptions: true });
    let calls = 0;
    fut.addDoneCallback(() => calls++);
    a.setResult(1);
    const zde = new RangeError("zero division");
    b.setException(zde);
    c.cancel();
    yield* turns();
    assert.equal(fut.done(), false);
    d.setResult(3);
    e.cancel();
    const rte = new Error("runtime");
    f.setException(rte);
    const res = yield* fut;
    assert.ok(res[2] instanceof CancelledError);
    assert.ok(res[4] instanceof CancelledError);
    res[2] = res[4] = null;
    assert.deepEqual(res, [1, zde, null, 3, null, rte]);
    yield* turns(1);
    assert.equal(calls, 1);
  });
});

Deno.test("test_tasks::CoroutineGatherTests::test_constructor_without_loop", () => {
  function* coro() {
    return "abc";
  }
  assert.throws(() => gather([coro(), coro()]), RuntimeError);
});

Deno.test("test_tasks::CoroutineGatherTests::test_constructor_use_running_loop", async () => {
  await vrun(function* () {
    function* coro() {
      return "abc";
    }
    const fut = gather([coro(), coro()]);
    assert.equal(fut.getLoop(), getRunningLoop());
    assert.deepEqual(yield* fut, ["abc", "abc"]);
  });
});

Deno.test("test_tasks::CoroutineGatherTests::test_duplicate_coroutines", async () => {
  await vrun(function* () {
    let runs = 0;
    function* coro(s: string) {
      runs++;
      return s;
    }
    const c = coro("abc");
    const fut = gather([c, c, coro("def"), c]);
    assert.deepEqual(yield* fut, ["abc", "abc", "def", "abc"]);
    assert.equal(runs, 2);
  });
});

Deno.test("gather: a future or task given twice is one child, pending or already done", async () => {
  await vrun(function* () {
    const loop = getRunningLoop();
    const pending = loop.createFuture<string>();
    const finished = loop.createFuture<string>();
    finished.setResult("early");
    const t = createTask(function* () {
      yield;
      return "task";
    });
    const fut = gather([pending, t, finished, pending, finished, t, pending]);
    assert.equal(pending._callbackCount(), 1, "one registration per distinct future");
    assert.equal(t._callbackCount(), 1);
    loop.callSoon(() => pending.setResult("late"));
    assert.deepEqual(yield* fut, ["late", "task", "early", "late", "early", "task", "late"]);
    // Cancelling cancels each distinct child once and still completes.
    const a = loop.createFuture();
    const g = gather([a, a]);
    assert.equal(g.cancel(), true);
    assert.equal(a.cancelled(), true);
    assert.ok((yield* caught(g)) instanceof CancelledError);
  });
});

Deno.test("test_tasks::CoroutineGatherTests::test_cancellation_broadcast", async () => {
  await vrun(function* () {
    let proof = 0;
    const waiter = getRunningLoop().createFuture();
    function* inner() {
      yield* waiter;
      proof += 1;
    }
    const child1 = createTask(inner());
    const child2 = createTask(inner());
    let gatherer: Future<unknown> | null = null;
    function* outer() {
      gatherer = gather([child1, child2]);
      yield* gatherer;
      proof += 100;
    }
    const f = createTask(outer());
    yield;
    assert.ok(f.cancel());
    yield* assertCancelled(f);
    assert.equal(gatherer!.cancel(), false);
    assert.ok(waiter.cancelled());
    assert.ok(child1.cancelled());
    assert.ok(child2.cancelled());
    yield;
    assert.equal(proof, 0);
  });
});

function* assertCancelled(t: Future<unknown>): Coroutine<CancelledError> {
  try {
    yield* t;
  } catch (e) {
    assert.ok(e instanceof CancelledError, `expected CancelledError, got ${e}`);
    return e;
  }
  throw new assert.AssertionError({ message: "expected a CancelledError" });
}

Deno.test("test_tasks::CoroutineGatherTests::test_exception_marking", async () => {
  const reports: unknown[] = [];
  await vrun(function* () {
    getRunningLoop().setExceptionHandler((_l, ctx) => reports.push(ctx));
    function* inner(f: Future<unknown>) {
      yield* f;
      throw new Error("should not be ignored");
    }
    const [a, b] = futures(2);
    function* outer() {
      yield* gather([inner(a), inner(b)]);
    }
    const f = createTask(outer());
    yield;
    a.setResult(null);
    yield* turns();
    b.setResult(null);
    yield* turns();
    assert.ok(f.exception() instanceof Error);
  });
  // The second child's failure was seen by gather after it was done: not reported.
  assert.deepEqual(reports, []);
});

Deno.test("test_tasks::CoroutineGatherTests::test_issue46672: bad input leaves no task behind", async () => {
  await vrun(function* () {
    let started = false;
    function* coro(s: string) {
      started = true;
      return s;
    }
    const c = coro("abc");
    assert.throws(() => gather([c, {} as never]), TypeError);
    yield* turns();
    assert.equal(started, false);
    assert.equal(getRunningLoop().stats().handles, 1); // only the main task
  });
});

Deno.test("test_tasks::test_cancel_gather_1: a gather refuses to be cancelled once all children are done", async () => {
  await vrun(function* () {
    const loop = getRunningLoop();
    const fut = loop.createFuture<number>();
    function* childCoro() {
      return yield* fut;
    }
    // ensure_future(gather(...)) in the original: the gather future itself.
    const gatherTask = gather([childCoro()]);
    yield* turns();
    let cancelResult: boolean | null = null;
    fut.addDoneCallback(() => {
      cancelResult = gatherTask.cancel();
    });
    fut.setResult(42);
    const res = yield* gatherTask;
    // Python issue #26923: asyncio.gather drops cancellation
    assert.equal(cancelResult, false);
    assert.equal(gatherTask.cancelled(), false);
    assert.deepEqual(res, [42]);
  });
});

Deno.test("test_tasks::test_cancel_gather_2: cancelling a task in gather propagates CancelledError with the message", async () => {
  for (const [msg, expected] of [[undefined, ""], ["my message", "my message"]] as const) {
    await vrun(function* () {
      function* test() {
        let time = 0;
        for (;;) {
          time += 50;
          yield* gather([sleep(50)], { returnExceptions: true });
          if (time > 1000) return;
        }
      }
      const qwe = createTask(test());
      yield* sleep(200);
      qwe.cancel(msg);
      const e = yield* assertCancelled(qwe);
      assert.equal(e.message, expected);
    });
  }
});

Deno.test("test_tasks::test_context_3: 100 tasks in a gather keep their own context", async () => {
  const cvar = new ContextVar<number>("cvar", { default: -1 });
  await vrun(function* () {
    function* sub(num: number) {
      for (let i = 0; i < 10; i++) {
        cvar.set(num + i);
        yield* sleep(1 + ((num * 7 + i * 13) % 50));
        assert.equal(cvar.get(), num + i);
      }
    }
    const tasks: Task<void>[] = [];
    for (let i = 0; i < 100; i++) tasks.push(createTask(sub(i % 11)));
    yield* gather(tasks);
  });
  assert.equal(cvar.get(), -1);
});

Deno.test("gather: results in argument order, typed as a tuple, finishing with the slowest", async () => {
  await vrun(function* () {
    const loop = getRunningLoop();
    function* num(ms: number): Coroutine<number> {
      yield* sleep(ms);
      return ms;
    }
    const t = createTask(sleep(300, "task"));
    const f = loop.createFuture<boolean>();
    loop.callLater(100, () => f.setResult(true));
    const [a, b, c] = yield* gather([num(200), t, f]);
    // The tuple type checks: each slot has its own type.
    const typed: [number, string, boolean] = [a, b, c];
    assert.deepEqual(typed, [200, "task", true]);
    assert.equal(loop.time(), 300);
  });
});

Deno.test("gather: the first error propagates at once without cancelling the siblings", async () => {
  await vrun(function* () {
    const loop = getRunningLoop();
    function* fail(): Coroutine<never> {
      yield* sleep(10);
      throw new RangeError("boom");
    }
    const slow = createTask(sleep(100, "slow"));
    const g = gather([fail(), slow]);
    yield* assertThrows(g, RangeError);
    assert.equal(loop.time(), 10);
    assert.equal(slow.done(), false);
    assert.equal(yield* slow, "slow");
  });
});

function* assertThrows(
  aw: Future<unknown> | Coroutine<unknown>,
  // deno-lint-ignore no-explicit-any
  cls: new (...args: any[]) => Error,
): Coroutine<Error> {
  try {
    yield* aw;
  } catch (e) {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${e}`);
    return e;
  }
  throw new assert.AssertionError({ message: `expected ${cls.name}` });
}

Deno.test("gather: cancelling it cancels every pending child and raises CancelledError with the message", async () => {
  await vrun(function* () {
    const done = createTask(sleep(1, "done"));
    const a = createTask(sleep(1000));
    const b = createTask(sleep(2000));
    yield* sleep(5);
    const g = gather([done, a, b], { returnExceptions: true });
    const waiter = createTask(function* () {
      return yield* g;
    });
    yield;
    assert.ok(g.cancel("enough"));
    assert.equal(g.done(), false); // like Task.cancel: a request, not a state
    const e = yield* assertCancelled(waiter);
    assert.equal(e.message, "enough");
    assert.ok(a.cancelled() && b.cancelled());
    assert.equal(done.result(), "done");
    assert.equal(g.cancelled(), false);
    assert.equal((g.exception() as Error).message, "enough");
    assert.equal(g.cancel(), false);
  });
});

Deno.test("gather: a child cancelled on its own is a CancelledError result, not a cancelled gather", async () => {
  await vrun(function* () {
    const a = createTask(sleep(100, "a"));
    const b = createTask(sleep(100, "b"));
    const g = gather([a, b], { returnExceptions: true });
    yield;
    b.cancel("just b");
    const [ra, rb] = yield* g;
    assert.equal(ra, "a");
    assert.ok(rb instanceof CancelledError);
    assert.equal(rb.message, "just b");
    // Without returnExceptions the CancelledError is raised, but the gather
    // itself is not cancelled.
    const c = createTask(sleep(100));
    const g2 = gather([c, createTask(sleep(100))]);
    yield;
    c.cancel("just c");
    const e = yield* assertCancelled(g2);
    assert.equal(e.message, "just c");
    assert.equal(g2.cancelled(), false);
  });
});

Deno.test("gather: children already done complete it before it is returned", async () => {
  await vrun(function* () {
    const [a, b] = futures<number>(2);
    a.setResult(1);
    b.setResult(2);
    const g = gather([a, b]);
    assert.ok(g.done());
    assert.deepEqual(g.result(), [1, 2]);
    yield;
  });
});

Deno.test("gather: bad input is a TypeError naming the value", async () => {
  await vrun(function* () {
    assert.throws(() => gather([sleep(1), 42 as never]), /gather\(\) argument 1 .*got 42/);
    assert.throws(() => gather([Promise.resolve(1) as never]), /Promise.*fromPromise/);
    assert.throws(() => gather([sleep as never]), /function sleep: call it/);
    assert.throws(() => gather(sleep(1) as never), /expects an array.*wrap it in an array/);
    assert.throws(() => gather(createTask(sleep(1)) as never), TypeError);
    yield* turns();
  });
});

Deno.test("gather: 20 000 children, one shared callback, linear time", async () => {
  await vrun(function* () {
    const n = 20_000;
    const fs = futures<number>(n);
    const g = gather(fs);
    fs.forEach((f, i) => f.setResult(i));
    const res = yield* g;
    assert.equal(res.length, n);
    assert.equal(res[n - 1], n - 1);
    const tasks = Array.from({ length: n }, (_, i) => sleep(i % 7, i));
    const t0 = performance.now();
    const res2 = yield* gather(tasks);
    assert.equal(res2[12345], 12345);
    // Quadratic work would take seconds here.
    assert.ok(performance.now() - t0 < 2000);
  });
});
