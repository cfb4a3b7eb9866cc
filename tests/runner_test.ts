// Runner: one loop for several run() calls, asyncio.Runner (3.11+). Ported
// from CPython's test_runners.py (RunnerTests) where a counterpart exists;
// the SIGINT tests run tests/fixtures/runner_sigint_main.ts in a child Deno,
// which interrupts itself as CPython's interrupt_self() does. Deno's test
// sanitizers stay on: a runner that left a host timer behind fails its test.
import { assert } from "../deps.ts";
import {
  CancelledError,
  Context,
  ContextVar,
  copyContext,
  type Coroutine,
  createTask,
  currentTask,
  type EventLoop,
  type ExceptionContext,
  type Executor,
  Future,
  getRunningLoop,
  RuntimeError,
  sleep,
  type Task,
  ValueError,
} from "../mod.ts";
import { Runner } from "../src/runner.ts";
import { CORE, DENO_ONLY, recordingListeners } from "./_util.ts";
import { Child } from "./fixtures/_child.ts";

/** A runner on the core under test with the virtual clock. */
const vrunner = (options?: { debug?: boolean; handleSigint?: boolean }) =>
  new Runner({ core: CORE, clock: "virtual", ...options });

Deno.test("test_runners::RunnerTests::test_non_debug", async () => {
  await using runner = vrunner({ debug: false });
  assert.equal(runner.getLoop().getDebug(), false);
});

Deno.test("test_runners::RunnerTests::test_debug", async () => {
  await using runner = vrunner({ debug: true });
  assert.equal(runner.getLoop().getDebug(), true);
  assert.equal(
    await runner.run(function* () {
      yield;
      return getRunningLoop().getDebug();
    }),
    true,
  );
});

Deno.test("test_runners::RunnerTests::test_custom_factory — the options choose the loop's core and clock", async () => {
  const other = CORE === "wasm" ? "ts" : "wasm";
  await using runner = new Runner({ core: other, clock: "virtual" });
  const loop = runner.getLoop();
  assert.equal(loop.core, other);
  assert.equal(loop.time(), 0);
  assert.equal(
    await runner.run(function* () {
      yield* sleep(3_600_000);
      return getRunningLoop();
    }),
    loop,
  );
  assert.equal(loop.time(), 3_600_000);
});

Deno.test("test_runners::RunnerTests::test_run", async () => {
  let runner: Runner;
  let loop: EventLoop;
  {
    await using r = vrunner();
    runner = r;
    assert.equal(
      await r.run(function* () {
        yield* sleep(0);
        return "done";
      }),
      "done",
    );
    loop = r.getLoop();
    assert.equal(loop.isClosed(), false, "the loop stays open between runs");
  }
  assert.throws(
    () => runner.getLoop(),
    (e) => e instanceof RuntimeError && e.message === "Runner is closed",
  );
  assert.equal(loop.isClosed(), true);
});

Deno.test("test_runners::RunnerTests::test_run_non_coro — TypeError, thrown; the runner stays usable", async () => {
  await using runner = vrunner();
  for (const bad of [123, null, "coro", Promise.resolve(1), {}]) {
    assert.throws(() => runner.run(bad as unknown as Coroutine<unknown>), TypeError);
  }
  assert.throws(
    () => runner.run((() => 1) as unknown as () => Coroutine<unknown>),
    (e) => e instanceof TypeError && /Runner\.run\(\).*returned 1/.test(e.message),
  );
  let ran = false;
  assert.throws(
    () =>
      runner.run(
        (async () => {
          ran = true;
          await null;
        }) as unknown as () => Coroutine<unknown>,
      ),
    TypeError,
  );
  assert.equal(ran, false, "an async function is refused before it runs");
  assert.equal(await runner.run(sleep(1, "still fine")), "still fine");
});

Deno.test("test_runners::RunnerTests::test_run_future", async () => {
  await using runner = vrunner();
  const fut = runner.getLoop().createFuture<string>();
  fut.setResult("done");
  assert.equal(await runner.run(fut), "done");
  // A task of the runner's loop, created between runs, is a future too.
  const task = runner.getLoop().createTask(sleep(5, "task done"));
  assert.equal(await runner.run(task), "task done");
  // A future that fails: run() rejects with its error.
  const failed = runner.getLoop().createFuture();
  failed.setException(new URIError("bad"));
  await assert.rejects(() => runner.run(failed), URIError);
});

Deno.test("test_runners::RunnerTests::test_run_awaitable — an awaitable that is not a generator object", async () => {
  // CPython's MyAwaitable defines __await__; in aio an awaitable is anything
  // with next/throw/return, as a hand-written iterator delegating to a
  // coroutine.
  function* body(): Coroutine<string> {
    yield* sleep(0);
    return "done";
  }
  const inner = body();
  const myAwaitable: Coroutine<string> = {
    next: (v?: unknown) => inner.next(v),
    throw: (e?: unknown) => inner.throw(e),
    return: (v: string) => inner.return(v),
    [Symbol.iterator]() {
      return this;
    },
  } as unknown as Coroutine<string>;
  await using runner = vrunner();
  assert.equal(await runner.run(myAwaitable), "done");
});

Deno.test("test_runners::RunnerTests::test_explicit_close", async () => {
  const runner = vrunner();
  const loop = runner.getLoop();
  await runner.close();
  assert.throws(() => runner.getLoop(), /Runner is closed/);
  assert.throws(() => runner.run(sleep(1)), /Runner is closed/);
  assert.equal(loop.isClosed(), true);
});

Deno.test("test_runners::RunnerTests::test_double_close — the second call does nothing; a concurrent one shares the first", async () => {
  const runner = vrunner();
  const loop = runner.getLoop();
  const first = runner.close();
  assert.equal(runner.close(), first, "a close() while closing returns the same promise");
  await first;
  assert.equal(loop.isClosed(), true);
  await runner.close();
  assert.equal(loop.isClosed(), true);
});

Deno.test("test_runners::RunnerTests::test_second_with_block_raises — a second await-using block cannot run", async () => {
  const ret: number[] = [];
  function* f(arg: number): Coroutine<void> {
    ret.push(arg);
  }
  const runner = vrunner();
  {
    await using r = runner;
    await r.run(f(1));
  }
  // asyncio's second `with runner:` fails entering; here its run() does.
  assert.throws(
    () => runner.run(f(2)),
    (e) => e instanceof RuntimeError && e.message === "Runner is closed",
  );
  assert.deepEqual(ret, [1]);
});

Deno.test("test_runners::RunnerTests::test_run_keeps_context — every run() uses the runner's one context", async () => {
  const cvar = new ContextVar<number>("cvar", { default: -1 });
  function* f(val: number): Coroutine<number> {
    const old = cvar.get();
    yield* sleep(0);
    cvar.set(val);
    return old;
  }
  await using runner = vrunner();
  assert.equal(await runner.run(f(1)), -1);
  assert.equal(await runner.run(f(2)), 1);
  const ctx = await runner.run(function* () {
    return copyContext();
  });
  assert.equal(ctx.get(cvar), 2);
  assert.equal(cvar.get(), -1, "the caller's context is not the runner's");
});

Deno.test("test_runners::RunnerTests::test_recursive_run — run() inside a main of the same runner: RuntimeError", async () => {
  await using runner = vrunner();
  let inner: Coroutine<void> | undefined;
  await assert.rejects(
    () =>
      runner.run(function* () {
        inner = sleep(1);
        runner.run(inner); // thrown here, so main fails with it
        yield;
      }),
    (e) =>
      e instanceof RuntimeError &&
      e.message.startsWith("Runner.run() cannot be called from a running event loop"),
  );
  // The runner is not stuck: the refused call changed nothing.
  assert.equal(await runner.run(sleep(1, "after")), "after");
});

// ---- SIGINT, in a child process --------------------------------------------

Deno.test(
  "test_runners::RunnerTests::test_interrupt_wait — each run() has its own SIGINT handler; leftover tasks wait for close()",
  DENO_ONLY,
  async () => {
    const { status, lines, stderr } = await new Child("runner_sigint_main.ts", ["wait"]).finish();
    assert.equal(status.code, 0, stderr);
    assert.deepEqual(lines, [
      "main 1 caught CancelledError, future cancelled: true",
      "run 1 rejected KeyboardInterrupt cause CancelledError",
      "other still pending: true",
      // A second interrupt in a second run() is a first one again, not an exit.
      "main 2 caught CancelledError, future cancelled: true",
      "run 2 rejected KeyboardInterrupt cause CancelledError",
      "run 3 resolved ok",
      "other finally",
      "closed",
    ]);
  },
);

Deno.test(
  "test_runners::RunnerTests::test_interrupt_call_soon — a main that only spins is interrupted too",
  DENO_ONLY,
  async () => {
    const { status, lines, stderr } = await new Child("runner_sigint_main.ts", ["spin"]).finish();
    assert.equal(status.code, 0, stderr);
    assert.deepEqual(lines, [
      "main caught CancelledError: true",
      "run rejected KeyboardInterrupt cause CancelledError",
      "closed",
    ]);
  },
);

Deno.test(
  "test_runners::RunnerTests::test_interrupt_cancelled_task — main also cancelled by another task: CancelledError",
  DENO_ONLY,
  async () => {
    const { status, lines, stderr } = await new Child("runner_sigint_main.ts", ["cancelled_task"])
      .finish();
    assert.equal(status.code, 0, stderr);
    assert.deepEqual(lines, [
      "main cancelled again, cancelling: 2",
      "run rejected CancelledError",
      "closed",
    ]);
  },
);

// ---- SIGINT, in process: which listeners each run() adds and removes -------

Deno.test(
  "Runner: the SIGINT listener is added by each run() and removed when its main ends; none between runs",
  DENO_ONLY,
  () =>
    recordingListeners(async (calls) => {
      await using runner = vrunner();
      runner.getLoop();
      assert.deepEqual(calls, [], "creating the loop listens to nothing");
      let during: string[] = [];
      await runner.run(function* () {
        yield;
        during = [...calls];
      });
      assert.deepEqual(during, ["add SIGINT"]);
      assert.deepEqual(calls, ["add SIGINT", "remove SIGINT"]);
      await assert.rejects(() =>
        runner.run(function* () {
          yield;
          throw new URIError("main failed");
        }), URIError);
      assert.deepEqual(calls, ["add SIGINT", "remove SIGINT", "add SIGINT", "remove SIGINT"]);
    }),
);

Deno.test("Runner: handleSigint false adds no listener", () =>
  recordingListeners(async (calls) => {
    await using runner = vrunner({ handleSigint: false });
    assert.equal(await runner.run(sleep(1, 1)), 1);
    assert.equal(await runner.run(sleep(1, 2)), 2);
    assert.deepEqual(calls, []);
  }));

Deno.test("test_runners::RunnerTests::test_signal_install_not_supported_ok", () =>
  recordingListeners(
    async (calls) => {
      await using runner = vrunner();
      assert.equal(await runner.run(sleep(0, "fine")), "fine");
      assert.equal(await runner.run(sleep(0, "again")), "again");
      assert.deepEqual(calls, ["add SIGINT", "add SIGINT"], "nothing to remove");
    },
    () => {
      throw new Deno.errors.NotSupported("signals are not available here");
    },
  ));

// ---- one run() at a time, close() after the last ---------------------------

Deno.test("Runner: run() while another run() of the runner is in progress → RuntimeError, thrown; the first completes", async () => {
  await using runner = vrunner();
  const first = runner.run(sleep(100, "first"));
  assert.throws(
    () => runner.run(sleep(1)),
    (e) =>
      e instanceof RuntimeError && /another run\(\) of this runner is in progress/.test(e.message),
  );
  assert.equal(await first, "first");
  assert.equal(runner.getLoop().time(), 100);
});

Deno.test("Runner: close() while run() is in progress rejects with RuntimeError and leaves the runner as it was", async () => {
  await using runner = vrunner();
  const main = runner.run(sleep(100, "main"));
  await assert.rejects(
    () => runner.close(),
    (e) => e instanceof RuntimeError && /while run\(\) is in progress/.test(e.message),
  );
  assert.equal(await main, "main");
  assert.equal(await runner.run(sleep(1, "next")), "next");
});

Deno.test("Runner: close() from a task of a running loop rejects with RuntimeError", async () => {
  const other = vrunner();
  const otherLoop = other.getLoop();
  let refused: Promise<void> | undefined;
  {
    await using runner = vrunner();
    await runner.run(function* () {
      yield;
      refused = other.close();
    });
  }
  await assert.rejects(
    () => refused!,
    (e) =>
      e instanceof RuntimeError && /cannot be called from a running event loop/.test(e.message),
  );
  assert.equal(otherLoop.isClosed(), false, "the refused close() changed nothing");
  await other.close();
  assert.equal(otherLoop.isClosed(), true);
});

Deno.test("Runner: a never-used runner closes without creating a loop, and is closed", async () => {
  const runner = vrunner();
  await runner.close();
  assert.throws(() => runner.getLoop(), /Runner is closed/);
  assert.throws(() => runner.run(sleep(1)), /Runner is closed/);
});

Deno.test("Runner: getLoop() creates the loop on first use, once; the context is copied then, not by the constructor", async () => {
  const v = new ContextVar<string>("v", { default: "unset" });
  const runner = vrunner();
  const token = v.set("after new Runner()");
  try {
    const loop = runner.getLoop();
    assert.equal(runner.getLoop(), loop);
    v.set("after getLoop()");
    assert.equal(
      await runner.run(function* () {
        yield;
        return v.get();
      }),
      "after new Runner()",
    );
  } finally {
    v.reset(token);
    await runner.close();
  }
});

Deno.test("Runner: run(main, { context }) runs main in that context instead of the runner's", async () => {
  const v = new ContextVar<string>("v", { default: "unset" });
  const ctx = new Context();
  ctx.run(() => v.set("given"));
  await using runner = vrunner();
  const seen = await runner.run(function* () {
    const before = v.get();
    yield;
    v.set("set by main");
    return before;
  }, { context: ctx });
  assert.equal(seen, "given");
  assert.equal(ctx.get(v), "set by main");
  assert.equal(
    await runner.run(function* () {
      return v.get();
    }),
    "unset",
    "the runner's own context was not touched",
  );
  assert.throws(
    () => runner.run(sleep(1), { context: {} as Context }),
    (e) => e instanceof TypeError && /context must be a Context/.test(e.message),
  );
});

Deno.test("Runner: a future of another loop → ValueError, before and after the runner's loop exists", async () => {
  await using a = vrunner();
  await using b = vrunner();
  const foreign = a.getLoop().createFuture();
  assert.throws(() => b.run(foreign), ValueError);
  b.getLoop();
  assert.throws(() => b.run(foreign), ValueError);
  // An unbound future is bound to the runner's loop.
  const unbound = new Future<number>();
  unbound.setResult(7);
  assert.equal(await b.run(unbound), 7);
});

Deno.test("Runner: tasks a main leaves pending keep running in the next run(); close() cancels them, and their finally blocks may await", async () => {
  const log: string[] = [];
  const runner = vrunner();
  const loop = runner.getLoop();
  let background: Task<void> | undefined;
  await runner.run(function* () {
    background = createTask(function* () {
      try {
        for (let i = 0;; i++) {
          yield* sleep(10);
          log.push(`tick ${i} at ${getRunningLoop().time()}`);
        }
      } finally {
        yield* sleep(5); // cleanup that takes time still completes
        log.push(`finally at ${getRunningLoop().time()}`);
      }
    });
    yield* sleep(25);
  });
  assert.deepEqual(log, ["tick 0 at 10", "tick 1 at 20"]);
  assert.equal(background!.done(), false, "run() ending does not cancel other tasks");
  await runner.run(sleep(10)); // the loop runs again: so does the task
  assert.deepEqual(log, ["tick 0 at 10", "tick 1 at 20", "tick 2 at 30"]);
  await runner.close();
  assert.equal(background!.cancelled(), true);
  assert.deepEqual(log.slice(3), ["finally at 40"]);
  assert.equal(loop.isClosed(), true);
});

Deno.test("Runner: close() reports a leftover task's error once, to the exception handler", async () => {
  const reports: ExceptionContext[] = [];
  const runner = vrunner();
  runner.getLoop().setExceptionHandler((_l, ctx) => reports.push(ctx));
  let leftover: Task<void> | undefined;
  assert.equal(
    await runner.run(function* () {
      leftover = createTask(function* () {
        try {
          yield* sleep(100);
        } catch (e) {
          if (e instanceof CancelledError) throw new RangeError("1 / 0");
          throw e;
        }
      });
      yield;
      return 123;
    }),
    123,
  );
  assert.equal(reports.length, 0, "nothing is reported when run() ends");
  await runner.close();
  assert.equal(leftover!.done(), true);
  assert.equal(reports.length, 1);
  assert.match(reports[0].message, /shutdown/);
  assert.equal(reports[0].task, leftover);
  assert.ok(reports[0].exception instanceof RangeError);
});

Deno.test(
  "Runner: close() closes I/O resources (a signal handler) and shuts down the default executor, waiting; run() ending does neither",
  DENO_ONLY,
  () =>
    recordingListeners(async (calls) => {
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
      const runner = vrunner({ handleSigint: false });
      await runner.run(function* () {
        const loop = getRunningLoop();
        loop.setDefaultExecutor(executor);
        loop.addSignalHandler("SIGHUP", () => {});
        yield;
      });
      assert.deepEqual(calls, ["add SIGHUP"]);
      assert.deepEqual(shutdowns, []);
      await runner.close();
      assert.deepEqual(calls, ["add SIGHUP", "remove SIGHUP"]);
      assert.deepEqual(shutdowns, [{ wait: true }]);
    }),
);

Deno.test("Runner: a main that fails rejects its run(); the runner stays usable", async () => {
  await using runner = vrunner();
  await assert.rejects(() =>
    runner.run(function* () {
      yield;
      throw new URIError("main failed");
    }), URIError);
  assert.equal(await runner.run(sleep(1, "next")), "next");
});

Deno.test("Runner: a main that stops the loop: run() rejects with RuntimeError; the main task stays pending until close() cancels it", async () => {
  const log: string[] = [];
  let main: Task<unknown> | undefined;
  const runner = vrunner();
  await assert.rejects(
    () =>
      runner.run(function* () {
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
  assert.equal(main!.done(), false);
  await runner.close();
  assert.deepEqual(log, ["finally"]);
  assert.equal(main!.cancelled(), true);
});

Deno.test("Runner: options are checked: handleSigint by the constructor, core and clock when the loop is created", async () => {
  assert.throws(
    () => new Runner({ handleSigint: 1 as unknown as boolean }),
    (e) => e instanceof TypeError && /handleSigint must be a boolean, got 1/.test(e.message),
  );
  const runner = new Runner({ core: "rust" as unknown as "ts" });
  assert.throws(() => runner.getLoop(), TypeError);
  assert.throws(() => runner.run(sleep(1)), TypeError);
  await runner.close();
});

Deno.test("Runner: run() from a callback of another runner's loop → RuntimeError in that callback", async () => {
  const reports: ExceptionContext[] = [];
  await using outer = vrunner();
  await using inner = vrunner();
  await outer.run(function* () {
    const loop = getRunningLoop();
    loop.setExceptionHandler((_l, ctx) => reports.push(ctx));
    loop.callSoon(() => {
      inner.run(sleep(1));
    });
    yield* sleep(1);
  });
  assert.equal(reports.length, 1);
  assert.ok(reports[0].exception instanceof RuntimeError);
  assert.equal(await inner.run(sleep(1, "inner ran later")), "inner ran later");
});
