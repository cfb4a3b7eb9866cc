// run(): the entry point. Ported from CPython's test_runners.py where a
// counterpart exists. Deno's test sanitizers stay on: a test that left a host
// timer or a message port behind fails.
import { assert } from "../deps.ts";
import {
  CancelledError,
  ContextVar,
  type Coroutine,
  createTask,
  currentTask,
  EventLoop,
  type ExceptionContext,
  type Executor,
  fromPromise,
  Future,
  getRunningLoop,
  run,
  RuntimeError,
  sleep,
  type Task,
  ValueError,
} from "../mod.ts";
import { CORE, DENO_ONLY, vrun } from "./_util.ts";

Deno.test("test_runners::test_asyncio_run_return", async () => {
  function* main() {
    yield* sleep(0);
    return 42;
  }
  assert.equal(await vrun(main()), 42);
});

Deno.test("test_runners::test_asyncio_run_raises", async () => {
  function* main(): Coroutine<never> {
    yield* sleep(0);
    throw new RangeError("spam");
  }
  await assert.rejects(() => vrun(main()), (e) => e instanceof RangeError && e.message === "spam");
});

Deno.test("run() accepts a coroutine function", async () => {
  let calls = 0;
  const v = await vrun(function* named() {
    calls++;
    assert.match(String(currentTask()), /coro=named/);
    yield* sleep(5);
    return "from a function";
  });
  assert.equal(v, "from a function");
  assert.equal(calls, 1);
});

Deno.test("test_runners::test_asyncio_run_only_coro", () => {
  for (const bad of [1, null, "coro", Promise.resolve(1)]) {
    assert.throws(
      () => vrun(bad as unknown as Coroutine<unknown>),
      TypeError,
      String(bad),
    );
  }
  assert.throws(
    () => vrun((() => 1) as unknown as () => Coroutine<unknown>),
    (e) => e instanceof TypeError && /returned 1/.test(e.message),
  );
  let ran = false;
  assert.throws(
    () =>
      vrun(
        (async () => {
          ran = true;
          await null;
        }) as unknown as () => Coroutine<unknown>,
      ),
    TypeError,
  );
  assert.equal(ran, false, "an async function is refused before it runs");
});

Deno.test("test_runners::test_asyncio_run_debug", async () => {
  assert.equal(await vrun(() => returnsDebug()), false);
  assert.equal(await vrun(() => returnsDebug(), { debug: true }), true);
  function* returnsDebug() {
    yield;
    return getRunningLoop().getDebug();
  }
});

Deno.test("run() options choose the core and the clock", async () => {
  const [core, t0, t1] = await vrun(function* () {
    const loop = getRunningLoop();
    const t0 = loop.time();
    yield* sleep(2500);
    return [loop.core, t0, loop.time()] as const;
  });
  assert.equal(core, CORE);
  assert.equal(t0, 0);
  assert.equal(t1, 2500);
  const other = CORE === "wasm" ? "ts" : "wasm";
  assert.equal(
    await run(function* () {
      yield;
      return getRunningLoop().core;
    }, { core: other, clock: "virtual" }),
    other,
  );
});

Deno.test("test_runners::test_asyncio_run_from_running_loop", async () => {
  let syncError: unknown;
  await assert.rejects(
    () =>
      vrun(function* main() {
        const coro = sleep(1);
        try {
          run(coro); // thrown, not returned as a rejected promise
        } catch (e) {
          syncError = e;
          throw e; // so the calling task fails with it
        }
        yield;
      }),
    (e) => e instanceof RuntimeError && /cannot be called from a running/.test(e.message),
  );
  assert.ok(syncError instanceof RuntimeError);
});

Deno.test("run() from a plain callback of a running loop → RuntimeError in that callback", async () => {
  const reports: ExceptionContext[] = [];
  await vrun(function* () {
    const loop = getRunningLoop();
    loop.setExceptionHandler((_l, ctx) => reports.push(ctx));
    loop.callSoon(() => {
      run(sleep(1));
    });
    yield* sleep(1);
  });
  assert.equal(reports.length, 1);
  assert.ok(reports[0].exception instanceof RuntimeError);
});

Deno.test("test_runners::test_asyncio_run_cancels_hanging_tasks", async () => {
  let lo: Task<void> | undefined;
  const v = await vrun(function* () {
    lo = createTask(sleep(100));
    yield;
    return 123;
  });
  assert.equal(v, 123);
  assert.equal(lo!.done(), true);
  assert.equal(lo!.cancelled(), true);
});

Deno.test("run() cancels remaining tasks at the end; their finally blocks run and may await", async () => {
  const log: string[] = [];
  let loopTime = -1;
  let late: Task<void> | undefined;
  await vrun(function* () {
    const loop = getRunningLoop();
    for (const name of ["a", "b"]) {
      createTask(function* () {
        try {
          yield* sleep(60_000);
          log.push(`${name} slept`);
        } catch (e) {
          log.push(`${name} got ${(e as Error).name}`);
          throw e;
        } finally {
          yield* sleep(5); // cleanup that takes time still completes
          log.push(`${name} finally`);
          loopTime = loop.time();
        }
      });
    }
    yield* sleep(1);
    // Created as main returns: its first step was queued before main's
    // completion stopped the loop, so it runs, then is cancelled.
    late = createTask(function* () {
      log.push("late task first step");
      yield* sleep(60_000);
      log.push("late task resumed");
    });
  });
  assert.deepEqual(log.sort(), [
    "a finally",
    "a got CancelledError",
    "b finally",
    "b got CancelledError",
    "late task first step",
  ]);
  assert.equal(late!.cancelled(), true);
  assert.equal(loopTime, 6);
});

Deno.test("test_runners::test_asyncio_run_reports_hanging_tasks_errors", async () => {
  let lo: Task<void> | undefined;
  const reports: ExceptionContext[] = [];
  const v = await vrun(function* () {
    getRunningLoop().setExceptionHandler((_l, ctx) => reports.push(ctx));
    lo = createTask(function* () {
      try {
        yield* sleep(100);
      } catch (e) {
        if (e instanceof CancelledError) throw new RangeError("1 / 0");
        throw e;
      }
    });
    yield;
    return 123;
  });
  assert.equal(v, 123);
  assert.equal(lo!.done(), true);
  assert.equal(reports.length, 1, "reported once, not again as never retrieved");
  assert.match(reports[0].message, /run\(\).*shutdown/);
  assert.equal(reports[0].task, lo);
  assert.ok(reports[0].exception instanceof RangeError);
});

Deno.test("test_runners::test_asyncio_run_closes_gens_after_hanging_tasks_errors", async () => {
  class FancyExit extends Error {}
  let lazyboy: Task<void> | undefined;
  let spinnerClosed = false;
  const reports: ExceptionContext[] = [];
  await assert.rejects(
    () =>
      vrun(function* () {
        getRunningLoop().setExceptionHandler((_l, ctx) => reports.push(ctx));
        lazyboy = createTask(function* () {
          try {
            for (;;) yield* sleep(1000);
          } catch (e) {
            if (e instanceof CancelledError) throw new RangeError("1 / 0");
          } finally {
            spinnerClosed = true;
          }
        });
        yield;
        throw new FancyExit();
      }),
    FancyExit,
  );
  assert.equal(lazyboy!.done(), true);
  assert.equal(spinnerClosed, true);
  assert.equal(reports.length, 1);
  assert.ok(reports[0].exception instanceof RangeError);
});

Deno.test("test_runners::test_interrupt_cancelled_task", async () => {
  // main cancelled by another task: run() rejects with CancelledError.
  await assert.rejects(
    () =>
      vrun(function* () {
        const main = currentTask()!;
        createTask(function* () {
          yield* sleep(0);
          main.cancel("interrupted");
        });
        yield* sleep(10_000);
      }),
    (e) => e instanceof CancelledError && e.message === "interrupted",
  );
});

Deno.test("run() closes the loop; a closed loop is unusable", async () => {
  let loop: EventLoop | undefined;
  await vrun(function* () {
    loop = getRunningLoop();
    yield;
  });
  assert.equal(loop!.isClosed(), true);
  assert.equal(loop!.isRunning(), false);
  assert.throws(() => loop!.callSoon(() => {}), RuntimeError);
  assert.throws(() => loop!.callLater(1, () => {}), RuntimeError);
  assert.throws(() => loop!.callAt(1, () => {}), RuntimeError);
  assert.throws(() => loop!.createTask(sleep(1)), RuntimeError);
  await assert.rejects(() => loop!.runForever(), RuntimeError);
  await assert.rejects(() => loop!.runUntilComplete(sleep(1)), RuntimeError);
});

Deno.test("run() closes the loop even when main fails", async () => {
  let loop: EventLoop | undefined;
  await assert.rejects(() =>
    vrun(function* () {
      loop = getRunningLoop();
      yield;
      throw new Error("main failed");
    }), /main failed/);
  assert.equal(loop!.isClosed(), true);
});

Deno.test("after run() no host timer is left (real clock)", async () => {
  // Deno's sanitizers fail this test if a setTimeout or a MessagePort of the
  // loop's host driver outlives run().
  let leftover: Task<void> | undefined;
  const v = await run(function* () {
    const loop = getRunningLoop();
    leftover = createTask(sleep(60_000));
    loop.callLater(60_000, () => {});
    yield* sleep(3);
    for (let i = 0; i < 3000; i++) yield; // busy: the driver hops to the host
    return "done";
  }, { core: CORE, clock: "real" });
  assert.equal(v, "done");
  assert.equal(leftover!.cancelled(), true);
});

Deno.test("after run() no host timer is left (real clock, main fails while a timer is due)", async () => {
  await assert.rejects(() =>
    run(function* () {
      getRunningLoop().callLater(30_000, () => {});
      createTask(sleep(30_000));
      yield* sleep(2);
      throw new Error("boom");
    }, { core: CORE, clock: "real" }), /boom/);
});

Deno.test("main runs in a copy of the caller's context", async () => {
  const v = new ContextVar<string>("v", { default: "unset" });
  const token = v.set("outside");
  try {
    const seen = await vrun(function* () {
      const before = v.get();
      v.set("inside");
      yield;
      return [before, v.get()];
    });
    assert.deepEqual(seen, ["outside", "inside"]);
    assert.equal(v.get(), "outside");
  } finally {
    v.reset(token);
  }
});

Deno.test("two run() calls can proceed side by side from plain async code", async () => {
  const b = vrun(function* () {
    yield* sleep(50);
    return "b";
  });
  const a = vrun(function* () {
    const fromB = yield* fromPromise(b);
    yield* sleep(10);
    return `a+${fromB}@${getRunningLoop().time()}`;
  });
  assert.deepEqual(await Promise.all([a, b]), ["a+b@10", "b"]);
});

Deno.test("run() twice in a row: each gets a fresh loop", async () => {
  const loops: EventLoop[] = [];
  for (let i = 0; i < 2; i++) {
    await vrun(function* () {
      loops.push(getRunningLoop());
      yield* sleep(100);
      assert.equal(getRunningLoop().time(), 100);
    });
  }
  assert.notEqual(loops[0], loops[1]);
  assert.ok(loops.every((l) => l.isClosed()));
});

Deno.test("main stops the loop: run() rejects with RuntimeError and main is cancelled", async () => {
  const log: string[] = [];
  let main: Task<unknown> | undefined;
  await assert.rejects(
    () =>
      vrun(function* () {
        main = currentTask()!;
        try {
          getRunningLoop().stop();
          yield* sleep(1000);
          log.push("slept");
        } finally {
          log.push("finally");
        }
      }),
    (e) => e instanceof RuntimeError && /stopped before the future completed/.test(e.message),
  );
  assert.deepEqual(log, ["finally"]);
  assert.equal(main!.cancelled(), true);
});

Deno.test("test_runners::test_asyncio_run_only_coro — a future is accepted too (asyncio 3.12+ runs any awaitable)", async () => {
  const unbound = new Future<string>();
  unbound.setResult("from a future");
  assert.equal(await run(unbound, { core: CORE, clock: "virtual" }), "from a future");
  // A future of another loop is refused before anything runs.
  const other = new EventLoop({ core: CORE, clock: "virtual" });
  try {
    assert.throws(() => run(other.createFuture(), { core: CORE }), ValueError);
  } finally {
    other.close();
  }
});

Deno.test(
  "run() is a Runner used once: the default executor is shut down (waiting) and the loop's signal handlers removed at the end",
  DENO_ONLY,
  async () => {
    const shutdowns: unknown[] = [];
    const executor: Executor = {
      submit: () => {
        throw new Error("not used");
      },
      shutdown: (options) => {
        shutdowns.push(options);
        return Promise.resolve();
      },
    };
    let loop: EventLoop | undefined;
    await vrun(function* () {
      loop = getRunningLoop();
      loop.setDefaultExecutor(executor);
      loop.addSignalHandler("SIGHUP", () => {}); // keeps the process alive until removed
      yield;
    });
    assert.deepEqual(shutdowns, [{ wait: true }]);
    assert.equal(loop!.isClosed(), true);
  },
);
