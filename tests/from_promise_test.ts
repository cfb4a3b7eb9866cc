// fromPromise(): promises entering the loop, cancellation through an
// AbortSignal, and the virtual clock holding still while a promise is out.
import { assert } from "../deps.ts";
import {
  CancelledError,
  createTask,
  type ExceptionContext,
  fromPromise,
  Future,
  getRunningLoop,
  run,
  RuntimeError,
  sleep,
} from "../mod.ts";
import { CORE, vrun } from "./_util.ts";

/** A promise settled by a real host timer after `ms`, cleared on abort. */
function delay<T>(ms: number, value: T, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const id = setTimeout(() => resolve(value), ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(id);
      reject(signal.reason);
    });
  });
}

Deno.test("fromPromise: a fulfilled promise gives the future its value", () =>
  vrun(function* () {
    const f = fromPromise(Promise.resolve(5));
    assert.ok(f instanceof Future);
    assert.equal(f.getLoop(), getRunningLoop());
    assert.equal(yield* f, 5);
    assert.equal(yield* fromPromise(delay(5, "later")), "later");
  }));

Deno.test("fromPromise: a rejected promise fails the future with the same error", () =>
  vrun(function* () {
    const exc = new URIError("nope");
    const f = fromPromise(Promise.reject(exc));
    let caught: unknown;
    try {
      yield* f;
    } catch (e) {
      caught = e;
    }
    assert.equal(caught, exc);
    assert.equal(f.exception(), exc);
    assert.equal(f.cancelled(), false);
  }));

Deno.test("fromPromise: a promise rejected with undefined fails with an Error", () =>
  vrun(function* () {
    const f = fromPromise(Promise.reject(undefined));
    try {
      yield* f;
      assert.fail("not reached");
    } catch (e) {
      assert.ok(e instanceof Error);
      assert.match(e.message, /undefined/);
    }
  }));

Deno.test("fromPromise: settles in a later loop iteration, never synchronously", () =>
  vrun(function* () {
    const f = fromPromise(Promise.resolve("x"));
    assert.equal(f.done(), false);
    yield* f;
    assert.equal(f.result(), "x");
  }));

Deno.test("fromPromise: a thenable that is not a Promise works too", () =>
  vrun(function* () {
    const thenable: PromiseLike<number> = {
      then(onfulfilled, _onrejected) {
        queueMicrotask(() => onfulfilled?.(11));
        return Promise.resolve() as never;
      },
    };
    assert.equal(yield* fromPromise(thenable), 11);
  }));

Deno.test("fromPromise: the function form receives an AbortSignal that stays quiet on success", () =>
  vrun(function* () {
    let signal: AbortSignal | undefined;
    const v = yield* fromPromise((s) => {
      signal = s;
      return delay(3, "ok", s);
    });
    assert.equal(v, "ok");
    assert.ok(signal instanceof AbortSignal);
    assert.equal(signal.aborted, false);
  }));

Deno.test("fromPromise: cancelling the future aborts the signal with a CancelledError", () =>
  vrun(function* () {
    let signal: AbortSignal | undefined;
    const f = fromPromise((s) => {
      signal = s;
      return delay(60_000, "never", s); // the abort clears this host timer
    });
    assert.equal(signal!.aborted, false);
    assert.equal(f.cancel("changed my mind"), true);
    yield; // the abort happens in the future's done callback
    assert.equal(signal!.aborted, true);
    assert.ok(signal!.reason instanceof CancelledError);
    assert.equal(signal!.reason.message, "changed my mind");
    assert.equal(f.cancelled(), true);
  }));

Deno.test("fromPromise: cancelling without a message still gives a descriptive reason", () =>
  vrun(function* () {
    let signal: AbortSignal | undefined;
    const f = fromPromise((s) => {
      signal = s;
      return delay(60_000, 0, s);
    });
    f.cancel();
    yield;
    assert.ok(signal!.reason instanceof CancelledError);
    assert.match(signal!.reason.message, /fromPromise/);
  }));

Deno.test("fromPromise: cancelling the task that awaits it aborts the signal", () =>
  vrun(function* () {
    let signal: AbortSignal | undefined;
    let f: Future<string> | undefined;
    const t = createTask(function* () {
      f = fromPromise((s) => {
        signal = s;
        return delay(60_000, "never", s);
      });
      return yield* f;
    });
    yield;
    t.cancel();
    try {
      yield* t;
      assert.fail("not reached");
    } catch (e) {
      assert.ok(e instanceof CancelledError);
    }
    assert.equal(f!.cancelled(), true);
    yield;
    assert.equal(signal!.aborted, true);
  }));

Deno.test("fromPromise: a promise that settles after the future was cancelled changes nothing", async () => {
  let settle: ((v: string) => void) | undefined;
  const underlying = new Promise<string>((r) => settle = r);
  let f: Future<string> | undefined;
  const reports: ExceptionContext[] = [];
  await vrun(function* () {
    const loop = getRunningLoop();
    loop.setExceptionHandler((_l, ctx) => reports.push(ctx));
    f = fromPromise(underlying);
    assert.equal(loop.stats().inflight, 1);
    f.cancel();
    yield;
    assert.equal(loop.stats().inflight, 0, "the loop stops waiting for it");
    settle!("late");
    yield* fromPromise(Promise.resolve()); // let the late settlement arrive
    assert.equal(f.cancelled(), true);
  });
  assert.deepEqual(reports, []);
});

Deno.test("fromPromise: the virtual clock does not jump while a promise is pending", () =>
  vrun(function* () {
    const loop = getRunningLoop();
    const log: string[] = [];
    const real = fromPromise(delay(10, "real"));
    const virtual = createTask(sleep(1e6, "virtual"));
    real.addDoneCallback(() => log.push(`real @${loop.time()}`));
    virtual.addDoneCallback(() => log.push(`virtual @${loop.time()}`));
    assert.equal(yield* real, "real");
    assert.equal(yield* virtual, "virtual");
    assert.deepEqual(log, ["real @0", "virtual @1000000"]);
  }));

Deno.test("fromPromise: stats().inflight counts pending promises", () =>
  vrun(function* () {
    const loop = getRunningLoop();
    assert.equal(loop.stats().inflight, 0);
    const a = fromPromise(delay(2, "a"));
    const b = fromPromise(Promise.reject(new Error("b")));
    assert.equal(loop.stats().inflight, 2);
    yield* a;
    try {
      yield* b;
    } catch { /* expected */ }
    assert.equal(loop.stats().inflight, 0);
  }));

Deno.test("fromPromise: a non-promise → TypeError naming the value", () =>
  vrun(function* () {
    assert.throws(
      () => fromPromise(42 as unknown as Promise<number>),
      (e) => e instanceof TypeError && e.message.includes("42"),
    );
    assert.throws(
      () => fromPromise((() => "str") as unknown as () => Promise<string>),
      (e) => e instanceof TypeError && e.message.includes('"str"'),
    );
    assert.throws(() => fromPromise(null as unknown as Promise<number>), TypeError);
    assert.throws(
      () => fromPromise({ then: 1 } as unknown as Promise<number>),
      TypeError,
    );
    assert.equal(getRunningLoop().stats().inflight, 0, "nothing is left in flight");
    yield;
  }));

Deno.test("fromPromise outside a loop → RuntimeError, without calling the function", () => {
  let called = false;
  assert.throws(
    () =>
      fromPromise(() => {
        called = true;
        return Promise.resolve();
      }),
    RuntimeError,
  );
  assert.equal(called, false);
});

Deno.test("fromPromise: an unretrieved rejection is reported when the loop closes", async () => {
  const reports: ExceptionContext[] = [];
  const exc = new Error("nobody awaited me");
  await vrun(function* () {
    getRunningLoop().setExceptionHandler((_l, ctx) => reports.push(ctx));
    fromPromise(Promise.reject(exc));
    yield* sleep(1);
  });
  assert.equal(reports.length, 1);
  assert.equal(reports[0].message, "Future exception was never retrieved");
  assert.equal(reports[0].exception, exc);
});

Deno.test("fromPromise: a promise settling after run() closed its loop is ignored", async () => {
  const reports: ExceptionContext[] = [];
  let pending: Promise<string> | undefined;
  await vrun(function* () {
    getRunningLoop().setExceptionHandler((_l, ctx) => reports.push(ctx));
    pending = delay(3, "x").then(() => {
      throw new Error("rejects after close");
    });
    fromPromise(pending);
    yield;
  });
  await assert.rejects(() => pending!, /after close/);
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(reports, []);
});

Deno.test("fromPromise on the real clock: the idle loop wakes when the promise settles", async () => {
  const v = await run(function* () {
    return yield* fromPromise(delay(5, "woken"));
  }, { core: CORE, clock: "real" });
  assert.equal(v, "woken");
});

Deno.test("closing the loop cancels a pending fromPromise and aborts its signal at once", async () => {
  let signal: AbortSignal | undefined;
  let hostTimer: ReturnType<typeof setTimeout> | undefined;
  const fut = await run(function* () {
    // Nobody awaits it: run() must still not leave the producer running.
    return [
      fromPromise((s) => {
        signal = s;
        return new Promise((resolve) => {
          hostTimer = setTimeout(resolve, 60_000);
          s.addEventListener("abort", () => clearTimeout(hostTimer));
        });
      }),
    ];
  }, { core: CORE, clock: "virtual" });
  assert.equal(signal?.aborted, true);
  assert.equal(fut[0].cancelled(), true);
  assert.match(String((signal?.reason as Error).message), /event loop was closed/);
});

Deno.test("cancelling a fromPromise aborts its signal synchronously", () =>
  run(function* () {
    let signal: AbortSignal | undefined;
    const fut = fromPromise((s) => {
      signal = s;
      return new Promise(() => {});
    });
    fut.cancel("stop now");
    assert.equal(signal?.aborted, true);
    assert.equal((signal?.reason as Error).message, "stop now");
    yield;
  }, { core: CORE, clock: "virtual" }));

Deno.test("callAt(-Infinity) fires at the next iteration, before later timers", () =>
  run(function* () {
    const loop = getRunningLoop();
    const order: string[] = [];
    loop.callAt(-5, () => order.push("-5"));
    loop.callAt(-Infinity, () => order.push("-Infinity"));
    yield;
    yield;
    assert.deepEqual(order, ["-Infinity", "-5"]);
  }, { core: CORE, clock: "virtual" }));
