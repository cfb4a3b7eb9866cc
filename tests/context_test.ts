// Context variables: ported from CPython's test_context.py (contextvars),
// test_asyncio/test_context.py and the context tests of test_tasks.py
// (test_context_1/3/4 live in task_test.ts), plus how callbacks, done
// callbacks and tasks capture contexts. Virtual clock throughout.
import { assert } from "../deps.ts";
import {
  CancelledError,
  Context,
  ContextVar,
  copyContext,
  type Coroutine,
  createTask,
  currentTask,
  gather,
  getRunningLoop,
  LookupError,
  RuntimeError,
  sleep,
  Token,
  ValueError,
} from "../mod.ts";
import { vrun } from "./_util.ts";

/** Runs `fn` in a fresh empty context, like CPython's `@isolated_context`. */
function isolated(fn: () => void): () => void {
  return () => new Context().run(fn);
}

// ---- test_context.py ---------------------------------------------------------------

Deno.test("test_context::test_context_var_new_1", () => {
  assert.throws(() => new (ContextVar as unknown as new () => unknown)(), TypeError);
  assert.throws(() => new ContextVar(1 as unknown as string), TypeError);
  const c = new ContextVar("aaa");
  assert.equal(c.name, "aaa");
  assert.throws(() => {
    (c as { name: string }).name = "bbb";
  }, TypeError);
  assert.notEqual(new ContextVar("aaa"), c, "each variable is its own key");
});

Deno.test(
  "test_context::test_context_var_repr_1",
  isolated(() => {
    let c = new ContextVar<unknown>("a");
    assert.match(String(c), /"a"/);
    c = new ContextVar("a", { default: 123 });
    assert.match(String(c), /123/);
    const t = c.set(1);
    assert.ok(String(t).includes(String(c)));
    assert.doesNotMatch(String(t), / used /);
    c.reset(t);
    assert.match(String(t), / used /);
  }),
);

Deno.test(
  "test_context::test_token_repr_1",
  isolated(() => {
    const c = new ContextVar<number>("a");
    const tok = c.set(1);
    assert.equal(String(tok), '<Token var=<ContextVar name="a">>');
  }),
);

Deno.test("test_context::test_context_typerrors_1", () => {
  const ctx = new Context();
  assert.throws(() => ctx.get(1 as never), TypeError);
  assert.throws(() => ctx.has(1 as never), TypeError);
});

Deno.test("test_context::test_context_get_context_1", () => {
  assert.ok(copyContext() instanceof Context);
});

Deno.test("test_context::test_context_run_1", () => {
  const ctx = new Context();
  assert.throws(() => (ctx.run as (...a: unknown[]) => unknown)(), TypeError);
});

Deno.test("test_context::test_context_run_2", () => {
  const ctx = new Context();
  const func = (...args: unknown[]) => [...args, "bar"];
  assert.deepEqual(ctx.run(func), ["bar"]);
  assert.deepEqual(ctx.run(func, 1), [1, "bar"]);
  assert.deepEqual(ctx.run(func, 11, { a: 2 }), [11, { a: 2 }, "bar"]);
});

Deno.test("test_context::test_context_run_3", () => {
  const ctx = new Context();
  const func = () => {
    throw new RangeError("1 / 0");
  };
  assert.throws(() => ctx.run(func), RangeError);
  assert.throws(() => ctx.run(func as (...a: unknown[]) => never, 1, 2), RangeError);
});

Deno.test(
  "test_context::test_context_run_4",
  isolated(() => {
    const ctx1 = new Context();
    const ctx2 = new Context();
    const v = new ContextVar<string>("var");
    const func2 = () => {
      assert.equal(v.get(undefined), undefined);
    };
    const func1 = () => {
      assert.equal(v.get(undefined), undefined);
      v.set("spam");
      ctx2.run(func2);
      assert.equal(v.get(undefined), "spam");
      const cur = copyContext();
      assert.equal(cur.size, 1);
      assert.equal(cur.get(v), "spam");
      return cur;
    };
    const returned = ctx1.run(func1);
    assert.deepEqual([...returned.entries()], [...ctx1.entries()]);
    assert.equal(returned.get(v), "spam");
    assert.ok(returned.has(v));
  }),
);

Deno.test("test_context::test_context_run_5", () => {
  const ctx = new Context();
  const v = new ContextVar<string>("var");
  const func = () => {
    assert.equal(v.get(undefined), undefined);
    v.set("spam");
    throw new RangeError("1 / 0");
  };
  assert.throws(() => ctx.run(func), RangeError);
  assert.equal(v.get(undefined), undefined);
});

Deno.test("test_context::test_context_run_6", () => {
  const ctx = new Context();
  const c = new ContextVar("a", { default: 0 });
  ctx.run(() => {
    assert.equal(c.get(), 0);
    assert.equal(ctx.get(c), undefined);
    c.set(42);
    assert.equal(c.get(), 42);
    assert.equal(ctx.get(c), 42);
  });
});

Deno.test("test_context::test_context_run_7", () => {
  const ctx = new Context();
  const fun = () => {
    assert.throws(() => ctx.run(fun), /already entered/);
  };
  ctx.run(fun);
});

Deno.test(
  "test_context::test_context_getset_1",
  isolated(() => {
    const c = new ContextVar<unknown>("c");
    assert.throws(() => c.get(), LookupError);
    assert.equal(c.get(undefined), undefined);

    const t0 = c.set(42);
    assert.equal(c.get(), 42);
    assert.equal(t0.oldValue, Token.MISSING);
    assert.equal(t0.var, c);

    const t = c.set("spam");
    assert.equal(c.get(), "spam");
    assert.equal(t.oldValue, 42);
    c.reset(t);
    assert.equal(c.get(), 42);

    c.set("spam2");
    assert.throws(() => c.reset(t), /has already been used/);
    assert.equal(c.get(), "spam2");

    const ctx1 = copyContext();
    assert.ok(ctx1.has(c));

    c.reset(t0);
    assert.throws(() => c.reset(t0), /has already been used/);
    assert.equal(c.get(undefined), undefined);

    assert.ok(ctx1.has(c));
    assert.equal(ctx1.get(c), "spam2");
    assert.equal(ctx1.get(c, "aa"), "spam2");
    assert.equal(ctx1.size, 1);
    assert.deepEqual([...ctx1.entries()], [[c, "spam2"]]);
    assert.deepEqual([...ctx1.values()], ["spam2"]);
    assert.deepEqual([...ctx1.keys()], [c]);
    assert.deepEqual([...ctx1], [c]);

    const ctx2 = copyContext();
    assert.equal(ctx2.has(c), false);
    assert.equal(ctx2.get(c, "aa"), "aa");
    assert.equal(ctx2.size, 0);
    assert.deepEqual([...ctx2], []);
  }),
);

Deno.test(
  "test_context::test_context_getset_2",
  isolated(() => {
    const v1 = new ContextVar<number>("v1");
    const v2 = new ContextVar<number>("v2");
    const t1 = v1.set(42);
    assert.throws(
      () => v2.reset(t1),
      (e) => e instanceof ValueError && /different/.test(e.message),
    );
  }),
);

Deno.test(
  "test_context::test_context_getset_3",
  isolated(() => {
    const c = new ContextVar("c", { default: 42 });
    const ctx = new Context();
    ctx.run(() => {
      assert.equal(c.get(), 42);
      assert.equal(ctx.get(c), undefined);
      assert.equal(ctx.get(c, "spam" as unknown as number), "spam");
      assert.equal(ctx.has(c), false);
      assert.deepEqual([...ctx.keys()], []);
      const t = c.set(1);
      assert.deepEqual([...ctx.keys()], [c]);
      assert.equal(ctx.get(c), 1);
      c.reset(t);
      assert.deepEqual([...ctx.keys()], []);
      assert.equal(ctx.has(c), false);
    });
  }),
);

Deno.test(
  "test_context::test_context_getset_4",
  isolated(() => {
    const c = new ContextVar("c", { default: 42 });
    const ctx = new Context();
    const tok = ctx.run(() => c.set(1));
    assert.throws(
      () => c.reset(tok),
      (e) => e instanceof ValueError && /different Context/.test(e.message),
    );
  }),
);

Deno.test(
  "test_context::test_context_getset_5",
  isolated(() => {
    const c = new ContextVar<number[]>("c", { default: [42] });
    c.set([]);
    copyContext().run(() => {
      c.set([]);
      c.get().push(42);
      assert.deepEqual(c.get(), [42]);
    });
    assert.deepEqual(c.get(), []);
  }),
);

Deno.test("test_context::test_context_copy_1", () => {
  const ctx1 = new Context();
  const c = new ContextVar("c", { default: 42 });
  const ctx2Fun = () => {
    assert.equal(c.get(), 10);
    c.set(30);
    assert.equal(c.get(), 30);
  };
  ctx1.run(() => {
    c.set(10);
    const ctx2 = ctx1.copy();
    assert.equal(ctx2.get(c), 10);
    c.set(20);
    assert.equal(ctx1.get(c), 20);
    assert.equal(ctx2.get(c), 10);
    ctx2.run(ctx2Fun);
    assert.equal(ctx1.get(c), 20);
    assert.equal(ctx2.get(c), 30);
  });
});

// ---- test_asyncio/test_context.py ---------------------------------------------------

Deno.test("test_asyncio_context::test_asyncio_task_decimal_context", () =>
  vrun(function* () {
    // decimal's precision is a context variable; each task keeps its own.
    const precision = new ContextVar("precision", { default: 28 });
    const div = (x: number, y: number) => (x / y).toFixed(precision.get());
    function* fractions(t: number, prec: number, x: number, y: number): Coroutine<string[]> {
      precision.set(prec);
      const a = div(x, y);
      yield* sleep(t);
      const b = div(x, y ** 2);
      return [a, b];
    }
    const [r1, r2] = yield* gather([fractions(100, 3, 1, 3), fractions(200, 6, 1, 3)]);
    assert.deepEqual(r1, ["0.333", "0.111"]);
    assert.deepEqual(r2, ["0.333333", "0.111111"]);
    assert.equal(precision.get(), 28);
  }));

// ---- test_tasks.py ----------------------------------------------------------------

Deno.test("test_tasks::test_context_2", () =>
  vrun(function* () {
    const cvar = new ContextVar("cvar", { default: "nope" });
    const loop = getRunningLoop();
    // A done callback's changes must not pollute the task's context.
    const futOnDone = () => {
      cvar.set("something else");
    };
    assert.equal(cvar.get(), "nope");
    for (let j = 0; j < 2; j++) {
      const fut = loop.createFuture<void>();
      fut.addDoneCallback(futOnDone);
      cvar.set(`yes${j}`);
      loop.callSoon(() => fut.setResult());
      yield* fut;
      assert.equal(cvar.get(), `yes${j}`);
      for (let i = 0; i < 3; i++) {
        // The task passes its context to the callbacks sleep() schedules.
        cvar.set(`yes${i}-${j}`);
        yield* sleep(1);
        assert.equal(cvar.get(), `yes${i}-${j}`);
      }
    }
  }));

for (const via of ["createTask", "loop.createTask"] as const) {
  const name = via === "createTask" ? "test_context_5" : "test_context_6";
  Deno.test(`test_tasks::${name}`, () =>
    vrun(function* () {
      const cvar = new ContextVar<number>("cvar");
      function* coro(val: number) {
        yield* sleep(0);
        cvar.set(val);
      }
      const make = via === "createTask"
        ? createTask
        : getRunningLoop().createTask.bind(getRunningLoop());
      const ret = [];
      const ctx = copyContext();
      ret.push(ctx.get(cvar));
      yield* make(coro(1), { context: ctx });
      ret.push(ctx.get(cvar));
      yield* make(coro(2), { context: ctx });
      ret.push(ctx.get(cvar));
      assert.deepEqual(ret, [undefined, 1, 2]);
    }));
}

// ---- callbacks and tasks capture contexts -------------------------------------------

Deno.test("callSoon and callLater capture the context current when they are called", () =>
  vrun(function* () {
    const v = new ContextVar("v", { default: "default" });
    const loop = getRunningLoop();
    const seen: string[] = [];
    v.set("at callSoon");
    loop.callSoon(() => {
      seen.push(`soon: ${v.get()}`);
      v.set("changed by the callback"); // dies with the callback
    });
    v.set("at callLater");
    loop.callLater(5, () => seen.push(`later: ${v.get()}`));
    v.set("after scheduling");
    yield* sleep(10);
    assert.deepEqual(seen, ["soon: at callSoon", "later: at callLater"]);
    assert.equal(v.get(), "after scheduling");
  }));

Deno.test("done callbacks run in the context captured when they were added", () =>
  vrun(function* () {
    const v = new ContextVar("v", { default: "default" });
    const loop = getRunningLoop();
    const seen: string[] = [];
    const fut = loop.createFuture<void>();
    v.set("first");
    fut.addDoneCallback(() => seen.push(v.get()));
    v.set("second");
    fut.addDoneCallback(() => seen.push(v.get()));
    const explicit = new Context();
    explicit.run(() => v.set("explicit"));
    fut.addDoneCallback(() => seen.push(v.get()), { context: explicit });
    v.set("when completed");
    fut.setResult();
    yield* sleep(0);
    assert.deepEqual(seen, ["first", "second", "explicit"]);
  }));

Deno.test("each task runs in a copy of the context current at its creation", () =>
  vrun(function* () {
    const v = new ContextVar<string>("v");
    v.set("parent before");
    const child = createTask(function* () {
      const before = v.get();
      v.set("child");
      yield* sleep(1);
      const grandchild = createTask(function* () {
        return v.get();
      });
      return [before, v.get(), yield* grandchild];
    });
    v.set("parent after");
    assert.deepEqual(yield* child, ["parent before", "child", "child"]);
    assert.equal(v.get(), "parent after");
  }));

Deno.test("1,000 concurrent tasks keep independent values", () =>
  vrun(function* () {
    const id = new ContextVar<number>("id");
    const other = new ContextVar<string>("other", { default: "-" });
    let mismatches = 0;
    const tasks = [];
    for (let i = 0; i < 1000; i++) {
      tasks.push(createTask(function* () {
        id.set(i);
        for (let step = 0; step < 5; step++) {
          other.set(`${i}:${step}`);
          yield* sleep((i * 31 + step * 17) % 7);
          if (id.get() !== i || other.get() !== `${i}:${step}`) mismatches++;
          // A callback scheduled here sees this task's values.
          const seen = getRunningLoop().createFuture<number>();
          getRunningLoop().callSoon(() => seen.setResult(id.get()));
          if ((yield* seen) !== i) mismatches++;
        }
        return id.get();
      }));
    }
    const results = yield* gather(tasks);
    assert.equal(mismatches, 0);
    assert.deepEqual(results, Array.from({ length: 1000 }, (_, i) => i));
    assert.throws(() => id.get(), LookupError, "the parent never saw a value");
    assert.equal(other.get(), "-");
  }));

Deno.test("a task's context: the same object before and after its first write, and the one it writes", () =>
  vrun(function* () {
    const v = new ContextVar<string>("v", { default: "unset" });
    v.set("parent");
    const child = createTask(function* () {
      const me = currentTask()!;
      const early = me.getContext(); // asked inside the task, before any write
      assert.equal(early.get(v), "parent");
      v.set("child");
      assert.equal(me.getContext(), early);
      assert.equal(early.get(v), "child", "the write went to the context getContext() gave");
      yield;
      return early;
    });
    const early = yield* child;
    assert.equal(child.getContext(), early);
    assert.equal(v.get(), "parent");
  }));

Deno.test("a token made in a task's first write resets it in a later step", () =>
  vrun(function* () {
    const v = new ContextVar<number>("v", { default: 0 });
    const seen = yield* createTask(function* () {
      const tok = v.set(1);
      yield* sleep(1);
      const inside = v.get();
      v.reset(tok);
      return [inside, v.get()];
    });
    assert.deepEqual(seen, [1, 0]);
  }));

Deno.test("tasks that never write share nothing with tasks that do", () =>
  vrun(function* () {
    const v = new ContextVar<string>("v", { default: "base" });
    const readers = [0, 1, 2].map(() =>
      createTask(function* () {
        const a = v.get();
        yield* sleep(2);
        return [a, v.get()];
      })
    );
    const writer = createTask(function* () {
      yield* sleep(1);
      v.set("writer");
      return v.get();
    });
    v.set("parent after");
    const [r, w] = [yield* gather(readers), yield* writer];
    assert.deepEqual(r, [["base", "base"], ["base", "base"], ["base", "base"]]);
    assert.equal(w, "writer");
    assert.equal(v.get(), "parent after");
  }));

// ---- tokens ------------------------------------------------------------------------

Deno.test("token misuse: another variable, used twice, another task's context, not a token", () =>
  vrun(function* () {
    const a = new ContextVar<number>("a", { default: 0 });
    const b = new ContextVar<number>("b", { default: 0 });
    const ta = a.set(1);
    assert.throws(() => b.reset(ta as unknown as Token<number>), ValueError);
    a.reset(ta);
    assert.throws(() => a.reset(ta), RuntimeError);
    assert.throws(() => a.reset({} as Token<number>), TypeError);

    const fromTask = yield* createTask(function* () {
      return a.set(5);
    });
    assert.throws(() => a.reset(fromTask), ValueError);
    assert.equal(a.get(), 0);

    // Two callbacks share no context: a token from one is foreign to the other.
    const loop = getRunningLoop();
    let tok: Token<number> | undefined;
    let err: unknown;
    loop.callSoon(() => {
      tok = a.set(7);
    });
    loop.callSoon(() => {
      try {
        a.reset(tok!);
      } catch (e) {
        err = e;
      }
    });
    yield* sleep(0);
    assert.ok(err instanceof ValueError);
  }));

Deno.test("`using` a token resets the variable when the block ends, in a coroutine too", () =>
  vrun(function* () {
    const v = new ContextVar("v", { default: "outer" });
    {
      using _t = v.set("inner");
      assert.equal(v.get(), "inner");
    }
    assert.equal(v.get(), "outer");

    const t = createTask(function* () {
      v.set("task");
      {
        using _t = v.set("scoped");
        try {
          yield* sleep(1000);
        } finally {
          assert.equal(v.get(), "scoped");
        }
      }
    });
    yield* sleep(1);
    t.cancel();
    let err: unknown;
    try {
      yield* t;
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof CancelledError);
    assert.equal(t.getContext().get(v), "task", "reset on cancellation");

    // Reset by hand, then disposal does nothing.
    const tok = v.set("x");
    v.reset(tok);
    tok[Symbol.dispose]();
    assert.equal(v.get(), "outer");
  }));

// ---- copy on write -----------------------------------------------------------------

Deno.test("copies and captured snapshots never see later changes", () =>
  vrun(function* () {
    const v = new ContextVar("v", { default: 0 });
    const loop = getRunningLoop();
    v.set(1);
    const snap = copyContext();
    const seen: number[] = [];
    loop.callSoon(() => seen.push(v.get()));
    v.set(2);
    v.set(3); // owned now: changed in place, the snapshot is untouched
    const keys = copyContext();
    const it = keys.entries();
    v.set(4);
    assert.deepEqual([...it].map(([, x]) => x), [3]);
    yield* sleep(0);
    assert.deepEqual(seen, [1]);
    assert.equal(snap.get(v), 1);
    assert.equal(v.get(), 4);
    snap.run(() => v.set(10));
    assert.equal(v.get(), 4);
    assert.equal(snap.get(v), 10);
  }));

Deno.test("Context.run restores the previous context even when fn throws", () => {
  const v = new ContextVar("v", { default: "root" });
  const ctx = new Context();
  assert.throws(() =>
    ctx.run(() => {
      v.set("inside");
      throw new Error("x");
    })
  );
  assert.equal(v.get(), "root");
  assert.equal(ctx.get(v), "inside");
  assert.throws(() => ctx.run(5 as never), TypeError);
});
