// wait(), ported from CPython's test_tasks.py, plus bad input.
import { assert } from "../deps.ts";
import {
  ALL_COMPLETED,
  CancelledError,
  createTask,
  EventLoop,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  getRunningLoop,
  sleep,
  type Task,
  ValueError,
  wait,
} from "../mod.ts";
import { CORE, expectError, vrun } from "./_util.ts";

function setOf<T>(...xs: T[]): Set<T> {
  return new Set(xs);
}

Deno.test("test_tasks::test_wait", async () => {
  await vrun(function* () {
    const loop = getRunningLoop();
    const a = createTask(sleep(100));
    const b = createTask(sleep(150));
    function* foo() {
      const [done, pending] = yield* wait([b, a]);
      assert.deepEqual(done, setOf(a, b));
      assert.deepEqual(pending, setOf());
      return 42;
    }
    assert.equal(yield* createTask(foo()), 42);
    assert.equal(loop.time(), 150);
    // Doing it again should take no time and exercise a different path.
    assert.equal(yield* createTask(foo()), 42);
    assert.equal(loop.time(), 150);
  });
});

Deno.test("test_tasks::test_wait_duplicate_coroutines", async () => {
  await vrun(function* () {
    function* coro(s: string) {
      return s;
    }
    const c = createTask(coro("test"));
    const [done, pending] = yield* wait([c, c, createTask(coro("spam"))]);
    assert.equal(pending.size, 0);
    assert.deepEqual(new Set([...done].map((f) => f.result())), setOf("test", "spam"));
  });
});

Deno.test("test_tasks::test_wait_errors", async () => {
  await vrun(function* () {
    assert.throws(() => wait(new Set<Task<void>>()), ValueError);
    // -1 is an invalid returnWhen value
    const t = createTask(sleep(10_000));
    assert.throws(() => wait([t], { returnWhen: -1 as never }), ValueError);
    assert.throws(() => wait([t], { returnWhen: "first" as never }), /invalid returnWhen "first"/);
    t.cancel();
    yield;
  });
});

Deno.test("test_tasks::test_wait_first_completed", async () => {
  await vrun(function* () {
    const loop = getRunningLoop();
    const a = createTask(sleep(10_000));
    const b = createTask(sleep(100));
    const [done, pending] = yield* createTask(wait([b, a], { returnWhen: FIRST_COMPLETED }));
    assert.deepEqual(done, setOf(b));
    assert.deepEqual(pending, setOf(a));
    assert.equal(a.done(), false);
    assert.ok(b.done());
    assert.equal(b.result(), undefined);
    assert.equal(loop.time(), 100);
    a.cancel();
  });
});

Deno.test("test_tasks::test_wait_really_done", async () => {
  await vrun(function* () {
    // Some tasks in the pending list may have become done while their
    // callbacks have not all run yet.
    function* coro1() {
      yield* sleep(0);
    }
    function* coro2() {
      yield* sleep(0);
      yield* sleep(0);
    }
    const a = createTask(coro1());
    const b = createTask(coro2());
    const [done] = yield* createTask(wait([b, a], { returnWhen: FIRST_COMPLETED }));
    assert.deepEqual(done, setOf(a, b));
    assert.equal(a.result(), undefined);
    assert.equal(b.result(), undefined);
  });
});

Deno.test("test_tasks::test_wait_first_exception", async () => {
  await vrun(function* () {
    const loop = getRunningLoop();
    // first_exception, task already has exception
    const a = createTask(sleep(10_000));
    function* exc() {
      throw new RangeError("err");
    }
    const b = createTask(exc());
    const [done, pending] = yield* createTask(wait([b, a], { returnWhen: FIRST_EXCEPTION }));
    assert.deepEqual(done, setOf(b));
    assert.deepEqual(pending, setOf(a));
    assert.equal(loop.time(), 0);
    a.cancel();
  });
});

Deno.test("test_tasks::test_wait_first_exception_in_wait", async () => {
  await vrun(function* () {
    const loop = getRunningLoop();
    // first_exception, exception during waiting
    const a = createTask(sleep(10_000));
    function* exc() {
      yield* sleep(10);
      throw new RangeError("err");
    }
    const b = createTask(exc());
    const [done, pending] = yield* wait([b, a], { returnWhen: FIRST_EXCEPTION });
    assert.deepEqual(done, setOf(b));
    assert.deepEqual(pending, setOf(a));
    assert.equal(loop.time(), 10);
    a.cancel();
  });
});

Deno.test("test_tasks::test_wait_with_exception", async () => {
  await vrun(function* () {
    const loop = getRunningLoop();
    const a = createTask(sleep(100));
    function* sleeper() {
      yield* sleep(150);
      throw new RangeError("really");
    }
    const b = createTask(sleeper());
    function* foo() {
      const [done, pending] = yield* wait([b, a]);
      assert.equal(done.size, 2);
      assert.equal(pending.size, 0);
      const errors = [...done].filter((f) => f.exception() !== undefined);
      assert.equal(errors.length, 1);
    }
    yield* createTask(foo());
    assert.equal(loop.time(), 150);
    yield* createTask(foo());
    assert.equal(loop.time(), 150);
  });
});

Deno.test("test_tasks::test_wait_with_timeout", async () => {
  await vrun(function* () {
    const loop = getRunningLoop();
    const a = createTask(sleep(100));
    const b = createTask(sleep(150));
    function* foo() {
      const [done, pending] = yield* wait([b, a], { timeout: 110 });
      assert.deepEqual(done, setOf(a));
      assert.deepEqual(pending, setOf(b));
    }
    yield* createTask(foo());
    assert.equal(loop.time(), 110);
    // The timeout neither threw nor cancelled anything.
    assert.equal(b.cancelled(), false);
    yield* wait([a, b]);
  });
});

Deno.test("test_tasks::test_wait_concurrent_complete", async () => {
  await vrun(function* () {
    const loop = getRunningLoop();
    const a = createTask(sleep(100));
    const b = createTask(sleep(150));
    // As run_until_complete(wait(...)): the wait's own task starts after a
    // and b, so a's timer is due before the wait's.
    const [done, pending] = yield* createTask(wait([b, a], { timeout: 100 }));
    assert.deepEqual(done, setOf(a));
    assert.deepEqual(pending, setOf(b));
    assert.equal(loop.time(), 100);
    yield* wait([a, b]);
  });
});

Deno.test("test_tasks::test_wait_with_iterator_of_tasks", async () => {
  await vrun(function* () {
    const loop = getRunningLoop();
    const a = createTask(sleep(100));
    const b = createTask(sleep(150));
    const [done, pending] = yield* wait([b, a].values());
    assert.deepEqual(done, setOf(a, b));
    assert.deepEqual(pending, setOf());
    assert.equal(loop.time(), 150);
  });
});

Deno.test("test_tasks::test_wait_generator: any iterable of tasks, but not a generator object", async () => {
  await vrun(function* () {
    function* func(a: number) {
      return a;
    }
    const tasks = Array.from({ length: 10 }, (_, i) => createTask(func(i)));
    const [done, pending] = yield* wait(new Set(tasks), { returnWhen: ALL_COMPLETED });
    assert.equal(done.size, 10);
    assert.equal(pending.size, 0);
    // A generator object is what a coroutine is in aio, so it cannot also
    // stand for an iterable of tasks: spread it into an array first.
    function* gen(): Generator<Task<number>> {
      yield* tasks;
    }
    assert.throws(() => wait(gen()), TypeError);
    const [done2] = yield* wait([...gen()]);
    assert.equal(done2.size, 10);
  });
});

Deno.test("test_tasks::test_wait_invalid_args", async () => {
  await vrun(function* () {
    const fut = getRunningLoop().createFuture();
    // wait() expects a list of futures, not a future instance
    assert.throws(() => wait(fut as never), TypeError);
    function* coroutineFunction() {}
    assert.throws(() => wait(coroutineFunction() as never), TypeError);
    // wait() expects at least a future
    assert.throws(() => wait([]), ValueError);
    // coroutines are forbidden, as in asyncio 3.11+
    assert.throws(() => wait([coroutineFunction()] as never), /coroutines is forbidden/);
    assert.throws(() => wait([42] as never), /got 42/);
    assert.throws(() => wait([fut], { timeout: NaN }), TypeError);
    yield;
  });
});

for (const msg of [undefined, "my message"]) {
  Deno.test(`test_tasks::test_cancel_with_message_then_future_result (${msg})`, async () => {
    await vrun(function* () {
      function* coro() {
        const task = createTask(sleep(10_000));
        yield* sleep(0);
        task.cancel(msg);
        yield* wait([task]);
        task.result();
      }
      const e = yield* expectError(CancelledError, () => createTask(coro()));
      assert.equal(e.message, msg ?? "");
    });
  });

  Deno.test(`test_tasks::test_cancel_with_message_then_future_exception (${msg})`, async () => {
    await vrun(function* () {
      function* coro() {
        const task = createTask(sleep(10_000));
        yield* sleep(0);
        task.cancel(msg);
        yield* wait([task]);
        task.exception();
      }
      const e = yield* expectError(CancelledError, () => createTask(coro()));
      assert.equal(e.message, msg ?? "");
    });
  });
}

Deno.test("test_tasks::test_cancel_with_message_before_starting_task", async () => {
  await vrun(function* () {
    function* coro() {
      const task = createTask(sleep(10_000));
      // We deliberately leave out the sleep here.
      task.cancel("my message");
      yield* wait([task]);
      task.exception();
    }
    const e = yield* expectError(CancelledError, () => createTask(coro()));
    assert.equal(e.message, "my message");
  });
});

Deno.test("test_tasks::test_yield_wait_does_not_shield_cancel", async () => {
  await vrun(function* () {
    // Cancelling outer() makes wait() return early, leaves inner() running.
    let proof = 0;
    const waiter = getRunningLoop().createFuture();
    function* inner() {
      yield* waiter;
      proof += 1;
    }
    function* outer() {
      yield* wait([createTask(inner())]);
      proof += 100;
    }
    const f = createTask(outer());
    yield;
    f.cancel();
    yield* expectError(CancelledError, () => f);
    waiter.setResult(null);
    yield;
    yield;
    assert.equal(proof, 1);
  });
});

Deno.test("wait: futures of another loop are a ValueError; no timer or callback is left behind", async () => {
  const other = new EventLoop({ core: CORE });
  try {
    await vrun(function* () {
      const loop = getRunningLoop();
      yield* expectError(ValueError, () => wait([other.createFuture()]));
      const t = createTask(sleep(500));
      const slow = createTask(sleep(5000));
      const [done] = yield* wait([t, slow], { timeout: 1000, returnWhen: FIRST_COMPLETED });
      assert.deepEqual(done, setOf(t));
      assert.equal(loop.stats().timers, 1); // only slow's sleep
      assert.equal(slow._callbackCount(), 0);
      slow.cancel();
    });
  } finally {
    other.close();
  }
});

Deno.test("wait: a negative timeout acts as 0", async () => {
  await vrun(function* () {
    const t = createTask(sleep(100));
    const [done, pending] = yield* wait([t], { timeout: -5 });
    assert.equal(done.size, 0);
    assert.deepEqual(pending, setOf(t));
    assert.equal(getRunningLoop().time(), 0);
    t.cancel();
  });
});
