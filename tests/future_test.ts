// Future behaviour, ported from CPython's test_futures.py where a counterpart
// exists. Virtual clock throughout.
import { assert } from "../deps.ts";
import {
  CancelledError,
  ContextVar,
  copyContext,
  createTask,
  type EventLoop,
  type ExceptionContext,
  fromPromise,
  Future,
  getRunningLoop,
  InvalidStateError,
  RuntimeError,
  sleep,
} from "../mod.ts";
import { DENO_ONLY, newLoop, vrun, withLoop } from "./_util.ts";

// ---- state ------------------------------------------------------------------

Deno.test("test_futures::test_initial_state", () =>
  withLoop((loop) => {
    const f = loop.createFuture();
    assert.equal(f.cancelled(), false);
    assert.equal(f.done(), false);
    f.cancel();
    assert.equal(f.cancelled(), true);
    assert.equal(f.done(), true);
  }));

Deno.test("test_futures::test_constructor_use_running_loop", () =>
  vrun(function* () {
    const f = new Future();
    assert.equal(f.getLoop(), getRunningLoop());
    assert.equal(getRunningLoop().createFuture().getLoop(), getRunningLoop());
  }));

Deno.test("a Future made outside any loop binds to the loop whose task awaits it", async () => {
  const f = new Future<number>();
  assert.throws(() => f.getLoop(), RuntimeError);
  const got = await vrun(function* () {
    getRunningLoop().callSoon(() => f.setResult(7));
    const v = yield* f;
    assert.equal(f.getLoop(), getRunningLoop());
    return v;
  });
  assert.equal(got, 7);
});

Deno.test("test_futures::test_cancel", () =>
  withLoop((loop) => {
    const f = loop.createFuture();
    assert.equal(f.cancel(), true);
    assert.equal(f.cancelled(), true);
    assert.equal(f.done(), true);
    assert.throws(() => f.result(), CancelledError);
    assert.throws(() => f.exception(), CancelledError);
    assert.throws(() => f.setResult(undefined), InvalidStateError);
    assert.throws(() => f.setException(new Error()), InvalidStateError);
    assert.equal(f.cancel(), false);
  }));

Deno.test("test_futures::test_result", () =>
  withLoop((loop) => {
    const f = loop.createFuture<number>();
    assert.throws(() => f.result(), InvalidStateError);
    f.setResult(42);
    assert.equal(f.cancelled(), false);
    assert.equal(f.done(), true);
    assert.equal(f.result(), 42);
    assert.equal(f.exception(), undefined);
    assert.throws(() => f.setResult(1), InvalidStateError);
    assert.throws(() => f.setException(new Error()), InvalidStateError);
    assert.equal(f.cancel(), false);
    assert.equal(f.cancelled(), false);
    assert.equal(f.result(), 42);
  }));

Deno.test("test_futures::test_exception", () =>
  withLoop((loop) => {
    const exc = new RangeError("boom");
    const f = loop.createFuture();
    assert.throws(() => f.exception(), InvalidStateError);
    f.setException(exc);
    assert.equal(f.cancelled(), false);
    assert.equal(f.done(), true);
    assert.throws(() => f.result(), (e) => e === exc);
    assert.equal(f.exception(), exc);
    assert.throws(() => f.setResult(undefined), InvalidStateError);
    assert.throws(() => f.setException(new Error()), InvalidStateError);
    assert.equal(f.cancel(), false);
  }));

Deno.test("setException(undefined) is a TypeError and leaves the future pending", () =>
  withLoop((loop) => {
    const f = loop.createFuture();
    assert.throws(() => f.setException(undefined), TypeError);
    assert.equal(f.done(), false);
    f.setException(0); // any other value is a valid exception
    assert.equal(f.exception(), 0);
  }));

Deno.test("InvalidStateError messages say what is wrong", () =>
  withLoop((loop) => {
    const f = loop.createFuture();
    assert.throws(() => f.result(), /pending/);
    f.setResult(1);
    assert.throws(() => f.setResult(2), /already finished/);
    const c = loop.createFuture();
    c.cancel();
    assert.throws(() => c.setException(new Error()), /already cancelled/);
  }));

Deno.test("test_futures::test_future_cancel_message_getter", () =>
  withLoop(async (loop) => {
    const f = loop.createFuture();
    f.cancel("my message");
    await assert.rejects(
      () => loop.runUntilComplete(f),
      (e) => e instanceof CancelledError && e.message === "my message",
    );
    // result() and exception() raise it too, with the same message.
    assert.throws(() => f.result(), { name: "CancelledError", message: "my message" });
    assert.throws(() => f.exception(), { name: "CancelledError", message: "my message" });
  }));

Deno.test("cancel() without a message gives a CancelledError with an empty message", () =>
  withLoop((loop) => {
    const f = loop.createFuture();
    f.cancel();
    assert.throws(() => f.result(), { name: "CancelledError", message: "" });
  }));

// ---- yield* ---------------------------------------------------------------

Deno.test("test_futures::test_yield_from_twice", () =>
  withLoop((loop) => {
    const f = loop.createFuture<number>();
    function* fixture(): Generator<unknown, void, unknown> {
      yield "A";
      const x = yield* f;
      yield ["B", x];
      const y = yield* f;
      yield ["C", y];
    }
    const g = fixture();
    assert.equal(g.next().value, "A");
    assert.equal(g.next().value, f); // the first yield* f suspends on f
    f.setResult(42);
    assert.deepEqual(g.next().value, ["B", 42]);
    // The second yield* f does not yield f: it is done.
    assert.deepEqual(g.next().value, ["C", 42]);
    assert.equal(g.next().done, true);
  }));

Deno.test("test_futures::test_future_stop_iteration_args", () =>
  withLoop((loop) => {
    const f = loop.createFuture<[number, number]>();
    f.setResult([1, 2]);
    const it = f[Symbol.iterator]();
    assert.deepEqual(it.next(), { done: true, value: [1, 2] });
  }));

Deno.test("test_futures::test_iter", () =>
  withLoop((loop) => {
    // Resuming a future's iterator before the future is done is what
    // `yield fut` instead of `yield* fut` would lead to.
    const f = loop.createFuture();
    const it = f[Symbol.iterator]();
    assert.equal(it.next().value, f);
    assert.throws(() => it.next(), (e) => e instanceof RuntimeError && /yield\*/.test(e.message));
    f.cancel();
  }));

Deno.test("yield* future in a task: result, exception, cancellation", () =>
  vrun(function* () {
    const loop = getRunningLoop();
    const ok = loop.createFuture<string>();
    loop.callLater(10, () => ok.setResult("fine"));
    assert.equal(yield* ok, "fine");
    assert.equal(loop.time(), 10);

    const bad = loop.createFuture<string>();
    const exc = new SyntaxError("bad");
    loop.callSoon(() => bad.setException(exc));
    let caught: unknown;
    try {
      yield* bad;
    } catch (e) {
      caught = e;
    }
    assert.equal(caught, exc);

    const gone = loop.createFuture<string>();
    loop.callSoon(() => gone.cancel("gone"));
    try {
      yield* gone;
      assert.fail("not reached");
    } catch (e) {
      assert.ok(e instanceof CancelledError);
      assert.equal(e.message, "gone");
    }
    // The task itself was not cancelled: it caught the future's error.
    assert.equal(yield* sleep(1, "still running"), "still running");
  }));

Deno.test("yield* on a done future does not suspend the task", () =>
  vrun(function* () {
    const loop = getRunningLoop();
    const f = loop.createFuture<number>();
    f.setResult(5);
    const log: string[] = [];
    loop.callSoon(() => log.push("callback"));
    assert.equal(yield* f, 5);
    // No suspension happened: the callSoon callback has not run yet.
    assert.deepEqual(log, []);
    yield;
    assert.deepEqual(log, ["callback"]);
  }));

// ---- repr -------------------------------------------------------------------

Deno.test("test_futures::test_future_repr", DENO_ONLY, () =>
  withLoop((loop) => {
    const pending = loop.createFuture();
    assert.equal(String(pending), "<Future pending>");
    assert.equal(`${pending}`, "<Future pending>");
    assert.equal(Deno.inspect(pending), "<Future pending>");
    pending.cancel();

    const cancelled = loop.createFuture();
    cancelled.cancel();
    assert.equal(String(cancelled), "<Future cancelled>");

    const result = loop.createFuture<number>();
    result.setResult(4);
    assert.equal(String(result), "<Future finished result=4>");
    assert.equal(result.result(), 4);

    const str = loop.createFuture<string>();
    str.setResult("abc");
    assert.equal(String(str), '<Future finished result="abc">');

    const exc = new RangeError("boom");
    const failed = loop.createFuture();
    failed.setException(exc);
    assert.equal(String(failed), '<Future finished exception=RangeError("boom")>');
    assert.equal(failed.exception(), exc);

    class MyFuture<T> extends Future<T> {}
    assert.equal(String(new MyFuture(loop)), "<MyFuture pending>");
  }));

// ---- done callbacks ---------------------------------------------------------

function bagAppender(bag: unknown[], thing: unknown) {
  return (_f: Future<unknown>) => {
    bag.push(thing);
  };
}

Deno.test("test_futures::test_callbacks_invoked_on_set_result", () =>
  vrun(function* () {
    const bag: number[] = [];
    const f = getRunningLoop().createFuture<string>();
    f.addDoneCallback(bagAppender(bag, 42));
    f.addDoneCallback(bagAppender(bag, 17));
    assert.deepEqual(bag, []);
    f.setResult("foo");
    // Scheduled with callSoon, not called synchronously.
    assert.deepEqual(bag, []);
    yield;
    assert.deepEqual(bag, [42, 17]);
    assert.equal(f.result(), "foo");
  }));

Deno.test("test_futures::test_callbacks_invoked_on_set_exception", () =>
  vrun(function* () {
    const bag: number[] = [];
    const f = getRunningLoop().createFuture();
    f.addDoneCallback(bagAppender(bag, 100));
    const exc = new Error();
    f.setException(exc);
    assert.deepEqual(bag, []);
    yield;
    assert.deepEqual(bag, [100]);
    assert.equal(f.exception(), exc);
  }));

Deno.test("done callbacks run on cancel too, and receive the future", () =>
  vrun(function* () {
    const seen: unknown[] = [];
    const f = getRunningLoop().createFuture();
    f.addDoneCallback((fut) => seen.push(fut, fut.cancelled()));
    f.cancel();
    assert.deepEqual(seen, []);
    yield;
    assert.equal(seen[0], f);
    assert.equal(seen[1], true);
  }));

for (
  const [name, remove, expected] of [
    ["test_callbacks_remove_first_callback", [0, 0], [17, 100]],
    ["test_callbacks_remove_first_and_second_callback", [0, 1, 0], [100]],
    ["test_callbacks_remove_third_callback", [2, 2], [42, 17]],
  ] as const
) {
  Deno.test(`test_futures::${name}`, () =>
    vrun(function* () {
      const bag: number[] = [];
      const f = getRunningLoop().createFuture<string>();
      const cbs = [bagAppender(bag, 42), bagAppender(bag, 17), bagAppender(bag, 100)];
      for (const cb of cbs) f.addDoneCallback(cb);
      for (const i of remove) f.removeDoneCallback(cbs[i]);
      assert.deepEqual(bag, []);
      f.setResult("foo");
      yield;
      assert.deepEqual(bag, expected);
      assert.equal(f.result(), "foo");
    }));
}

Deno.test("test_futures::test_remove_done_callback", () =>
  vrun(function* () {
    const bag: number[] = [];
    const f = getRunningLoop().createFuture<string>();
    const cb1 = bagAppender(bag, 1);
    const cb2 = bagAppender(bag, 2);
    const cb3 = bagAppender(bag, 3);
    f.addDoneCallback(cb1);
    f.addDoneCallback(cb2);
    assert.equal(f.removeDoneCallback(cb2), 1);
    assert.equal(f.removeDoneCallback(cb3), 0);
    f.addDoneCallback(cb2);
    for (let i = 0; i < 5; i++) f.addDoneCallback(cb1);
    assert.equal(f.removeDoneCallback(cb1), 6);
    assert.deepEqual(bag, []);
    f.setResult("foo");
    yield;
    assert.deepEqual(bag, [2]);
    assert.equal(f.result(), "foo");
    // Once done, there is nothing left to remove.
    assert.equal(f.removeDoneCallback(cb2), 0);
  }));

Deno.test("test_futures::test_schedule_callbacks_list_mutation_1", () =>
  vrun(function* () {
    // Callbacks are all scheduled when the future completes: one that
    // removes another afterwards does not stop it.
    const bag: string[] = [];
    const f = getRunningLoop().createFuture<number>();
    const str = (_: Future<number>) => bag.push("str");
    f.addDoneCallback((fut) => {
      bag.push("mut");
      fut.removeDoneCallback(str);
    });
    f.addDoneCallback(str);
    f.addDoneCallback(str);
    f.setResult(1);
    yield;
    assert.deepEqual(bag, ["mut", "str", "str"]);
  }));

Deno.test("done callbacks are scheduled with callSoon in registration order", () =>
  vrun(function* () {
    const loop = getRunningLoop();
    const log: string[] = [];
    const f = loop.createFuture<number>();
    f.addDoneCallback(() => log.push("cb1"));
    f.addDoneCallback(() => log.push("cb2"));
    loop.callSoon(() => log.push("before"));
    f.setResult(1); // both callbacks join the ready queue now
    loop.callSoon(() => log.push("after"));
    f.addDoneCallback(() => log.push("cb3")); // done: scheduled at once
    loop.callSoon(() => log.push("last"));
    assert.deepEqual(log, []);
    yield;
    assert.deepEqual(log, ["before", "cb1", "cb2", "after", "cb3", "last"]);
  }));

Deno.test("a done callback added to a done future is scheduled at once, not called", () =>
  vrun(function* () {
    const loop = getRunningLoop();
    const f = loop.createFuture<string>();
    f.setResult("x");
    yield;
    const log: string[] = [];
    f.addDoneCallback((fut) => log.push(`cb ${fut.result()}`));
    assert.deepEqual(log, []);
    assert.equal(loop.stats().ready, 1);
    yield;
    assert.deepEqual(log, ["cb x"]);
  }));

Deno.test("a done callback that throws goes to the exception handler; others still run", () =>
  vrun(function* () {
    const loop = getRunningLoop();
    const reports: ExceptionContext[] = [];
    loop.setExceptionHandler((_l, ctx) => reports.push(ctx));
    const log: string[] = [];
    const exc = new Error("in callback");
    const f = loop.createFuture();
    f.addDoneCallback(() => {
      throw exc;
    });
    f.addDoneCallback(() => log.push("second"));
    f.setResult(undefined);
    yield;
    assert.deepEqual(log, ["second"]);
    assert.equal(reports.length, 1);
    assert.equal(reports[0].exception, exc);
  }));

Deno.test("addDoneCallback of a non-function is a TypeError naming it", () =>
  withLoop((loop) => {
    const f = loop.createFuture();
    assert.throws(
      () => f.addDoneCallback(42 as unknown as () => void),
      (e) => e instanceof TypeError && e.message.includes("42"),
    );
  }));

Deno.test("done callbacks run in the context given, or a copy of the current one", () =>
  vrun(function* () {
    const loop = getRunningLoop();
    const v = new ContextVar<string>("v", { default: "default" });
    const seen: string[] = [];
    const f = loop.createFuture();

    v.set("at add");
    f.addDoneCallback(() => seen.push(`implicit ${v.get()}`));
    const ctx = copyContext();
    ctx.run(() => v.set("in ctx"));
    f.addDoneCallback(() => seen.push(`explicit ${v.get()}`), { context: ctx });
    // A set made after addDoneCallback is not seen by the callback's copy.
    v.set("later");
    f.setResult(undefined);
    yield;
    assert.deepEqual(seen, ["implicit at add", "explicit in ctx"]);
    assert.equal(v.get(), "later");
  }));

Deno.test("test_tasks::test_context_2", () =>
  vrun(function* () {
    const loop = getRunningLoop();
    const cvar = new ContextVar<string>("cvar", { default: "nope" });
    // A done callback's change must not pollute the context of the task.
    const futOnDone = () => {
      cvar.set("something else");
    };
    assert.equal(cvar.get(), "nope");
    for (let j = 0; j < 2; j++) {
      const fut = loop.createFuture();
      fut.addDoneCallback(futOnDone);
      cvar.set(`yes${j}`);
      loop.callSoon(() => fut.setResult(undefined));
      yield* fut;
      assert.equal(cvar.get(), `yes${j}`);
      for (let i = 0; i < 3; i++) {
        cvar.set(`yes${i}-${j}`);
        yield* sleep(1);
        assert.equal(cvar.get(), `yes${i}-${j}`);
      }
    }
  }));

// ---- then / await -------------------------------------------------------------

Deno.test("await future: fulfilled", () =>
  withLoop(async (loop) => {
    const f = loop.createFuture<number>();
    loop.callLater(1000, () => f.setResult(42));
    const p = f.then((v) => v + 1);
    assert.equal(await loop.runUntilComplete(f), 42);
    assert.equal(await p, 43);
    assert.equal(await f, 42);
    assert.equal(loop.time(), 1000);
  }));

Deno.test("await future: rejected with the future's exception", () =>
  withLoop(async (loop) => {
    const f = loop.createFuture<number>();
    const exc = new URIError("bad");
    loop.callSoon(() => f.setException(exc));
    const p = f.then(() => "fulfilled", (e) => e);
    await assert.rejects(() => loop.runUntilComplete(f), (e) => e === exc);
    assert.equal(await p, exc);
    await assert.rejects(async () => await f, (e) => e === exc);
  }));

Deno.test("await future: cancelled → CancelledError", () =>
  withLoop(async (loop) => {
    const f = loop.createFuture<number>();
    const p = f.then(() => "fulfilled", (e) => e);
    f.cancel("no more");
    const e = await p;
    assert.ok(e instanceof CancelledError);
    assert.equal(e.message, "no more");
    await assert.rejects(async () => await f, { name: "CancelledError", message: "no more" });
  }));

Deno.test("await future from plain async code while the loop runs", () =>
  vrun(function* () {
    const loop = getRunningLoop();
    const f = loop.createFuture<string>();
    const log: string[] = [];
    const waiter = (async () => {
      const v = await f;
      log.push(`awaited ${v}`);
      return v.toUpperCase();
    })();
    yield* sleep(50);
    assert.deepEqual(log, []);
    f.setResult("hi");
    assert.equal(yield* fromPromise(waiter), "HI");
    assert.deepEqual(log, ["awaited hi"]);
  }));

Deno.test("await task from plain async code", () =>
  withLoop(async (loop) => {
    const t = loop.createTask(sleep(30, "slept"));
    const awaited = (async () => await t)();
    await loop.runUntilComplete(t);
    assert.equal(await awaited, "slept");
  }));

// ---- unretrieved exceptions ----------------------------------------------------

/** Failed futures nobody looked at are reported when the loop closes. */
function reportsAtClose(setup: (loop: EventLoop) => void): ExceptionContext[] {
  const loop = newLoop();
  const reports: ExceptionContext[] = [];
  loop.setExceptionHandler((_l, ctx) => reports.push(ctx));
  try {
    setup(loop);
    assert.deepEqual(reports, [], "nothing is reported before close()");
  } finally {
    loop.close();
  }
  return reports;
}

Deno.test("test_futures::test_tb_logger_exception_unretrieved", () => {
  const exc = new RangeError("boom");
  let fut: Future<unknown> | undefined;
  const reports = reportsAtClose((loop) => {
    fut = loop.createFuture();
    fut.setException(exc);
  });
  assert.equal(reports.length, 1);
  assert.equal(reports[0].message, "Future exception was never retrieved");
  assert.equal(reports[0].exception, exc);
  assert.equal(reports[0].future, fut);
});

Deno.test("test_futures::test_tb_logger_exception_retrieved", () => {
  const reports = reportsAtClose((loop) => {
    const f = loop.createFuture();
    f.setException(new RangeError("boom"));
    f.exception();
  });
  assert.deepEqual(reports, []);
});

Deno.test("test_futures::test_tb_logger_exception_result_retrieved", () => {
  const reports = reportsAtClose((loop) => {
    const f = loop.createFuture();
    f.setException(new RangeError("boom"));
    assert.throws(() => f.result(), RangeError);
  });
  assert.deepEqual(reports, []);
});

Deno.test("test_futures::test_tb_logger_not_called_after_cancel", () => {
  const reports = reportsAtClose((loop) => {
    const f = loop.createFuture();
    f.setException(new Error());
    assert.equal(f.cancel(), false);
  });
  assert.deepEqual(reports, []);
});

Deno.test("test_futures::test_tb_logger_result_unretrieved", () => {
  const reports = reportsAtClose((loop) => {
    loop.createFuture().setResult(42);
    loop.createFuture().cancel();
    loop.createFuture(); // abandoned while pending
  });
  assert.deepEqual(reports, []);
});

Deno.test("a failed future awaited with then() is not reported (done before then)", async () => {
  const exc = new Error("carried by the promise");
  let p: Promise<unknown> | undefined;
  const reports = reportsAtClose((loop) => {
    const f = loop.createFuture();
    f.setException(exc);
    p = f.then(() => "fulfilled", (e) => e);
  });
  assert.deepEqual(reports, []);
  assert.equal(await p, exc);
});

Deno.test("a failed future awaited with then() is not reported (fails after then)", async () => {
  const exc = new Error("carried by the promise");
  let p: Promise<unknown> | undefined;
  const reports = reportsAtClose((loop) => {
    const f = loop.createFuture();
    p = f.then(() => "fulfilled", (e) => e);
    f.setException(exc);
  });
  assert.deepEqual(reports, []);
  assert.equal(await p, exc);
});

Deno.test("Future exception never retrieved: reported through the handler when run() closes", async () => {
  const reports: ExceptionContext[] = [];
  const exc = new EvalError("lost");
  let mainReturned = false;
  await vrun(function* () {
    const loop = getRunningLoop();
    loop.setExceptionHandler((_l, ctx) => reports.push({ ...ctx, mainReturned }));
    const lost = loop.createFuture();
    loop.callSoon(() => lost.setException(exc));
    const seen = loop.createFuture();
    loop.callSoon(() => seen.setException(new Error("seen")));
    try {
      yield* seen;
    } catch { /* retrieved */ }
    yield* sleep(10);
    mainReturned = true;
  });
  assert.equal(reports.length, 1);
  assert.equal(reports[0].message, "Future exception was never retrieved");
  assert.equal(reports[0].exception, exc);
  assert.equal(reports[0].mainReturned, true, "reported at close, not when set");
});

Deno.test("a task that yield*s a failed future retrieves its exception", async () => {
  const reports: ExceptionContext[] = [];
  await vrun(function* () {
    const loop = getRunningLoop();
    loop.setExceptionHandler((_l, ctx) => reports.push(ctx));
    const f = loop.createFuture();
    const t = createTask(function* () {
      try {
        yield* f;
      } catch (e) {
        return e;
      }
    });
    f.setException(new Error("x"));
    assert.equal(((yield* t) as Error).message, "x");
  });
  assert.deepEqual(reports, []);
});
