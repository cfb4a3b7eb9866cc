// Semaphore and BoundedSemaphore behaviour, ported from CPython's
// test_locks.py (SemaphoreTests), plus scoped forms and bad input.
// Virtual clock throughout.
import { assert } from "../deps.ts";
import {
  BoundedSemaphore,
  CancelledError,
  createTask,
  gather,
  getRunningLoop,
  Semaphore,
  sleep,
  type Task,
  taskGroup,
  ValueError,
  waitFor,
} from "../mod.ts";
import { caught, turn, vrun } from "./_util.ts";

Deno.test("test_locks::SemaphoreTests::test_initial_value_zero", () => {
  assert.ok(new Semaphore(0).locked());
});

Deno.test("test_locks::SemaphoreTests::test_repr", () =>
  vrun(function* () {
    const sem = new Semaphore();
    assert.equal(String(sem), "<Semaphore [unlocked, value:1]>");
    yield* sem.acquire();
    assert.equal(String(sem), "<Semaphore [locked]>");
    createTask(sem.acquire());
    createTask(sem.acquire());
    yield* turn();
    assert.equal(String(sem), "<Semaphore [locked, waiters:2]>");
    sem.release();
    sem.release();
  }));

Deno.test("test_locks::SemaphoreTests::test_semaphore", () =>
  vrun(function* () {
    const sem = new Semaphore();
    assert.equal(sem._value, 1);
    assert.throws(() => {
      (function* () {
        yield* (sem as unknown as Iterable<undefined>);
      })().next();
    }, TypeError);
    assert.equal(sem.locked(), false);
    assert.equal(sem._value, 1);
  }));

Deno.test("test_locks::SemaphoreTests::test_semaphore_value", () => {
  assert.throws(() => new Semaphore(-1), ValueError);
});

Deno.test("test_locks::SemaphoreTests::test_acquire", () =>
  vrun(function* () {
    const sem = new Semaphore(3);
    const result: number[] = [];
    assert.equal(yield* sem.acquire(), true);
    assert.equal(yield* sem.acquire(), true);
    assert.equal(sem.locked(), false);
    function* c(n: number) {
      yield* sem.acquire();
      result.push(n);
      return true;
    }
    const t1 = createTask(c(1));
    const t2 = createTask(c(2));
    const t3 = createTask(c(3));
    yield* turn();
    assert.deepEqual(result, [1]);
    assert.ok(sem.locked());
    assert.equal(sem._waiters!.length, 2);
    assert.equal(sem._value, 0);

    const t4 = createTask(c(4));
    sem.release();
    sem.release();
    assert.equal(sem._value, 0);
    yield* turn();
    assert.equal(sem._value, 0);
    assert.equal(result.length, 3);
    assert.ok(sem.locked());
    assert.equal(sem._waiters!.length, 1);
    assert.equal(sem._value, 0);

    assert.equal(t1.result(), true);
    const race = [t2, t3, t4];
    assert.equal(race.filter((t) => t.done() && t.result()).length, 2);
    sem.release();
    yield* gather(race);
  }));

Deno.test("test_locks::SemaphoreTests::test_acquire_cancel", () =>
  vrun(function* () {
    const sem = new Semaphore();
    yield* sem.acquire();
    const acquire = createTask(sem.acquire());
    getRunningLoop().callSoon(() => acquire.cancel());
    assert.ok((yield* caught(acquire)) instanceof CancelledError);
    const w = sem._waiters!;
    assert.ok(w.length === 0 || w.toArray().every((f) => f.done()));
  }));

Deno.test("test_locks::SemaphoreTests::test_acquire_cancel_before_awoken", () =>
  vrun(function* () {
    const sem = new Semaphore(0);
    const [t1, t2, t3, t4] = [1, 2, 3, 4].map(() => createTask(sem.acquire()));
    yield* turn();
    t1.cancel();
    t2.cancel();
    sem.release();
    yield* turn();
    yield* turn();
    assert.equal([t3, t4].filter((t) => t.done()).length, 1);
    assert.ok(t3.done());
    assert.equal(t4.done(), false);
    t3.cancel();
    t4.cancel();
    yield* turn();
  }));

Deno.test("test_locks::SemaphoreTests::test_acquire_hang", () =>
  vrun(function* () {
    const sem = new Semaphore(0);
    const t1 = createTask(sem.acquire());
    const t2 = createTask(sem.acquire());
    yield* turn();
    t1.cancel();
    sem.release();
    yield* turn();
    yield* turn();
    assert.ok(sem.locked());
    assert.ok(t2.done());
  }));

Deno.test("test_locks::SemaphoreTests::test_acquire_no_hang", () =>
  vrun(function* () {
    const sem = new Semaphore(1);
    const box: { t2?: Task<void> } = {};
    const t1 = createTask(function* () {
      yield* sem.with(function* () {
        yield* turn();
      });
      box.t2!.cancel();
    });
    const t2 = box.t2 = createTask(sem.with(function* () {
      assert.fail("must not get the unit");
    }));
    const [r1, r2] = yield* gather([t1, t2], { returnExceptions: true });
    assert.equal(r1, undefined);
    assert.ok(r2 instanceof CancelledError);
    // The unit t2 was handed and lost to cancellation came back.
    yield* waitFor(sem.acquire(), 1000);
  }));

Deno.test("test_locks::SemaphoreTests::test_release_not_acquired", () => {
  const sem = new BoundedSemaphore();
  assert.throws(() => sem.release(), ValueError);
});

Deno.test("test_locks::SemaphoreTests::test_release_no_waiters", () =>
  vrun(function* () {
    const sem = new Semaphore();
    yield* sem.acquire();
    assert.ok(sem.locked());
    sem.release();
    assert.equal(sem.locked(), false);
  }));

Deno.test("test_locks::SemaphoreTests::test_acquire_fifo_order", () =>
  vrun(function* () {
    const sem = new Semaphore(1);
    const result: string[] = [];
    function* coro(tag: string) {
      yield* sem.acquire();
      result.push(`${tag}_1`);
      yield* sleep(10);
      sem.release();
      yield* sem.acquire();
      result.push(`${tag}_2`);
      yield* sleep(10);
      sem.release();
    }
    yield* taskGroup(function* (tg) {
      tg.createTask(coro("c1"));
      tg.createTask(coro("c2"));
      tg.createTask(coro("c3"));
    });
    assert.deepEqual(result, ["c1_1", "c2_1", "c3_1", "c1_2", "c2_2", "c3_2"]);
  }));

Deno.test("test_locks::SemaphoreTests::test_acquire_fifo_order_2", () =>
  vrun(function* () {
    const sem = new Semaphore(1);
    const result: number[] = [];
    const t1 = createTask(function* () {
      yield* sem.acquire();
      result.push(1);
      return true;
    });
    const t2 = createTask(function* () {
      yield* sem.acquire();
      result.push(2);
      sem.release();
      yield* sem.acquire();
      result.push(4);
      return true;
    });
    const t3 = createTask(function* () {
      yield* sem.acquire();
      result.push(3);
      return true;
    });
    yield* turn();
    sem.release();
    sem.release();
    yield* gather([t1, t2, t3]);
    assert.deepEqual(result, [1, 2, 3, 4]);
  }));

Deno.test("test_locks::SemaphoreTests::test_acquire_fifo_order_3", () =>
  vrun(function* () {
    const sem = new Semaphore(0);
    const result: number[] = [];
    const tasks = [1, 2, 3].map((n) =>
      createTask(function* () {
        yield* sem.acquire();
        result.push(n);
        return true;
      })
    );
    yield* turn();
    tasks[0].cancel();
    yield* turn();
    sem.release();
    sem.release();
    yield* gather(tasks, { returnExceptions: true });
    assert.deepEqual(result, [2, 3]);
  }));

Deno.test("test_locks::SemaphoreTests::test_acquire_fifo_order_4", () =>
  vrun(function* () {
    // A successful acquire() wakes every task that queued behind it because
    // of the FIFO rule while units were free.
    const sem = new Semaphore(0);
    const result: number[] = [];
    let t4: Task<boolean> | null = null;
    function* c4() {
      result.push(4);
      return true;
    }
    const t1 = createTask(function* () {
      // Waits first; c2 wakes it.
      assert.equal(sem._value, 0);
      yield* sem.acquire();
      // Every waiting task has been woken by now.
      assert.equal(sem._value, 0);
      // A fourth task: it runs after c3, not c2.
      t4 = createTask(c4());
      result.push(1);
      return true;
    });
    const t2 = createTask(function* () {
      // Releases three units, for c1, c2 and c3.
      sem.release();
      sem.release();
      sem.release();
      assert.equal(sem._value, 2);
      // Locked: c1 has not woken up yet.
      assert.ok(sem.locked());
      yield* sem.acquire();
      result.push(2);
      return true;
    });
    const t3 = createTask(function* () {
      yield* sem.acquire();
      assert.ok(sem.locked());
      result.push(3);
      return true;
    });
    yield* turn();
    // Three tasks queue; the first has not woken yet.
    assert.equal(sem._value, 2);
    assert.equal(sem._waiters!.length, 3);
    yield* turn();
    yield* gather([t1, t2, t3, t4!]);
    assert.deepEqual(result, [1, 2, 3, 4]);
  }));

// ---- beyond CPython's suite -------------------------------------------------------

Deno.test("BoundedSemaphore: over-release is a ValueError, balanced use is fine", () =>
  vrun(function* () {
    const sem = new BoundedSemaphore(2);
    yield* sem.acquire();
    yield* sem.acquire();
    sem.release();
    sem.release();
    assert.throws(() => sem.release(), ValueError);
    assert.equal(sem._value, 2);
    yield* sem.with(function* () {
      assert.equal(sem._value, 1);
    });
    assert.equal(sem._value, 2);
  }));

Deno.test("bad initial values: TypeError for non-numbers, ValueError for negative or fractional", () => {
  assert.throws(() => new Semaphore("2" as unknown as number), TypeError);
  assert.throws(() => new Semaphore(NaN), TypeError);
  assert.throws(() => new Semaphore(1.5), ValueError);
  assert.throws(() => new BoundedSemaphore(-3), ValueError);
  assert.equal(new Semaphore()._value, 1);
});

Deno.test("with() and guard() release on return, throw and cancellation", () =>
  vrun(function* () {
    const sem = new Semaphore(1);
    assert.equal(
      yield* sem.with(function* () {
        return "r";
      }),
      "r",
    );
    assert.equal(sem._value, 1);
    assert.ok(
      (yield* caught(sem.with(function* () {
        throw new Error("x");
      }))) instanceof Error,
    );
    assert.equal(sem._value, 1);
    const t = createTask(function* () {
      using _unit = yield* sem.guard();
      yield* sleep(1000);
    });
    yield* sleep(1);
    assert.equal(sem._value, 0);
    t.cancel();
    assert.ok((yield* caught(t)) instanceof CancelledError);
    assert.equal(sem._value, 1);
    assert.equal(sem.locked(), false);
  }));

Deno.test("release hands the unit to the first live waiter; many cancelled waiters cause no hang", () =>
  vrun(function* () {
    const sem = new Semaphore(0);
    const order: number[] = [];
    const tasks = [];
    for (let i = 0; i < 40; i++) {
      tasks.push(createTask(function* () {
        yield* sem.acquire();
        order.push(i);
      }));
    }
    yield* turn();
    for (let i = 0; i < 40; i += 2) tasks[i].cancel();
    for (let i = 0; i < 20; i++) sem.release();
    yield* gather(tasks, { returnExceptions: true });
    assert.deepEqual(order, Array.from({ length: 20 }, (_, i) => 2 * i + 1));
    assert.equal(sem._value, 0);
    assert.equal(sem._waiters!.length, 0);
  }));

Deno.test("concurrency never exceeds the semaphore's value", () =>
  vrun(function* () {
    const sem = new Semaphore(3);
    let running = 0;
    let peak = 0;
    const tasks = [];
    for (let i = 0; i < 50; i++) {
      tasks.push(createTask(sem.with(function* () {
        peak = Math.max(peak, ++running);
        yield* sleep((i * 7) % 11);
        running--;
      })));
      if (i % 10 === 0) tasks[Math.floor(i / 2)].cancel();
    }
    yield* gather(tasks, { returnExceptions: true });
    assert.equal(peak, 3);
    assert.equal(sem._value, 3);
  }));
