// shield(), ported from CPython's test_tasks.py, plus bad input.
import { assert } from "../deps.ts";
import {
  CancelledError,
  type Coroutine,
  createTask,
  EventLoop,
  type ExceptionContext,
  gather,
  getRunningLoop,
  RuntimeError,
  shield,
  ValueError,
} from "../mod.ts";
import { CORE, vrun } from "./_util.ts";

/** One loop iteration and then some: done callbacks have run. */
function* runBriefly(): Coroutine<void> {
  yield;
  yield;
}

/** Runs `main` on a fresh loop that records what reaches the exception handler, then closes it. */
async function withReports(main: () => Coroutine<void>): Promise<ExceptionContext[]> {
  const loop = new EventLoop({ core: CORE, clock: "virtual" });
  const reports: ExceptionContext[] = [];
  loop.setExceptionHandler((_l, ctx) => reports.push(ctx));
  try {
    await loop.runUntilComplete(main());
  } finally {
    loop.close(); // reports failures nobody retrieved
  }
  return reports;
}

Deno.test("test_tasks::test_shield_result", async () => {
  await vrun(function* () {
    const inner = getRunningLoop().createFuture<number>();
    const outer = shield(inner);
    inner.setResult(42);
    assert.equal(yield* outer, 42);
  });
});

Deno.test("test_tasks::test_shield_exception", async () => {
  await vrun(function* () {
    const inner = getRunningLoop().createFuture();
    const outer = shield(inner);
    yield* runBriefly();
    const exc = new RuntimeError("expected");
    inner.setException(exc);
    yield* runBriefly();
    assert.equal(outer.exception(), exc);
  });
});

Deno.test("test_tasks::test_shield_cancel_inner", async () => {
  await vrun(function* () {
    const inner = getRunningLoop().createFuture();
    const outer = shield(inner);
    yield* runBriefly();
    inner.cancel();
    yield* runBriefly();
    assert.ok(outer.cancelled());
  });
});

Deno.test("test_tasks::test_shield_cancel_outer", async () => {
  await vrun(function* () {
    const inner = getRunningLoop().createFuture();
    const outer = shield(inner);
    yield* runBriefly();
    outer.cancel();
    yield* runBriefly();
    assert.ok(outer.cancelled());
    assert.equal(outer._callbackCount(), 0);
    // inner no longer has the shield's callback either
    assert.equal(inner._callbackCount(), 0);
    assert.equal(inner.cancelled(), false);
  });
});

Deno.test("test_tasks::test_shield_cancel_outer_result", async () => {
  const reports = await withReports(function* () {
    const inner = getRunningLoop().createFuture();
    const outer = shield(inner);
    yield* runBriefly();
    outer.cancel();
    yield* runBriefly();
    inner.setResult(1);
    yield* runBriefly();
  });
  assert.deepEqual(reports, []);
});

Deno.test("test_tasks::test_shield_cancel_outer_exception", async () => {
  const reports = await withReports(function* () {
    const inner = getRunningLoop().createFuture();
    const outer = shield(inner);
    yield* runBriefly();
    outer.cancel();
    yield* runBriefly();
    inner.setException(new Error("foo"));
    yield* runBriefly();
  });
  assert.equal(reports.length, 1);
  assert.equal((reports[0].exception as Error).message, "foo");
});

Deno.test("test_tasks::test_shield_duplicate_log_once", async () => {
  const reports = await withReports(function* () {
    const inner = getRunningLoop().createFuture();
    let outer = shield(inner);
    yield* runBriefly();
    outer.cancel();
    yield* runBriefly();
    outer = shield(inner);
    yield* runBriefly();
    outer.cancel();
    yield* runBriefly();
    inner.setException(new Error("foo"));
    yield* runBriefly();
  });
  assert.equal(reports.length, 1);
});

Deno.test("test_tasks::test_shield_shortcut", async () => {
  await vrun(function* () {
    const fut = getRunningLoop().createFuture<number>();
    fut.setResult(42);
    assert.equal(shield(fut), fut);
    assert.equal(yield* shield(fut), 42);
  });
});

Deno.test("test_tasks::test_shield_effect", async () => {
  await vrun(function* () {
    // Cancelling outer() does not affect inner().
    let proof = 0;
    const waiter = getRunningLoop().createFuture();
    function* inner() {
      yield* waiter;
      proof += 1;
    }
    function* outer() {
      yield* shield(inner());
      proof += 100;
    }
    const f = createTask(outer());
    yield* runBriefly();
    f.cancel();
    try {
      yield* f;
      assert.fail("not cancelled");
    } catch (e) {
      assert.ok(e instanceof CancelledError);
    }
    waiter.setResult(null);
    yield* runBriefly();
    assert.equal(proof, 1);
  });
});

Deno.test("test_tasks::test_shield_gather", async () => {
  await vrun(function* () {
    const loop = getRunningLoop();
    const child1 = loop.createFuture<number>();
    const child2 = loop.createFuture<number>();
    const parent = gather([child1, child2]);
    const outer = shield(parent);
    yield* runBriefly();
    outer.cancel();
    yield* runBriefly();
    assert.ok(outer.cancelled());
    child1.setResult(1);
    child2.setResult(2);
    yield* runBriefly();
    assert.deepEqual(parent.result(), [1, 2]);
  });
});

Deno.test("test_tasks::test_gather_shield", async () => {
  await vrun(function* () {
    const loop = getRunningLoop();
    const child1 = loop.createFuture<number>();
    const child2 = loop.createFuture<number>();
    const inner1 = shield(child1);
    const inner2 = shield(child2);
    const parent = gather([inner1, inner2]);
    yield* runBriefly();
    parent.cancel();
    // This should cancel inner1 and inner2 but not child1 and child2.
    yield* runBriefly();
    assert.ok(parent.exception() instanceof CancelledError);
    assert.ok(inner1.cancelled());
    assert.ok(inner2.cancelled());
    assert.equal(child1.cancelled(), false);
    child1.setResult(1);
    child2.setResult(2);
    yield* runBriefly();
  });
});

Deno.test("test_tasks::test_shield_coroutine_without_loop", () => {
  function* coro() {
    return 42;
  }
  assert.throws(() => shield(coro()), RuntimeError);
});

Deno.test("test_tasks::test_shield_coroutine_use_running_loop", async () => {
  await vrun(function* () {
    function* coro() {
      return 42;
    }
    const outer = shield(coro());
    assert.equal(outer.getLoop(), getRunningLoop());
    assert.equal(yield* outer, 42);
  });
});

Deno.test("shield: bad input", async () => {
  const other = new EventLoop({ core: CORE });
  try {
    await vrun(function* () {
      assert.throws(() => shield(42 as never), /shield\(\) expects .* got 42/);
      assert.throws(() => shield(Promise.resolve(1) as never), /fromPromise/);
      assert.throws(() => shield(other.createFuture()), ValueError);
      yield;
    });
  } finally {
    other.close();
  }
});
