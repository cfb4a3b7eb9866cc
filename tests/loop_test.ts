// EventLoop behaviour, ported from CPython's test_base_events.py and
// test_events.py where a counterpart exists. Virtual clock unless the test is
// about the real clock or the host driver.
import { assert } from "../deps.ts";
import {
  createTask,
  EventLoop,
  type ExceptionContext,
  fromPromise,
  Future,
  getRunningLoop,
  run,
  RuntimeError,
  sleep,
  ValueError,
} from "../mod.ts";
import { CORE, newLoop } from "./_util.ts";

/** Runs the loop until `stop()` is called by a callback, then closes it. */
async function runLoop(loop: EventLoop): Promise<void> {
  try {
    await loop.runForever();
  } finally {
    loop.close();
  }
}

Deno.test("test_base_events::test_close", async () => {
  const loop = newLoop();
  assert.equal(loop.isClosed(), false);
  loop.close();
  assert.equal(loop.isClosed(), true);
  loop.close(); // closing twice is allowed
  loop.close();
  await assert.rejects(() => loop.runForever(), RuntimeError);
  await assert.rejects(() => loop.runUntilComplete(new Future(loop)), RuntimeError);
  assert.throws(() => loop.callSoon(() => {}), RuntimeError);
  assert.throws(() => loop.callLater(1, () => {}), RuntimeError);
  assert.throws(() => loop.createTask(sleep(1)), RuntimeError);
});

Deno.test("test_events::test_close_running_event_loop", async () => {
  const loop = newLoop();
  let err: unknown;
  loop.callSoon(() => {
    try {
      loop.close();
    } catch (e) {
      err = e;
    }
    loop.stop();
  });
  await runLoop(loop);
  assert.ok(err instanceof RuntimeError);
});

Deno.test("test_base_events::test_call_soon runs callbacks FIFO with their arguments", async () => {
  const loop = newLoop();
  const calls: unknown[] = [];
  for (let i = 0; i < 5; i++) loop.callSoon((a: number, b: string) => calls.push([a, b]), i, "x");
  loop.callSoon(() => loop.stop());
  await runLoop(loop);
  assert.deepEqual(calls, [[0, "x"], [1, "x"], [2, "x"], [3, "x"], [4, "x"]]);
});

Deno.test("test_base_events::test__run_once_schedule_handle: a callback scheduled during an iteration runs in the next one", async () => {
  const loop = newLoop();
  const order: string[] = [];
  loop.callSoon(() => {
    order.push("a");
    loop.callSoon(() => order.push("c (next iteration)"));
  });
  loop.callSoon(() => {
    order.push("b");
    // stop() lets the current iteration finish, so "c" must not have run.
    loop.stop();
  });
  await runLoop(loop);
  assert.deepEqual(order, ["a", "b"]);
});

Deno.test("test_base_events::test__add_callback_cancelled_handle: a cancelled handle never runs", async () => {
  const loop = newLoop();
  let ran = false;
  const h = loop.callSoon(() => (ran = true));
  h.cancel();
  assert.equal(h.cancelled(), true);
  loop.callSoon(() => loop.callSoon(() => loop.stop()));
  await runLoop(loop);
  assert.equal(ran, false);
});

Deno.test("test_base_events::test_call_later_negative_delays", async () => {
  const loop = newLoop();
  const calls: string[] = [];
  loop.callLater(-1, (x: string) => calls.push(x), "a");
  loop.callLater(-2, (x: string) => calls.push(x), "b");
  loop.callLater(0, () => loop.stop());
  await runLoop(loop);
  // Negative delays act as 0: same deadline, so scheduling order wins.
  assert.deepEqual(calls, ["a", "b"]);
});

Deno.test("timers with equal deadlines fire in the order they were scheduled", async () => {
  const loop = newLoop();
  const calls: number[] = [];
  for (let i = 0; i < 100; i++) loop.callAt(50, (x: number) => calls.push(x), i);
  loop.callAt(50, () => loop.stop());
  await runLoop(loop);
  assert.deepEqual(calls, Array.from({ length: 100 }, (_, i) => i));
});

Deno.test("timers fire in deadline order and never early (virtual clock)", async () => {
  const loop = newLoop();
  const fired: [number, number][] = [];
  const deadlines = [5.5, 0.25, 1000, 3.75, 64, 4096.5, 1, 262144, 0.5];
  for (const d of deadlines) loop.callAt(d, () => fired.push([d, loop.time()]));
  loop.callAt(262144, () => loop.stop());
  await runLoop(loop);
  assert.deepEqual(fired.map(([d]) => d), [...deadlines].sort((a, b) => a - b));
  for (const [d, t] of fired) assert.equal(t, d, `fired at ${t}, deadline ${d}`);
});

Deno.test("timers never fire early on the real clock", async () => {
  const loop = newLoop("real");
  const early: number[] = [];
  const t0 = loop.time();
  let left = 20;
  for (let i = 0; i < 20; i++) {
    const when = t0 + 1 + (i % 7) * 2.5;
    loop.callAt(when, () => {
      if (loop.time() < when) early.push(when - loop.time());
      if (--left === 0) loop.stop();
    });
  }
  await runLoop(loop);
  assert.deepEqual(early, []);
});

Deno.test("test_base_events::test_time_and_call_at (real clock)", async () => {
  const loop = newLoop("real");
  const delay = 30;
  const t0 = loop.time();
  loop.callAt(t0 + delay, () => loop.stop());
  await runLoop(loop);
  const dt = loop.time() - t0;
  assert.ok(dt >= delay, `stopped after ${dt} ms`);
});

Deno.test("due timers queue behind handles that are already ready", async () => {
  const loop = newLoop();
  const order: string[] = [];
  loop.callLater(0, () => order.push("timer"));
  loop.callSoon(() => order.push("soon-1"));
  loop.callSoon(() => order.push("soon-2"));
  loop.callLater(0, () => loop.stop());
  await runLoop(loop);
  assert.deepEqual(order, ["soon-1", "soon-2", "timer"]);
});

Deno.test("the ready ring keeps FIFO order as it wraps and grows, timers due behind it", async () => {
  const loop = newLoop("virtual");
  const got: number[] = [];
  const want: number[] = [];
  let next = 0;
  // Each iteration runs what was ready at its start and schedules more than
  // it ran, so the ring's head moves round the array while it fills and
  // doubles several times (its first size is 256).
  const step = (k: number) => {
    got.push(k);
    if (next < 5000) {
      for (let i = 0; i < 3; i++) {
        want.push(next);
        loop.callSoon(step, next++);
      }
    }
  };
  loop.callLater(0, () => got.push(-1)); // due at once: behind the first callback
  want.push(next);
  loop.callSoon(step, next++);
  want.splice(1, 0, -1);
  let readyAtEnd = -1;
  loop.callLater(1, () => {
    readyAtEnd = loop.stats().ready;
    loop.stop();
  });
  await runLoop(loop);
  assert.equal(got.length, want.length);
  assert.deepEqual(got, want);
  assert.equal(readyAtEnd, 0);
});

Deno.test("a cancelled timer never runs, even when cancelled in its own batch", async () => {
  const loop = newLoop();
  const calls: string[] = [];
  let h2 = null as unknown as { cancel(): void };
  loop.callAt(10, () => {
    calls.push("first");
    h2.cancel(); // fired into the same batch, not run yet
  });
  h2 = loop.callAt(10, () => calls.push("second"));
  const h3 = loop.callAt(20, () => calls.push("cancelled early"));
  h3.cancel();
  loop.callAt(30, () => loop.stop());
  assert.equal(loop.stats().timers, 3);
  await runLoop(loop);
  assert.deepEqual(calls, ["first"]);
});

Deno.test("cancelling a timer removes it from the core", () => {
  const loop = newLoop();
  const hs = Array.from({ length: 1000 }, (_, i) => loop.callLater(i + 1, () => {}));
  assert.equal(loop.stats().timers, 1000);
  for (const h of hs.slice(0, 900)) h.cancel();
  assert.equal(loop.stats().timers, 100);
  hs[0].cancel(); // twice: harmless
  assert.equal(loop.stats().timers, 100);
  for (const h of hs.slice(900)) h.cancel();
  assert.equal(loop.stats().timers, 0);
  assert.equal(loop.stats().handles, 0);
  loop.close();
});

Deno.test("TimerHandle.when() and the virtual clock jumping straight to the next timer", async () => {
  const loop = newLoop();
  const h = loop.callLater(3_600_000, () => loop.stop());
  assert.equal(h.when(), 3_600_000);
  const t0 = performance.now();
  await runLoop(loop);
  assert.equal(loop.time(), 3_600_000);
  assert.ok(performance.now() - t0 < 1000, "an hour of virtual time must pass at once");
});

Deno.test("bad delays: NaN and non-numbers are TypeErrors, callbacks must be functions", () => {
  const loop = newLoop();
  assert.throws(() => loop.callLater(NaN, () => {}), TypeError);
  assert.throws(() => loop.callLater("5" as unknown as number, () => {}), TypeError);
  assert.throws(() => loop.callAt(NaN, () => {}), TypeError);
  assert.throws(
    () => loop.callSoon(42 as unknown as () => void),
    /callSoon\(\) expects a function, got 42/,
  );
  assert.throws(() => sleep(NaN), /sleep\(\) delay must be a number/);
  assert.throws(() => new EventLoop({ core: "gpu" as "ts" }), TypeError);
  assert.throws(() => new EventLoop({ clock: "fast" as "real" }), TypeError);
  loop.close();
});

Deno.test("test_base_events::test_default_exc_handler_callback: a throwing callback is reported and the loop goes on", async () => {
  const loop = newLoop();
  const reports: ExceptionContext[] = [];
  loop.setExceptionHandler((l, ctx) => {
    assert.equal(l, loop);
    reports.push(ctx);
  });
  const after: string[] = [];
  const boom = new Error("boom");
  loop.callSoon(function failing() {
    throw boom;
  });
  loop.callSoon(() => after.push("still running"));
  loop.callSoon(() => loop.stop());
  await runLoop(loop);
  assert.deepEqual(after, ["still running"]);
  assert.equal(reports.length, 1);
  assert.equal(reports[0].exception, boom);
  assert.match(reports[0].message, /Exception in callback <Handle failing\(\)>/);
});

Deno.test("test_base_events::test_set_exc_handler_broken: a broken handler falls back to the default", async () => {
  const loop = newLoop();
  const printed: unknown[] = [];
  const origError = console.error;
  console.error = (...a: unknown[]) => printed.push(a.join(" "));
  try {
    loop.setExceptionHandler(() => {
      throw new Error("handler is broken");
    });
    loop.callSoon(() => {
      throw new Error("original");
    });
    loop.callSoon(() => loop.stop());
    await runLoop(loop);
  } finally {
    console.error = origError;
  }
  assert.equal(printed.length, 1);
  assert.match(String(printed[0]), /Unhandled error in exception handler/);
  assert.match(String(printed[0]), /handler is broken/);
});

Deno.test("test_base_events::test_set_exc_handler_custom and reset to default", () => {
  const loop = newLoop();
  assert.equal(loop.getExceptionHandler(), null);
  const h = () => {};
  loop.setExceptionHandler(h);
  assert.equal(loop.getExceptionHandler(), h);
  loop.setExceptionHandler(null);
  assert.equal(loop.getExceptionHandler(), null);
  assert.throws(() => loop.setExceptionHandler("no" as unknown as null), TypeError);
  loop.close();
});

Deno.test("test_base_events::test_log_slow_callbacks (debug mode)", async () => {
  const loop = new EventLoop({ core: CORE, clock: "virtual", debug: true });
  loop.slowCallbackDuration = 5;
  const warnings: string[] = [];
  const origWarn = console.warn;
  console.warn = (msg: string) => warnings.push(msg);
  try {
    loop.callSoon(function slowOne() {
      const end = performance.now() + 10;
      while (performance.now() < end) { /* busy on purpose */ }
    });
    loop.callSoon(function quick() {});
    loop.callSoon(() => loop.stop());
    await runLoop(loop);
  } finally {
    console.warn = origWarn;
  }
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /Executing <Handle slowOne\(\)> took \d+\.\d+ ms/);
});

Deno.test("test_base_events::test_set_debug", () => {
  const loop = newLoop();
  loop.setDebug(true);
  assert.equal(loop.getDebug(), true);
  loop.setDebug(false);
  assert.equal(loop.getDebug(), false);
  loop.close();
});

Deno.test("debug mode records where a failing handle was created", async () => {
  const loop = new EventLoop({ core: CORE, clock: "virtual", debug: true });
  const reports: ExceptionContext[] = [];
  loop.setExceptionHandler((_l, ctx) => reports.push(ctx));
  loop.callSoon(function schedulesFailure() {
    throw new Error("x");
  });
  loop.callSoon(() => loop.stop());
  await runLoop(loop);
  assert.equal(reports.length, 1);
  assert.match(String(reports[0].sourceTraceback), /loop_test\.ts/);
});

Deno.test("test_base_events::test_run_until_complete_type_error", async () => {
  const loop = newLoop();
  await assert.rejects(
    () => loop.runUntilComplete("blah" as unknown as Future<unknown>),
    TypeError,
  );
  loop.close();
});

Deno.test("test_base_events::test_run_until_complete_loop: a future of another loop is a ValueError", async () => {
  const loop = newLoop();
  const other = newLoop();
  const fut = new Future(loop);
  await assert.rejects(() => other.runUntilComplete(fut), ValueError);
  fut.cancel();
  loop.close();
  other.close();
});

Deno.test("test_events::test_run_until_complete_stopped", async () => {
  const loop = newLoop();
  const fut = loop.createFuture();
  loop.callSoon(() => loop.stop());
  await assert.rejects(
    () => loop.runUntilComplete(fut),
    /Event loop stopped before the future completed/,
  );
  fut.cancel();
  loop.close();
});

Deno.test("test_events::test_run_until_complete returns the result and rejects with the error", async () => {
  const loop = newLoop();
  assert.equal(await loop.runUntilComplete(sleep(100, "ok")), "ok");
  assert.equal(loop.time(), 100);
  const failing = function* () {
    yield* sleep(1);
    throw new RangeError("nope");
  };
  await assert.rejects(() => loop.runUntilComplete(failing()), RangeError);
  loop.close();
});

Deno.test("test_events::test_run_forever_pre_stopped: stop() before runForever runs one iteration", async () => {
  const loop = newLoop();
  const calls: string[] = [];
  loop.callSoon(() => calls.push("first"));
  loop.stop();
  await loop.runForever();
  assert.deepEqual(calls, ["first"]);
  // The loop can run again after it stopped.
  loop.callSoon(() => {
    calls.push("second run");
    loop.stop();
  });
  await runLoop(loop);
  assert.deepEqual(calls, ["first", "second run"]);
});

Deno.test("runForever twice at once is a RuntimeError", async () => {
  const loop = newLoop();
  const first = loop.runForever();
  await assert.rejects(() => loop.runForever(), /already running/);
  loop.stop();
  await first;
  loop.close();
});

Deno.test("run() from a running loop's task is a RuntimeError thrown in that task", async () => {
  const err = await run(function* () {
    try {
      void run(function* () {});
    } catch (e) {
      return e;
    }
  }, { core: CORE, clock: "virtual" });
  assert.ok(err instanceof RuntimeError);
  assert.match((err as Error).message, /running event loop/);
});

Deno.test("getRunningLoop inside callbacks, RuntimeError outside", async () => {
  assert.throws(() => getRunningLoop(), RuntimeError);
  const loop = newLoop();
  let seen: EventLoop | undefined;
  loop.callSoon(() => {
    seen = getRunningLoop();
    loop.stop();
  });
  await runLoop(loop);
  assert.equal(seen, loop);
  assert.throws(() => getRunningLoop(), RuntimeError);
});

Deno.test("isRunning is true only while the loop runs", async () => {
  const loop = newLoop();
  let inside = false;
  loop.callSoon(() => {
    inside = loop.isRunning();
    loop.stop();
  });
  assert.equal(loop.isRunning(), false);
  await runLoop(loop);
  assert.equal(inside, true);
  assert.equal(loop.isRunning(), false);
});

Deno.test("the core option selects the scheduler core", () => {
  for (const core of ["wasm", "ts"] as const) {
    const loop = new EventLoop({ core });
    assert.equal(loop.core, core);
    loop.close();
  }
  const dflt = new EventLoop();
  assert.equal(dflt.core, "wasm");
  dflt.close();
});

// ---- the host driver ------------------------------------------------------

Deno.test("host driver: promises and Deno timers progress while tasks spin on yield", async () => {
  let timerFired = false;
  let promiseSettled = false;
  const timer = setTimeout(() => (timerFired = true), 5);
  void Promise.resolve().then(() => (promiseSettled = true));
  const spins = await run(function* () {
    let n = 0;
    // Busy tasks only: nothing here awaits the host, yet the host must run.
    while (!timerFired) {
      yield;
      n++;
    }
    return n;
  }, { core: CORE });
  clearTimeout(timer);
  assert.ok(timerFired && promiseSettled);
  assert.ok(spins > 0);
});

Deno.test("host driver: microtasks are drained every iteration", async () => {
  const log: string[] = [];
  await run(function* () {
    void Promise.resolve().then(() => log.push("microtask"));
    yield; // one iteration later the microtask has run
    log.push("after yield");
  }, { core: CORE, clock: "virtual" });
  assert.deepEqual(log, ["microtask", "after yield"]);
});

Deno.test("host driver: a timer a promise callback schedules between iterations fires", async () => {
  const t = await run(function* () {
    const loop = getRunningLoop();
    const fut = loop.createFuture<number>();
    void Promise.resolve().then(() => loop.callLater(50, () => fut.setResult(loop.time())));
    return yield* fut; // the loop goes idle with the timer not yet in the core
  }, { core: CORE, clock: "virtual" });
  assert.equal(t, 50);
});

Deno.test("timers cancelled in the iteration that made them hold no handle id and count in no stats", () => {
  const loop = newLoop();
  loop.callSoon(() => {
    const before = loop.stats().handles;
    const hs = Array.from({ length: 100 }, (_, i) => loop.callLater(i, () => {}));
    for (const h of hs) h.cancel();
    const kept = loop.callLater(5, () => loop.stop());
    assert.equal(loop.stats().handles, before + 1, "only the kept timer holds a handle id");
    assert.equal(loop.stats().timers, 1);
    assert.equal(kept.when(), 5);
  });
  return loop.runForever().finally(() => loop.close());
});

Deno.test("host driver: an outside completion wakes an idle loop at once", async () => {
  const loop = newLoop("real");
  const fut = loop.createFuture<string>();
  // The loop is idle with a timer an hour away; the host timer must not
  // delay the wake-up.
  loop.callLater(3_600_000, () => {});
  const started = performance.now();
  const resolver = setTimeout(() => fut.setResult("woken"), 20);
  const result = await loop.runUntilComplete(fut);
  const took = performance.now() - started;
  clearTimeout(resolver);
  loop.close();
  assert.equal(result, "woken");
  assert.ok(took < 1000, `took ${took} ms`);
});

Deno.test("host driver: an idle loop does not spin", async () => {
  const loop = newLoop("real");
  let iterations = 0;
  const orig = loop._runOnce.bind(loop);
  loop._runOnce = () => {
    iterations++;
    return orig();
  };
  loop.callLater(50, () => loop.stop());
  await runLoop(loop);
  // Hopping through the last sub-millisecond is fine; spinning through the
  // wait would be over ten thousand iterations.
  assert.ok(iterations < 1000, `${iterations} iterations while idle for 50 ms`);
});

Deno.test("host driver: an error escaping an iteration rejects runForever and leaves the loop usable", async () => {
  const loop = newLoop();
  const orig = loop._runOnce.bind(loop);
  let calls = 0;
  loop._runOnce = () => {
    if (++calls === 3) throw new Error("broken iteration");
    return orig();
  };
  const spin = () => loop.callSoon(spin); // keeps the loop busy, one iteration after another
  loop.callSoon(spin);
  await assert.rejects(() => loop.runForever(), Error, "broken iteration");
  assert.equal(loop.isRunning(), false);
  loop._runOnce = orig;
  loop.callSoon(() => loop.stop());
  await loop.runForever(); // runs again
  loop.close();
});

Deno.test("virtual clock: time does not jump while a fromPromise is in flight", async () => {
  const order: string[] = [];
  await run(function* () {
    const slowVirtual = createTask(function* () {
      yield* sleep(1_000_000);
      order.push("virtual sleep");
    });
    const real = fromPromise(new Promise((r) => setTimeout(() => r("promise"), 15)));
    order.push((yield* real) as string);
    slowVirtual.cancel();
  }, { core: CORE, clock: "virtual" });
  assert.deepEqual(order, ["promise"]);
});

Deno.test("no host timer or channel is left after run (sanitizers)", async () => {
  // Deno's op and resource sanitizers fail this test if anything leaks.
  await run(function* () {
    createTask(sleep(3_600_000)); // cancelled by run() at the end
    for (let i = 0; i < 5000; i++) yield; // long enough to take a host slice
    yield* sleep(5);
  }, { core: CORE });
});

Deno.test("a task awaiting a future of another loop fails with RuntimeError", async () => {
  const other = newLoop();
  const foreign = other.createFuture<number>();
  const err = await run(function* () {
    try {
      yield* foreign;
    } catch (e) {
      return e;
    }
  }, { core: CORE, clock: "virtual" });
  other.close();
  assert.ok(err instanceof RuntimeError);
  assert.match((err as Error).message, /different event loop/);
});

Deno.test("a throwing done callback is reported by name, with its future, and the loop goes on", async () => {
  const loop = newLoop();
  const reports: ExceptionContext[] = [];
  loop.setExceptionHandler((_l, ctx) => reports.push(ctx));
  const fut = loop.createFuture<number>();
  const seen: number[] = [];
  fut.addDoneCallback(function brokenCallback() {
    throw new Error("callback failed");
  });
  fut.addDoneCallback((f) => seen.push(f.result()));
  loop.callSoon(() => fut.setResult(7));
  loop.callLater(1, () => loop.stop());
  await runLoop(loop);
  assert.deepEqual(seen, [7]);
  assert.equal(reports.length, 1);
  assert.match(reports[0].message, /brokenCallback/);
  assert.equal(reports[0].future, fut);
});

Deno.test("done-callback handles are recycled: completing futures allocates no handles in steady state", async () => {
  const loop = newLoop();
  let calls = 0;
  const cb = () => calls++;
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 100; i++) {
      const f = loop.createFuture();
      f.addDoneCallback(cb);
      f.setResult(i);
    }
    loop.callSoon(() => loop.stop());
    await loop.runForever();
  }
  assert.equal(calls, 300);
  // One batch of 100 handles serves every round.
  assert.equal(loop._callbackPool.length, 100);
  loop.close();
});

Deno.test("base_events._check_running: runUntilComplete() on a running loop rejects before creating anything", async () => {
  const loop = newLoop();
  let started = false;
  function* orphan() {
    started = true;
    yield;
    return "orphan";
  }
  const fut = new Future<number>(); // bound to no loop yet
  let calls: Promise<unknown>[] = [];
  let tasksBefore = -1, tasksAfter = -1;
  loop.callSoon(() => {
    tasksBefore = loop._pendingTasks().size;
    calls = [loop.runUntilComplete(orphan()), loop.runUntilComplete(fut)].map((p) =>
      p.then(() => "resolved", (e) => e)
    );
    tasksAfter = loop._pendingTasks().size;
    loop.callLater(10, () => loop.stop());
  });
  await runLoop(loop);
  for (const e of await Promise.all(calls)) {
    assert.ok(e instanceof RuntimeError && /already running/.test(e.message), String(e));
  }
  assert.equal(tasksAfter, tasksBefore, "no task was created");
  assert.equal(fut._loop, null, "the future was not bound to the loop");
  assert.equal(started, false, "the coroutine never ran");
});
