// TaskGroup, ported from CPython 3.13's test_taskgroups.py. asyncio's
// `async with TaskGroup() as g: body` is `yield* taskGroup(function* (g) { body })`;
// `except* E` is a catch that checks the ExceptionGroup's members.
// Not ported: the KeyboardInterrupt/SystemExit/BaseException tests (no such
// classes in JavaScript), the refcycle tests (CPython's gc), eager tasks.
import { assert } from "../deps.ts";
import {
  CancelledError,
  ContextVar,
  copyContext,
  type Coroutine,
  createTask,
  currentTask,
  ExceptionGroup,
  fromPromise,
  getRunningLoop,
  RuntimeError,
  sleep,
  type Task,
  TaskGroup,
  taskGroup,
  timeout,
  TimeoutError,
} from "../mod.ts";
import { DENO_ONLY, expectError, vrun } from "./_util.ts";

class MyExc extends Error {}
class ZeroDivisionError extends Error {}

// deno-lint-ignore no-explicit-any
type ErrorClass = new (...args: any[]) => unknown;

function errorTypes(eg: ExceptionGroup): Set<unknown> {
  return new Set(eg.exceptions.map((e) => (e as object).constructor));
}

/** `except* cls:` — swallows an ExceptionGroup made only of `cls`. */
function* exceptStar(cls: ErrorClass, body: () => Coroutine<unknown>): Coroutine<ExceptionGroup> {
  const eg = yield* expectError(ExceptionGroup, body);
  for (const e of eg.exceptions) assert.ok(e instanceof cls, `unexpected ${e} in the group`);
  return eg;
}

function* zeroDivision(): Coroutine<never> {
  throw new ZeroDivisionError("division by zero");
}

Deno.test("test_taskgroups::test_taskgroup_01", async () => {
  await vrun(function* () {
    function* foo1() {
      yield* sleep(100);
      return 42;
    }
    function* foo2() {
      yield* sleep(200);
      return 11;
    }
    let t1: Task<number>, t2: Task<number>;
    yield* taskGroup(function* (g) {
      t1 = g.createTask(foo1());
      t2 = g.createTask(foo2());
    });
    assert.equal(t1!.result(), 42);
    assert.equal(t2!.result(), 11);
    assert.equal(getRunningLoop().time(), 200);
  });
});

Deno.test("test_taskgroups::test_taskgroup_02", async () => {
  await vrun(function* () {
    function* foo1() {
      yield* sleep(100);
      return 42;
    }
    function* foo2() {
      yield* sleep(200);
      return 11;
    }
    let t1: Task<number>, t2: Task<number>;
    yield* taskGroup(function* (g) {
      t1 = g.createTask(foo1());
      yield* sleep(150);
      t2 = g.createTask(foo2());
    });
    assert.equal(t1!.result(), 42);
    assert.equal(t2!.result(), 11);
  });
});

Deno.test("test_taskgroups::test_taskgroup_03", async () => {
  await vrun(function* () {
    function* foo1() {
      yield* sleep(1000);
      return 42;
    }
    function* foo2() {
      yield* sleep(200);
      return 11;
    }
    let t1: Task<number>, t2: Task<number>;
    yield* taskGroup(function* (g) {
      t1 = g.createTask(foo1());
      yield* sleep(150);
      // cancel t1 explicitly, i.e. everything should continue working as expected.
      t1.cancel();
      t2 = g.createTask(foo2());
    });
    assert.ok(t1!.cancelled());
    assert.equal(t2!.result(), 11);
  });
});

Deno.test("test_taskgroups::test_taskgroup_04", async () => {
  await vrun(function* () {
    let NUM = 0;
    let t2Cancel = false;
    let t2: Task<void>;
    function* foo1() {
      yield* sleep(100);
      yield* zeroDivision();
    }
    function* foo2() {
      try {
        yield* sleep(1000);
      } catch (e) {
        if (e instanceof CancelledError) t2Cancel = true;
        throw e;
      }
      NUM += 1;
    }
    function* runner() {
      yield* taskGroup(function* (g) {
        g.createTask(foo1());
        t2 = g.createTask(foo2());
      });
      NUM += 10;
    }
    const eg = yield* expectError(ExceptionGroup, () => createTask(runner()));
    assert.deepEqual(errorTypes(eg), new Set([ZeroDivisionError]));
    assert.equal(NUM, 0);
    assert.ok(t2Cancel);
    assert.ok(t2!.cancelled());
  });
});

Deno.test("test_taskgroups::test_cancel_children_on_child_error", async () => {
  await vrun(function* () {
    // When a child task raises an error, the rest of the children are
    // cancelled and the errors are gathered into an EG.
    let NUM = 0;
    let t2Cancel = false;
    let runnerCancel = false;
    function* foo1() {
      yield* sleep(100);
      yield* zeroDivision();
    }
    function* foo2() {
      try {
        yield* sleep(5000);
      } catch (e) {
        if (e instanceof CancelledError) t2Cancel = true;
        throw e;
      }
      NUM += 1;
    }
    function* runner() {
      yield* taskGroup(function* (g) {
        g.createTask(foo1());
        g.createTask(foo1());
        g.createTask(foo1());
        g.createTask(foo2());
        try {
          yield* sleep(10_000);
        } catch (e) {
          if (e instanceof CancelledError) runnerCancel = true;
          throw e;
        }
      });
      NUM += 10;
    }
    const eg = yield* expectError(ExceptionGroup, () => createTask(runner()));
    assert.deepEqual(errorTypes(eg), new Set([ZeroDivisionError]));
    // The three failures are due in the same iteration: all are collected.
    assert.equal(eg.exceptions.length, 3);
    assert.equal(NUM, 0);
    assert.ok(t2Cancel);
    assert.ok(runnerCancel);
  });
});

Deno.test("test_taskgroups::test_cancellation", async () => {
  await vrun(function* () {
    let NUM = 0;
    function* foo() {
      try {
        yield* sleep(5000);
      } catch (e) {
        if (e instanceof CancelledError) NUM += 1;
        throw e;
      }
    }
    function* runner() {
      yield* taskGroup(function* (g) {
        for (let i = 0; i < 5; i++) g.createTask(foo());
      });
    }
    const r = createTask(runner());
    yield* sleep(100);
    assert.equal(r.done(), false);
    r.cancel("test");
    const e = yield* expectError(CancelledError, () => r);
    assert.equal(e.message, "test");
    assert.equal(NUM, 5);
  });
});

Deno.test("test_taskgroups::test_taskgroup_07", async () => {
  await vrun(function* () {
    let NUM = 0;
    function* foo() {
      try {
        yield* sleep(5000);
      } catch (e) {
        if (e instanceof CancelledError) NUM += 1;
        throw e;
      }
    }
    function* runner() {
      yield* taskGroup(function* (g) {
        for (let i = 0; i < 5; i++) g.createTask(foo());
        try {
          yield* sleep(10_000);
        } catch (e) {
          if (e instanceof CancelledError) NUM += 10;
          throw e;
        }
      });
    }
    const r = createTask(runner());
    yield* sleep(100);
    assert.equal(r.done(), false);
    r.cancel();
    yield* expectError(CancelledError, () => r);
    assert.equal(NUM, 15);
  });
});

Deno.test("test_taskgroups::test_taskgroup_08", async () => {
  await vrun(function* () {
    function* foo() {
      try {
        yield* sleep(10_000);
      } finally {
        yield* zeroDivision();
      }
    }
    function* runner() {
      yield* taskGroup(function* (g) {
        for (let i = 0; i < 5; i++) g.createTask(foo());
        yield* sleep(10_000);
      });
    }
    const r = createTask(runner());
    yield* sleep(100);
    assert.equal(r.done(), false);
    r.cancel();
    const eg = yield* expectError(ExceptionGroup, () => r);
    assert.deepEqual(errorTypes(eg), new Set([ZeroDivisionError]));
  });
});

Deno.test("test_taskgroups::test_taskgroup_09", async () => {
  await vrun(function* () {
    let t1: Task<number>, t2: Task<number>;
    function* foo1() {
      yield* sleep(1000);
      return 42;
    }
    function* foo2() {
      yield* sleep(2000);
      return 11;
    }
    function* runner() {
      yield* taskGroup(function* (g) {
        t1 = g.createTask(foo1());
        t2 = g.createTask(foo2());
        yield* sleep(100);
        yield* zeroDivision();
      });
    }
    const eg = yield* expectError(ExceptionGroup, () => runner());
    assert.deepEqual(errorTypes(eg), new Set([ZeroDivisionError]));
    assert.ok(t1!.cancelled());
    assert.ok(t2!.cancelled());
  });
});

Deno.test("test_taskgroups::test_taskgroup_10", async () => {
  await vrun(function* () {
    let t1: Task<number>, t2: Task<number>;
    function* foo1() {
      yield* sleep(1000);
      return 42;
    }
    function* foo2() {
      yield* sleep(2000);
      return 11;
    }
    function* runner() {
      yield* taskGroup(function* (g) {
        t1 = g.createTask(foo1());
        t2 = g.createTask(foo2());
        yield* zeroDivision();
      });
    }
    const eg = yield* expectError(ExceptionGroup, () => runner());
    assert.deepEqual(errorTypes(eg), new Set([ZeroDivisionError]));
    assert.ok(t1!.cancelled());
    assert.ok(t2!.cancelled());
  });
});

Deno.test("test_taskgroups::test_taskgroup_11", async () => {
  await vrun(function* () {
    function* foo() {
      try {
        yield* sleep(10_000);
      } finally {
        yield* zeroDivision();
      }
    }
    function* runner() {
      yield* taskGroup(function* () {
        yield* taskGroup(function* (g2) {
          for (let i = 0; i < 5; i++) g2.createTask(foo());
          yield* sleep(10_000);
        });
      });
    }
    const r = createTask(runner());
    yield* sleep(100);
    assert.equal(r.done(), false);
    r.cancel();
    const eg = yield* expectError(ExceptionGroup, () => r);
    assert.deepEqual(errorTypes(eg), new Set([ExceptionGroup]));
    assert.deepEqual(
      errorTypes(eg.exceptions[0] as ExceptionGroup),
      new Set([ZeroDivisionError]),
    );
  });
});

Deno.test("test_taskgroups::test_taskgroup_12", async () => {
  await vrun(function* () {
    function* foo() {
      try {
        yield* sleep(10_000);
      } finally {
        yield* zeroDivision();
      }
    }
    function* runner() {
      yield* taskGroup(function* (g1) {
        g1.createTask(sleep(10_000));
        yield* taskGroup(function* (g2) {
          for (let i = 0; i < 5; i++) g2.createTask(foo());
          yield* sleep(10_000);
        });
      });
    }
    const r = createTask(runner());
    yield* sleep(100);
    assert.equal(r.done(), false);
    r.cancel();
    const eg = yield* expectError(ExceptionGroup, () => r);
    assert.deepEqual(errorTypes(eg), new Set([ExceptionGroup]));
    assert.deepEqual(
      errorTypes(eg.exceptions[0] as ExceptionGroup),
      new Set([ZeroDivisionError]),
    );
  });
});

function* crashAfter(t: number): Coroutine<never> {
  yield* sleep(t);
  throw new RangeError(String(t));
}

Deno.test("test_taskgroups::test_taskgroup_13", async () => {
  await vrun(function* () {
    function* runner() {
      yield* taskGroup(function* (g1) {
        g1.createTask(crashAfter(100));
        yield* taskGroup(function* (g2) {
          g2.createTask(crashAfter(10_000));
        });
      });
    }
    const eg = yield* expectError(ExceptionGroup, () => createTask(runner()));
    assert.deepEqual(errorTypes(eg), new Set([RangeError]));
  });
});

Deno.test("test_taskgroups::test_taskgroup_14", async () => {
  await vrun(function* () {
    function* runner() {
      yield* taskGroup(function* (g1) {
        g1.createTask(crashAfter(10_000));
        yield* taskGroup(function* (g2) {
          g2.createTask(crashAfter(100));
        });
      });
    }
    const eg = yield* expectError(ExceptionGroup, () => createTask(runner()));
    assert.deepEqual(errorTypes(eg), new Set([ExceptionGroup]));
    assert.deepEqual(errorTypes(eg.exceptions[0] as ExceptionGroup), new Set([RangeError]));
  });
});

function* crashSoon(ms = 300): Coroutine<never> {
  yield* sleep(ms);
  yield* zeroDivision();
  throw new Error("unreachable");
}

Deno.test("test_taskgroups::test_taskgroup_15", async () => {
  await vrun(function* () {
    function* runner() {
      yield* taskGroup(function* (g1) {
        g1.createTask(crashSoon());
        try {
          yield* sleep(10_000);
        } catch (e) {
          if (e instanceof CancelledError) yield* sleep(500);
          throw e;
        }
      });
    }
    const r = createTask(runner());
    yield* sleep(100);
    assert.equal(r.done(), false);
    r.cancel();
    const eg = yield* expectError(ExceptionGroup, () => r);
    assert.deepEqual(errorTypes(eg), new Set([ZeroDivisionError]));
  });
});

Deno.test("test_taskgroups::test_taskgroup_16", async () => {
  await vrun(function* () {
    function* nestedRunner() {
      yield* taskGroup(function* (g1) {
        g1.createTask(crashSoon());
        try {
          yield* sleep(10_000);
        } catch (e) {
          if (e instanceof CancelledError) yield* sleep(500);
          throw e;
        }
      });
    }
    function* runner() {
      const t = createTask(nestedRunner());
      yield* t;
    }
    const r = createTask(runner());
    yield* sleep(100);
    assert.equal(r.done(), false);
    r.cancel();
    const eg = yield* expectError(ExceptionGroup, () => r);
    assert.deepEqual(errorTypes(eg), new Set([ZeroDivisionError]));
  });
});

Deno.test("test_taskgroups::test_taskgroup_17", async () => {
  await vrun(function* () {
    let NUM = 0;
    function* runner() {
      yield* taskGroup(function* () {
        try {
          yield* sleep(10_000);
        } catch (e) {
          if (e instanceof CancelledError) NUM += 10;
          throw e;
        }
      });
    }
    const r = createTask(runner());
    yield* sleep(100);
    assert.equal(r.done(), false);
    r.cancel();
    yield* expectError(CancelledError, () => r);
    assert.equal(NUM, 10);
  });
});

Deno.test("test_taskgroups::test_taskgroup_18", async () => {
  await vrun(function* () {
    let NUM = 0;
    function* runner() {
      yield* taskGroup(function* () {
        try {
          yield* sleep(10_000);
        } catch (e) {
          if (e instanceof CancelledError) {
            NUM += 10;
            // This isn't a good idea, but we have to support this weird case.
            throw new MyExc();
          }
          throw e;
        }
      });
    }
    const r = createTask(runner());
    yield* sleep(100);
    assert.equal(r.done(), false);
    r.cancel();
    const eg = yield* expectError(ExceptionGroup, () => r);
    assert.deepEqual(errorTypes(eg), new Set([MyExc]));
    assert.equal(NUM, 10);
  });
});

Deno.test("test_taskgroups::test_taskgroup_19", async () => {
  await vrun(function* () {
    function* nested() {
      try {
        yield* sleep(10_000);
      } finally {
        // deno-lint-ignore no-unsafe-finally
        throw new MyExc();
      }
    }
    function* runner() {
      yield* taskGroup(function* (g) {
        g.createTask(crashSoon(100));
        yield* nested();
      });
    }
    const eg = yield* expectError(ExceptionGroup, () => createTask(runner()));
    assert.deepEqual(errorTypes(eg), new Set([MyExc, ZeroDivisionError]));
    // Children in completion order, the body's error last.
    assert.ok(eg.exceptions[0] instanceof ZeroDivisionError);
    assert.ok(eg.exceptions[1] instanceof MyExc);
  });
});

Deno.test("test_taskgroups::test_taskgroup_22", async () => {
  await vrun(function* () {
    function* foo1() {
      yield* sleep(1000);
      return 42;
    }
    function* foo2() {
      yield* sleep(2000);
      return 11;
    }
    function* runner() {
      yield* taskGroup(function* (g) {
        g.createTask(foo1());
        g.createTask(foo2());
      });
    }
    const r = createTask(runner());
    yield* sleep(50);
    r.cancel();
    yield* expectError(CancelledError, () => r);
  });
});

Deno.test("test_taskgroups::test_taskgroup_23", async () => {
  await vrun(function* () {
    function* doJob(delay: number) {
      yield* sleep(delay);
    }
    yield* taskGroup(function* (g) {
      for (let count = 0; count < 10; count++) {
        yield* sleep(100);
        g.createTask(doJob(300));
        if (count === 5) assert.ok(g._tasks.size < 5);
      }
      yield* sleep(1350);
      assert.equal(g._tasks.size, 0);
    });
  });
});

Deno.test("test_taskgroups::test_taskgroup_24", async () => {
  await vrun(function* () {
    function* coro1(delay: number) {
      yield* sleep(delay);
    }
    function* root(g: TaskGroup) {
      yield* sleep(100);
      g.createTask(coro1(100));
      g.createTask(coro1(200));
    }
    yield* taskGroup(function* (g) {
      g.createTask(root(g));
    });
    assert.equal(getRunningLoop().time(), 300);
  });
});

Deno.test("test_taskgroups::test_taskgroup_25", async () => {
  await vrun(function* () {
    let nhydras = 0;
    function* hydra(g: TaskGroup): Coroutine<void> {
      nhydras += 1;
      yield* sleep(10);
      g.createTask(hydra(g));
      g.createTask(hydra(g));
    }
    function* hercules() {
      while (nhydras < 10) yield* sleep(15);
      yield* zeroDivision();
    }
    const eg = yield* expectError(ExceptionGroup, () =>
      taskGroup(function* (g) {
        g.createTask(hydra(g));
        g.createTask(hercules());
      }));
    assert.deepEqual(errorTypes(eg), new Set([ZeroDivisionError]));
    assert.ok(nhydras >= 10);
  });
});

Deno.test("test_taskgroups::test_taskgroup_task_name", async () => {
  await vrun(function* () {
    yield* taskGroup(function* (g) {
      const t = g.createTask(sleep(0), { name: "yolo" });
      assert.equal(t.getName(), "yolo");
    });
  });
});

Deno.test("test_taskgroups::test_taskgroup_task_context", async () => {
  await vrun(function* () {
    const cvar = new ContextVar<number>("cvar");
    function* coro(val: number) {
      yield* sleep(0);
      cvar.set(val);
    }
    yield* taskGroup(function* (g) {
      const ctx = copyContext();
      assert.equal(ctx.get(cvar), undefined);
      const t1 = g.createTask(coro(1), { context: ctx });
      yield* t1;
      assert.equal(ctx.get(cvar), 1);
      const t2 = g.createTask(coro(2), { context: ctx });
      yield* t2;
      assert.equal(ctx.get(cvar), 2);
    });
  });
});

Deno.test("test_taskgroups::test_taskgroup_no_create_task_after_failure", async () => {
  await vrun(function* () {
    function* coro1() {
      yield* sleep(1);
      yield* zeroDivision();
    }
    function* coro2(g: TaskGroup) {
      try {
        yield* sleep(1000);
      } catch (e) {
        if (!(e instanceof CancelledError)) throw e;
        assert.throws(() => g.createTask(coro1()), {
          name: "RuntimeError",
          message: /shutting down/,
        });
      }
    }
    const eg = yield* expectError(ExceptionGroup, () =>
      taskGroup(function* (g) {
        g.createTask(coro1());
        g.createTask(coro2(g));
      }));
    assert.deepEqual(errorTypes(eg), new Set([ZeroDivisionError]));
  });
});

Deno.test("test_taskgroups::test_taskgroup_context_manager_exit_raises", async () => {
  await vrun(function* () {
    class CustomException extends Error {}
    function* raiseExc(): Coroutine<never> {
      throw new CustomException();
    }
    // An inner scope whose cleanup raises (an asynccontextmanager in the original).
    function* database(body: () => Coroutine<void>) {
      try {
        yield* body();
      } finally {
        // deno-lint-ignore no-unsafe-finally
        throw new CustomException();
      }
    }
    function* main() {
      const task = currentTask()!;
      const eg = yield* exceptStar(CustomException, () =>
        taskGroup(function* (tg) {
          yield* database(function* () {
            tg.createTask(raiseExc());
            yield* sleep(1000);
          });
        }));
      assert.equal(task.cancelling(), 0);
      assert.equal(eg.exceptions.length, 2);
    }
    yield* createTask(main());
  });
});

Deno.test("test_taskgroups::test_taskgroup_already_entered", async () => {
  await vrun(function* () {
    const tg = new TaskGroup();
    yield* tg.run(function* () {
      const e = yield* expectError(RuntimeError, () => tg.run(function* () {}));
      assert.match(e.message, /has already been entered/);
    });
  });
});

Deno.test("test_taskgroups::test_taskgroup_double_enter", async () => {
  await vrun(function* () {
    const tg = new TaskGroup();
    yield* tg.run(function* () {});
    const e = yield* expectError(RuntimeError, () => tg.run(function* () {}));
    assert.match(e.message, /has already been entered/);
  });
});

Deno.test("test_taskgroups::test_taskgroup_finished", async () => {
  await vrun(function* () {
    const tg = new TaskGroup();
    yield* tg.run(function* () {});
    assert.throws(() => tg.createTask(sleep(0)), { name: "RuntimeError", message: /is finished/ });
  });
});

Deno.test("test_taskgroups::test_taskgroup_not_entered", () => {
  const tg = new TaskGroup();
  assert.throws(() => tg.createTask(sleep(0)), {
    name: "RuntimeError",
    message: /has not been entered/,
  });
});

Deno.test("test_taskgroups::test_taskgroup_without_parent_task", async () => {
  await vrun(function* () {
    const loop = getRunningLoop();
    const tg = new TaskGroup();
    const fut = loop.createFuture<unknown>();
    // Drive the group from a plain callback: there is no parent task.
    loop.callSoon(() => {
      try {
        tg.run(function* () {}).next();
        fut.setResult(null);
      } catch (e) {
        fut.setResult(e);
      }
    });
    const err = yield* fut;
    assert.ok(err instanceof RuntimeError);
    assert.match(err.message, /parent task/);
    assert.throws(() => tg.createTask(sleep(0)), { message: /has not been entered/ });
  });
});

Deno.test("test_taskgroups::test_coro_closed_when_tg_closed", async () => {
  await vrun(function* () {
    let tg: TaskGroup;
    yield* taskGroup(function* (g) {
      tg = g;
    });
    assert.throws(() => tg!.createTask(sleep(0)), { message: /is finished/ });
  });
});

Deno.test("test_taskgroups::test_cancelling_level_preserved", async () => {
  await vrun(function* () {
    function* raiseAfter(t: number, e: ErrorClass): Coroutine<never> {
      yield* sleep(t);
      throw new (e as new () => Error)();
    }
    yield* exceptStar(RuntimeError, () =>
      taskGroup(function* (tg) {
        tg.createTask(raiseAfter(0, RuntimeError));
      }));
    assert.equal(currentTask()!.cancelling(), 0);
  });
});

Deno.test("test_taskgroups::test_nested_groups_both_cancelled", async () => {
  await vrun(function* () {
    function* raiseAfter(t: number, e: ErrorClass): Coroutine<never> {
      yield* sleep(t);
      throw new (e as new () => Error)();
    }
    yield* exceptStar(RangeError, () =>
      taskGroup(function* (outerTg) {
        yield* exceptStar(RuntimeError, () =>
          taskGroup(function* (innerTg) {
            innerTg.createTask(raiseAfter(0, RuntimeError));
            outerTg.createTask(raiseAfter(0, RangeError));
          }));
        assert.equal(currentTask()!.cancelling(), 1);
      }));
    assert.equal(currentTask()!.cancelling(), 0);
  });
});

Deno.test("test_taskgroups::test_error_and_cancel", async () => {
  await vrun(function* () {
    const event = getRunningLoop().createFuture<void>();
    function* raiseError() {
      event.setResult();
      yield* sleep(0);
      throw new RuntimeError();
    }
    function* inner() {
      yield* exceptStar(RuntimeError, () =>
        taskGroup(function* (tg) {
          tg.createTask(raiseError());
          yield* sleep(1000);
          assert.fail("Sleep in group should have been cancelled");
        }));
      assert.equal(currentTask()!.cancelling(), 1);
      yield* sleep(1000);
      assert.fail("Sleep after group should have been cancelled");
    }
    const t = createTask(inner());
    yield* event;
    assert.equal(t.cancelling(), 0);
    t.cancel();
    assert.equal(t.cancelling(), 1);
    yield* expectError(CancelledError, () => t);
    assert.ok(t.cancelled());
  });
});

Deno.test("test_taskgroups::test_name", async () => {
  await vrun(function* () {
    let name: string | null = null;
    function* asyncfn() {
      name = currentTask()!.getName();
    }
    yield* taskGroup(function* (tg) {
      tg.createTask(asyncfn(), { name: "example name" });
    });
    assert.equal(name, "example name");
  });
});

Deno.test("test_taskgroups::test_cancels_task_if_created_during_creation", async () => {
  await vrun(function* () {
    // regression test for gh-128550
    let ran = false;
    const eg = yield* exceptStar(MyExc, () =>
      taskGroup(function* (tg) {
        function* thirdTask(): Coroutine<never> {
          throw new MyExc("third task failed");
        }
        function* secondTask() {
          tg.createTask(thirdTask());
          yield* expectError(CancelledError, function* () {
            yield* sleep(0); // eager tasks cancel here
            yield* sleep(0); // lazy tasks cancel here
          });
          ran = true;
        }
        tg.createTask(secondTask());
      }));
    assert.ok(ran);
    assert.ok(eg.exceptions[0] instanceof MyExc);
  });
});

Deno.test("test_taskgroups::test_cancellation_does_not_leak_out_of_tg", async () => {
  await vrun(function* () {
    function* throwError(): Coroutine<never> {
      throw new MyExc();
    }
    yield* exceptStar(MyExc, () =>
      taskGroup(function* (tg) {
        tg.createTask(throwError());
      }));
    // If the group leaked its cancellation, this would be cancelled.
    yield* sleep(0);
    assert.equal(currentTask()!.cancelling(), 0);
  });
});

Deno.test("taskGroup: the body's result, typed; a timeout scope around a group", async () => {
  await vrun(function* () {
    const n: number = yield* taskGroup(function* (tg) {
      const a = tg.createTask(sleep(10, 20));
      const b = tg.createTask(sleep(20, 22));
      return (yield* a) + (yield* b);
    });
    assert.equal(n, 42);
    const e = yield* expectError(TimeoutError, () =>
      timeout(100, function* () {
        yield* taskGroup(function* (tg) {
          tg.createTask(sleep(10_000));
          tg.createTask(sleep(20_000));
        });
      }));
    assert.ok(e.cause instanceof CancelledError);
    assert.equal(getRunningLoop().time(), 120);
    assert.equal(currentTask()!.cancelling(), 0);
  });
});

Deno.test("taskGroup: a rejected fromPromise child fails the group like any other", async () => {
  await vrun(function* () {
    let otherCancelled = false;
    const eg = yield* expectError(ExceptionGroup, () =>
      taskGroup(function* (tg) {
        tg.createTask(function* () {
          return yield* fromPromise(Promise.reject(new RangeError("rejected")));
        });
        tg.createTask(function* () {
          try {
            yield* sleep(10_000);
          } catch (e) {
            otherCancelled = e instanceof CancelledError;
            throw e;
          }
        });
      }));
    assert.equal((eg.exceptions[0] as Error).message, "rejected");
    assert.ok(otherCancelled);
  });
});

Deno.test("taskGroup: bad input, repr", DENO_ONLY, async () => {
  await vrun(function* () {
    assert.throws(() => taskGroup(42 as never), /taskGroup\(\) expects .* got 42/);
    // A body that is not a coroutine function fails like any body error.
    const eg = yield* expectError(ExceptionGroup, () => taskGroup((() => 42) as never));
    assert.match(String(eg.exceptions[0]), /TypeError: .* returned 42/);
    yield* taskGroup(function* (tg) {
      assert.equal(String(tg), "<TaskGroup entered>");
      tg.createTask(sleep(10));
      assert.equal(Deno.inspect(tg), "<TaskGroup tasks=1 entered>");
      assert.throws(() => tg.createTask(42 as never), TypeError);
    });
  });
});

Deno.test("taskGroup: 10 000 children in linear time, one shared callback", async () => {
  await vrun(function* () {
    const t0 = performance.now();
    let sum = 0;
    yield* taskGroup(function* (tg) {
      for (let i = 0; i < 10_000; i++) {
        tg.createTask(function* () {
          yield* sleep(i % 13);
          sum += 1;
        });
      }
    });
    assert.equal(sum, 10_000);
    assert.ok(performance.now() - t0 < 2000);
  });
});
