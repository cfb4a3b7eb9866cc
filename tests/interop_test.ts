// Interop with ordinary async code: futures and tasks are PromiseLike,
// promises enter through fromPromise, tasks print usefully.
import { assert } from "../deps.ts";
import {
  CancelledError,
  type Coroutine,
  createTask,
  EventLoop,
  ExceptionGroup,
  fromPromise,
  gather,
  getRunningLoop,
  run,
  sleep,
  taskGroup,
  TimeoutError,
  waitFor,
} from "../mod.ts";
import { CORE, DENO_ONLY, vrun } from "./_util.ts";

function* count(): Coroutine<number> {
  yield* sleep(10);
  return 3;
}

Deno.test("interop: await task and await gather(...) from plain async code", async () => {
  const loop = new EventLoop({ core: CORE, clock: "virtual" });
  try {
    const a = loop.createTask(count);
    const b = loop.createTask(sleep(20, "b"));
    const running = loop.runUntilComplete(b);
    assert.equal(await a, 3);
    assert.equal(await running, "b");
    const both = await loop.runUntilComplete(function* () {
      return yield* gather([count(), sleep(5, "x")]);
    }());
    assert.deepEqual(both, [3, "x"]);
    // Promise combinators take tasks as they are.
    const t1 = loop.createTask(sleep(1, 1));
    const t2 = loop.createTask(sleep(2, 2));
    const all = Promise.all([t1, t2]);
    await loop.runUntilComplete(t2);
    assert.deepEqual(await all, [1, 2]);
  } finally {
    loop.close();
  }
});

Deno.test("interop: a cancelled task rejects its awaiter with CancelledError", async () => {
  const loop = new EventLoop({ core: CORE, clock: "virtual" });
  try {
    const t = loop.createTask(sleep(1000));
    loop.callSoon(() => t.cancel("stop"));
    const settled = Promise.allSettled([t]);
    await loop.runUntilComplete(loop.createTask(sleep(1)));
    const [r] = await settled;
    assert.equal(r.status, "rejected");
    assert.ok((r as PromiseRejectedResult).reason instanceof CancelledError);
    assert.equal((r as PromiseRejectedResult).reason.message, "stop");
  } finally {
    loop.close();
  }
});

Deno.test("interop: a rejected fromPromise inside gather behaves like any failed child", async () => {
  await vrun(function* () {
    const slow = createTask(sleep(100, "slow"));
    try {
      yield* gather([fromPromise(Promise.reject(new RangeError("nope"))), slow]);
      assert.fail("gather did not fail");
    } catch (e) {
      assert.ok(e instanceof RangeError);
    }
    assert.equal(slow.cancelled(), false); // siblings are not cancelled
    const [v, err] = yield* gather(
      [fromPromise(Promise.resolve(1)), fromPromise(Promise.reject(new RangeError("x")))],
      { returnExceptions: true },
    );
    assert.equal(v, 1);
    assert.ok(err instanceof RangeError);
    assert.equal(yield* slow, "slow");
  });
});

Deno.test("interop: a rejected fromPromise inside taskGroup fails the group and cancels the rest", async () => {
  await vrun(function* () {
    let cancelled = false;
    try {
      yield* taskGroup(function* (tg) {
        tg.createTask(function* () {
          yield* fromPromise(Promise.reject(new RangeError("nope")));
        });
        tg.createTask(function* () {
          try {
            yield* sleep(10_000);
          } catch (e) {
            cancelled = e instanceof CancelledError;
            throw e;
          }
        });
      });
      assert.fail("the group did not fail");
    } catch (e) {
      assert.ok(e instanceof ExceptionGroup);
      assert.ok(e.exceptions[0] instanceof RangeError);
    }
    assert.ok(cancelled);
  });
});

Deno.test("interop: waitFor on fromPromise aborts the promise's signal on timeout (real clock)", async () => {
  // The virtual clock would wait for the promise instead of jumping.
  await run(function* () {
    let aborted: unknown = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const fut = fromPromise((signal) =>
      new Promise<string>((resolve, reject) => {
        timer = setTimeout(() => resolve("late"), 10_000);
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          aborted = signal.reason;
          reject(signal.reason);
        });
      })
    );
    try {
      yield* waitFor(fut, 20);
      assert.fail("no timeout");
    } catch (e) {
      assert.ok(e instanceof TimeoutError);
    }
    assert.ok(aborted instanceof CancelledError);
    assert.ok(fut.cancelled());
  }, { core: CORE });
});

Deno.test("interop: tasks print usefully through Deno.customInspect", DENO_ONLY, async () => {
  await vrun(function* () {
    const t = createTask(count);
    const id = t.getName();
    assert.match(id, /^Task-\d+$/);
    assert.equal(Deno.inspect(t), `<Task pending name=${id} coro=count>`);
    assert.equal(String(t), `<Task pending name=${id} coro=count>`);
    yield;
    assert.equal(Deno.inspect(t), `<Task pending name=${id} coro=count waitFor=<Future pending>>`);
    yield* t;
    assert.equal(Deno.inspect(t), `<Task finished name=${id} coro=count result=3>`);
    const named = createTask(count(), { name: "worker" });
    // A coroutine object does not reveal its function: pass the function
    // (or a name) for a more telling repr.
    assert.equal(Deno.inspect(named), "<Task pending name=worker coro=coroutine>");
    named.cancel();
    try {
      yield* named;
    } catch { /* cancelled */ }
    assert.equal(Deno.inspect(named), "<Task cancelled name=worker coro=coroutine>");
    function* boom(): Coroutine<never> {
      throw new RangeError("bad");
    }
    const failed = createTask(boom);
    yield;
    assert.equal(
      Deno.inspect(failed),
      `<Task finished name=${failed.getName()} coro=boom exception=RangeError("bad")>`,
    );
    failed.exception();
    // Inside other values, too.
    assert.match(Deno.inspect({ t }), /\{ t: <Task finished name=Task-\d+ coro=count result=3> \}/);
    assert.equal(Deno.inspect(getRunningLoop().createFuture()), "<Future pending>");
  });
});
