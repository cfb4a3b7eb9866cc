// asCompleted(), ported from CPython 3.13's test_tasks.py (the plain-iterator
// variants: aio coroutines cannot use `for await`), plus bad input.
import { assert } from "../deps.ts";
import {
  asCompleted,
  type Coroutine,
  createTask,
  EventLoop,
  getRunningLoop,
  RuntimeError,
  sleep,
  TimeoutError,
  ValueError,
  wait,
} from "../mod.ts";
import { CORE, vrun } from "./_util.ts";

Deno.test("test_tasks::test_as_completed", async () => {
  await vrun(function* () {
    const loop = getRunningLoop();
    function* sleeper(dt: number, x: string) {
      yield* sleep(dt);
      return x;
    }
    const a = sleeper(10, "a");
    const b = sleeper(10, "b");
    const c = sleeper(150, "c");
    const res: string[] = [];
    for (const f of asCompleted([b, c, a])) res.push(yield* f);
    assert.equal(loop.time(), 150);
    assert.ok(res.slice(0, 2).includes("a"));
    assert.ok(res.slice(0, 2).includes("b"));
    assert.equal(res[2], "c");
  });
});

Deno.test("test_tasks::test_as_completed_with_timeout", async () => {
  await vrun(function* () {
    const loop = getRunningLoop();
    const a = createTask(sleep(100, "a"));
    const b = createTask(sleep(150, "b"));
    const values: [number, unknown][] = [];
    for (const f of asCompleted([a, b], { timeout: 120 })) {
      try {
        values.push([1, yield* f]);
      } catch (e) {
        assert.ok(e instanceof TimeoutError);
        values.push([2, e]);
      }
    }
    assert.equal(values.length, 2);
    assert.deepEqual(values[0], [1, "a"]);
    assert.equal(values[1][0], 2);
    assert.equal(loop.time(), 120);
    // The timeout cancelled nothing.
    assert.equal(b.cancelled(), false);
    yield* wait([a, b]);
  });
});

Deno.test("test_tasks::test_as_completed_with_unused_timeout", async () => {
  await vrun(function* () {
    const loop = getRunningLoop();
    const a = sleep(10, "a");
    for (const f of asCompleted([a], { timeout: 1000 })) {
      assert.equal(yield* f, "a");
    }
    assert.equal(loop.stats().timers, 0); // the timeout's timer is gone
  });
});

Deno.test("test_tasks::test_as_completed_resume_iterator", async () => {
  await vrun(function* () {
    function* coro(i: number) {
      return i;
    }
    let iterations = 0;
    const iterator = asCompleted([coro(0), coro(1), coro(2), coro(3)]);
    const collected: number[] = [];
    for (const f of iterator) {
      collected.push(yield* f);
      iterations += 1;
      if (iterations === 2) break;
    }
    assert.equal(collected.length, 2);
    // Resume same iterator:
    for (const f of iterator) collected.push(yield* f);
    assert.deepEqual(collected.sort(), [0, 1, 2, 3]);
  });
});

Deno.test("test_tasks::test_as_completed_reverse_wait", async () => {
  await vrun(function* () {
    // The first coroutine awaited gets the first result, even if it was not
    // the first one handed out.
    const loop = getRunningLoop();
    const a = sleep(50, "a");
    const b = sleep(100, "b");
    const futs = [...asCompleted([a, b])];
    assert.equal(futs.length, 2);
    const x = yield* futs[1];
    assert.equal(x, "a");
    assert.equal(loop.time(), 50);
    const y = yield* futs[0];
    assert.equal(y, "b");
    assert.equal(loop.time(), 100);
  });
});

Deno.test("test_tasks::test_as_completed_concurrent", async () => {
  await vrun(function* () {
    // More than one coroutine from asCompleted can be awaited concurrently.
    const a = sleep(50, "a");
    const b = sleep(50, "b");
    const futs = [...asCompleted([a, b])];
    assert.equal(futs.length, 2);
    const [done, pending] = yield* wait(futs.map((f) => createTask(f)));
    assert.equal(pending.size, 0);
    assert.deepEqual(new Set([...done].map((f) => f.result())), new Set(["a", "b"]));
  });
});

Deno.test("test_tasks::test_as_completed_duplicate_coroutines", async () => {
  await vrun(function* () {
    function* coro(s: string) {
      return s;
    }
    const result: string[] = [];
    const c = coro("ham");
    for (const f of asCompleted([c, c, coro("spam")])) result.push(yield* f);
    assert.deepEqual(new Set(result), new Set(["ham", "spam"]));
    assert.equal(result.length, 2);
  });
});

Deno.test("test_tasks::test_as_completed_coroutine_without_loop", () => {
  function* coro() {
    return 42;
  }
  assert.throws(() => asCompleted([coro()]), RuntimeError);
});

Deno.test("test_tasks::test_as_completed_coroutine_use_running_loop", async () => {
  await vrun(function* () {
    function* coro() {
      return 42;
    }
    const futs = [...asCompleted([coro()])];
    assert.equal(futs.length, 1);
    assert.equal(yield* futs[0], 42);
  });
});

Deno.test("test_tasks::test_as_completed_invalid_args", async () => {
  await vrun(function* () {
    // asCompleted() expects an iterable of futures, not a future or a coroutine
    const fut = getRunningLoop().createFuture();
    assert.throws(() => asCompleted(fut as never), TypeError);
    function* coroutineFunction() {}
    assert.throws(() => asCompleted(coroutineFunction() as never), TypeError);
    assert.throws(() => asCompleted([sleep(1), 42] as never), /got 42/);
    assert.throws(() => asCompleted([sleep(1)], { timeout: NaN }), TypeError);
    assert.throws(() => asCompleted(42 as never), /got 42/);
    yield;
  });
});

Deno.test("asCompleted: a failure is thrown by its own yield*; the others go on", async () => {
  await vrun(function* () {
    function* fail(): Coroutine<string> {
      yield* sleep(10);
      throw new RangeError("boom");
    }
    const out: string[] = [];
    for (const next of asCompleted([sleep(20, "ok"), fail()])) {
      try {
        out.push(yield* next);
      } catch (e) {
        out.push((e as Error).message);
      }
    }
    assert.deepEqual(out, ["boom", "ok"]);
  });
});

Deno.test("asCompleted: empty input; a future of another loop is a ValueError", async () => {
  const other = new EventLoop({ core: CORE });
  try {
    await vrun(function* () {
      assert.deepEqual([...asCompleted([], { timeout: 10 })], []);
      assert.equal(getRunningLoop().stats().timers, 0);
      assert.throws(() => asCompleted([other.createFuture()]), ValueError);
      yield;
    });
  } finally {
    other.close();
  }
});

Deno.test("asCompleted: a negative timeout acts as 0", async () => {
  await vrun(function* () {
    const t = createTask(sleep(100, "late"));
    for (const next of asCompleted([t], { timeout: -1 })) {
      try {
        yield* next;
        assert.fail("no timeout");
      } catch (e) {
        assert.ok(e instanceof TimeoutError);
      }
    }
    assert.equal(getRunningLoop().time(), 0);
    assert.equal(yield* t, "late"); // not cancelled
  });
});
