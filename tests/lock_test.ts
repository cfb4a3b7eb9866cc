// Lock behaviour, ported from CPython's test_locks.py (LockTests) where a
// counterpart exists, plus the scoped forms. Virtual clock throughout.
import { assert } from "../deps.ts";
import {
  CancelledError,
  type Coroutine,
  createTask,
  gather,
  getRunningLoop,
  Guard,
  Lock,
  RuntimeError,
  sleep,
} from "../mod.ts";
import { turn, vrun } from "./_util.ts";

/** One loop turn, like `await asyncio.sleep(0)`. */

Deno.test("test_locks::test_repr", () =>
  vrun(function* () {
    const lock = new Lock();
    assert.equal(String(lock), "<Lock [unlocked]>");
    yield* lock.acquire();
    assert.equal(String(lock), "<Lock [locked]>");
    createTask(lock.acquire());
    yield* turn();
    assert.equal(String(lock), "<Lock [locked, waiters:1]>");
  }));

Deno.test("test_locks::test_lock", () =>
  vrun(function* () {
    const lock = new Lock();
    // `await lock` is a TypeError in Python; `yield* lock` is one here.
    assert.throws(() => {
      const g = (function* () {
        yield* (lock as unknown as Iterable<undefined>);
      })();
      g.next();
    }, TypeError);
    assert.equal(lock.locked(), false);
  }));

Deno.test("test_locks::test_acquire", () =>
  vrun(function* () {
    const lock = new Lock();
    const result: number[] = [];
    assert.equal(yield* lock.acquire(), true);
    function* c(n: number): Coroutine<boolean> {
      if (yield* lock.acquire()) result.push(n);
      return true;
    }
    const t1 = createTask(c(1));
    const t2 = createTask(c(2));
    yield* turn();
    assert.deepEqual(result, []);
    lock.release();
    yield* turn();
    assert.deepEqual(result, [1]);
    yield* turn();
    assert.deepEqual(result, [1]);
    const t3 = createTask(c(3));
    lock.release();
    yield* turn();
    assert.deepEqual(result, [1, 2]);
    lock.release();
    yield* turn();
    assert.deepEqual(result, [1, 2, 3]);
    for (const t of [t1, t2, t3]) {
      assert.ok(t.done());
      assert.equal(t.result(), true);
    }
  }));

Deno.test("test_locks::test_acquire_cancel", () =>
  vrun(function* () {
    const lock = new Lock();
    assert.equal(yield* lock.acquire(), true);
    const task = createTask(lock.acquire());
    getRunningLoop().callSoon(() => task.cancel());
    let err: unknown;
    try {
      yield* task;
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof CancelledError);
    assert.equal(lock._waiters!.length, 0);
  }));

Deno.test("test_locks::test_cancel_race", () =>
  vrun(function* () {
    // A holds the lock, B and C wait. B is cancelled while A releases: the
    // release must skip B's cancelled waiter and reach C.
    const lock = new Lock();
    function* lockit(blocker: Coroutine<unknown> | null) {
      yield* lock.acquire();
      try {
        if (blocker !== null) yield* blocker;
      } finally {
        lock.release();
      }
    }
    const fa = getRunningLoop().createFuture<void>();
    const ta = createTask(lockit((function* () {
      yield* fa;
    })()));
    yield* turn();
    assert.ok(lock.locked());
    const tb = createTask(lockit(null));
    yield* turn();
    assert.equal(lock._waiters!.length, 1);
    const tc = createTask(lockit(null));
    yield* turn();
    assert.equal(lock._waiters!.length, 2);

    fa.setResult();
    tb.cancel();
    assert.ok(lock._waiters!.at(0).cancelled());
    yield* turn();
    assert.equal(lock.locked(), false);
    assert.ok(ta.done());
    assert.ok(tb.cancelled());
    yield* tc;
  }));

Deno.test("test_locks::test_cancel_release_race", () =>
  vrun(function* () {
    // Issue 32734: cancel the first waiter and release at once; exactly one
    // waiter may take the lock.
    const loop = getRunningLoop();
    const lock = new Lock();
    let lockCount = 0;
    let callCount = 0;
    function* lockit() {
      callCount++;
      yield* lock.acquire();
      lockCount++;
    }
    yield* lock.acquire();
    const t1 = createTask(lockit());
    const t2 = createTask(lockit());
    const t3 = createTask(lockit());
    yield* turn();
    loop.callSoon(() => {
      t1.cancel();
      lock.release();
    });
    yield* assertRejects(t1, CancelledError);
    assert.equal(lockCount, 1);
    assert.equal(callCount, 3);
    assert.ok(t1.cancelled() && t2.done());
    t3.cancel();
    yield* turn();
    assert.ok(t3.cancelled());
  }));

Deno.test("test_locks::test_finished_waiter_cancelled", () =>
  vrun(function* () {
    const lock = new Lock();
    yield* lock.acquire();
    assert.ok(lock.locked());
    const tb = createTask(lock.acquire());
    yield* turn();
    assert.equal(lock._waiters!.length, 1);
    // A second waiter, then wake the first and cancel it: the second must
    // not be left behind.
    const tc = createTask(lock.acquire());
    tb.cancel();
    lock.release();
    yield* turn();
    assert.ok(lock.locked());
    assert.ok(tb.cancelled());
    yield* tc;
  }));

Deno.test("test_locks::test_release_not_acquired", () => {
  const lock = new Lock();
  assert.throws(() => lock.release(), RuntimeError);
});

Deno.test("test_locks::test_release_no_waiters", () =>
  vrun(function* () {
    const lock = new Lock();
    yield* lock.acquire();
    assert.ok(lock.locked());
    lock.release();
    assert.equal(lock.locked(), false);
  }));

Deno.test("test_locks::test_context_manager", () =>
  vrun(function* () {
    const lock = new Lock();
    assert.equal(lock.locked(), false);
    yield* lock.with(function* () {
      assert.ok(lock.locked());
    });
    assert.equal(lock.locked(), false);
  }));

// ---- fairness -------------------------------------------------------------------

Deno.test("no barging: the releasing task queues behind the woken waiter", () =>
  vrun(function* () {
    const lock = new Lock();
    const order: string[] = [];
    yield* lock.acquire();
    const other = createTask(function* () {
      yield* lock.acquire();
      order.push("other");
      lock.release();
    });
    yield* turn();
    lock.release(); // wakes `other`, which has not run yet
    assert.equal(lock.locked(), false);
    yield* lock.acquire(); // must wait for `other`
    order.push("main");
    lock.release();
    yield* other;
    assert.deepEqual(order, ["other", "main"]);
  }));

Deno.test("waiters are served in FIFO order", () =>
  vrun(function* () {
    const lock = new Lock();
    const order: number[] = [];
    yield* lock.acquire();
    const tasks = [];
    for (let i = 0; i < 50; i++) {
      tasks.push(createTask(function* () {
        yield* lock.acquire();
        order.push(i);
        yield* sleep(1);
        lock.release();
      }));
    }
    yield* turn();
    lock.release();
    yield* gather(tasks);
    assert.deepEqual(order, Array.from({ length: 50 }, (_, i) => i));
  }));

Deno.test("cancelling many waiters at once never makes two holders nor loses a wake-up", () =>
  vrun(function* () {
    const lock = new Lock();
    let holders = 0;
    let maxHolders = 0;
    let completed = 0;
    yield* lock.acquire();
    const tasks = [];
    for (let i = 0; i < 30; i++) {
      tasks.push(createTask(function* () {
        yield* lock.acquire();
        holders++;
        maxHolders = Math.max(maxHolders, holders);
        yield* turn();
        holders--;
        completed++;
        lock.release();
      }));
    }
    yield* turn();
    // Cancel every third waiter, the first one included, as the lock is released.
    for (let i = 0; i < 30; i += 3) tasks[i].cancel();
    lock.release();
    yield* gather(tasks, { returnExceptions: true });
    assert.equal(maxHolders, 1);
    assert.equal(completed, 20);
    assert.equal(lock.locked(), false);
    assert.equal(lock._waiters!.length, 0);
  }));

Deno.test("a woken waiter cancelled before it runs passes the lock on", () =>
  vrun(function* () {
    const lock = new Lock();
    yield* lock.acquire();
    const a = createTask(lock.acquire());
    const b = createTask(lock.acquire());
    yield* turn();
    lock.release(); // a is woken...
    a.cancel(); // ...and cancelled before it runs
    yield* assertRejects(a, CancelledError);
    assert.equal(yield* b, true);
    assert.ok(lock.locked());
  }));

// ---- scoped forms -----------------------------------------------------------------

Deno.test("with(): releases on return, throw and cancellation", () =>
  vrun(function* () {
    const lock = new Lock();
    assert.equal(
      yield* lock.with(function* () {
        return 7;
      }),
      7,
    );
    assert.equal(lock.locked(), false);

    let caught: unknown;
    try {
      yield* lock.with(function* () {
        yield* sleep(1);
        throw new RangeError("boom");
      });
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof RangeError);
    assert.equal(lock.locked(), false);

    const t = createTask(lock.with(function* () {
      yield* sleep(1000);
    }));
    yield* sleep(1);
    assert.ok(lock.locked());
    t.cancel();
    yield* assertRejects(t, CancelledError);
    assert.equal(lock.locked(), false);
  }));

Deno.test("with(): a task cancelled while waiting to acquire does not release", () =>
  vrun(function* () {
    const lock = new Lock();
    yield* lock.acquire();
    let ran = false;
    const t = createTask(lock.with(function* () {
      ran = true;
    }));
    yield* turn();
    t.cancel();
    yield* assertRejects(t, CancelledError);
    assert.equal(ran, false);
    assert.ok(lock.locked(), "still held by main");
    lock.release();
  }));

Deno.test("with(): accepts a coroutine object; rejects anything else at the call", () =>
  vrun(function* () {
    const lock = new Lock();
    function* body() {
      return lock.locked();
    }
    assert.equal(yield* lock.with(body()), true);
    assert.throws(() => lock.with(42 as never), TypeError);
    let err: unknown;
    try {
      yield* lock.with((() => 1) as never);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof TypeError);
    assert.equal(lock.locked(), false, "released after the bad body");
  }));

Deno.test("guard(): `using` releases on block exit, throw and cancellation", () =>
  vrun(function* () {
    const lock = new Lock();
    {
      using g = yield* lock.guard();
      assert.ok(g instanceof Guard);
      assert.ok(lock.locked());
    }
    assert.equal(lock.locked(), false);

    function* failing() {
      using _g = yield* lock.guard();
      yield* sleep(1);
      throw new Error("x");
    }
    yield* assertRejects(createTask(failing()), Error);
    assert.equal(lock.locked(), false);

    function* slow() {
      using _g = yield* lock.guard();
      yield* sleep(1000);
    }
    const t = createTask(slow());
    yield* sleep(1);
    assert.ok(lock.locked());
    t.cancel();
    yield* assertRejects(t, CancelledError);
    assert.equal(lock.locked(), false);
  }));

Deno.test("guard(): release() once, then dispose is a no-op; a second release() throws", () =>
  vrun(function* () {
    const lock = new Lock();
    {
      using g = yield* lock.guard();
      g.release();
      assert.equal(g.released, true);
      assert.equal(lock.locked(), false);
      assert.throws(() => g.release(), RuntimeError);
      yield* lock.acquire(); // someone else's hold: disposal must not release it
    }
    assert.ok(lock.locked());
    lock.release();
  }));

Deno.test("guard(): `using` without yield* throws at once instead of holding nothing", () =>
  vrun(function* () {
    const lock = new Lock();
    assert.throws(() => {
      using _g = lock.guard();
    }, /yield\* x\.guard\(\)/);
    assert.equal(lock.locked(), false);
    // The coroutine itself still works as one.
    const g = yield* lock.guard();
    assert.ok(lock.locked());
    g.release();
  }));

Deno.test("a lock is bound to the first loop that waits on it", async () => {
  const lock = new Lock();
  await vrun(function* () {
    yield* lock.acquire();
    const t = createTask(lock.acquire());
    yield* turn();
    lock.release();
    yield* t;
    lock.release();
  });
  // Uncontended use needs no loop; waiting in another loop is refused.
  await vrun(function* () {
    yield* lock.acquire();
    const t = createTask(lock.acquire());
    yield* assertRejects(t, RuntimeError);
    lock.release();
  });
});

function* assertRejects(
  aw: Coroutine<unknown> | PromiseLike<unknown> & { [Symbol.iterator](): Iterator<unknown> },
  cls: abstract new (...args: never[]) => unknown,
): Coroutine<unknown> {
  try {
    yield* aw as Coroutine<unknown>;
  } catch (e) {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${e}`);
    return e;
  }
  assert.fail(`expected ${cls.name} to be thrown`);
}
