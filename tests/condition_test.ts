// Condition behaviour, ported from CPython's test_locks.py (ConditionTests),
// plus the scoped forms and bad input. Virtual clock throughout.
import { assert } from "../deps.ts";
import {
  CancelledError,
  Condition,
  type Coroutine,
  createTask,
  getRunningLoop,
  Lock,
  RuntimeError,
  sleep,
  timeout,
  TimeoutError,
  ValueError,
  waitFor,
} from "../mod.ts";
import { caught, turn, vrun } from "./_util.ts";

/** c1..c3 of test_wait / test_notify: wait once, record `n`, maybe release. */
function waiter(cond: Condition, result: number[], n: number, release: boolean) {
  return function* (): Coroutine<boolean> {
    yield* cond.acquire();
    if (yield* cond.wait()) {
      result.push(n);
      if (release) cond.release();
    }
    return true;
  };
}

Deno.test("test_locks::ConditionTests::test_wait", () =>
  vrun(function* () {
    const cond = new Condition();
    const result: number[] = [];
    const t1 = createTask(waiter(cond, result, 1, false));
    const t2 = createTask(waiter(cond, result, 2, false));
    const t3 = createTask(waiter(cond, result, 3, false));
    yield* turn();
    assert.deepEqual(result, []);
    assert.equal(cond.locked(), false);

    assert.equal(yield* cond.acquire(), true);
    cond.notify();
    yield* turn();
    assert.deepEqual(result, []);
    assert.ok(cond.locked());

    cond.release();
    yield* turn();
    assert.deepEqual(result, [1]);
    assert.ok(cond.locked());

    cond.notify(2);
    yield* turn();
    assert.deepEqual(result, [1]);
    assert.ok(cond.locked());

    cond.release();
    yield* turn();
    assert.deepEqual(result, [1, 2]);
    assert.ok(cond.locked());

    cond.release();
    yield* turn();
    assert.deepEqual(result, [1, 2, 3]);
    assert.ok(cond.locked());

    for (const t of [t1, t2, t3]) assert.equal(t.result(), true);
  }));

Deno.test("test_locks::ConditionTests::test_wait_cancel", () =>
  vrun(function* () {
    const cond = new Condition();
    yield* cond.acquire();
    const wait = createTask(cond.wait());
    getRunningLoop().callSoon(() => wait.cancel());
    assert.ok((yield* caught(wait)) instanceof CancelledError);
    assert.equal(cond._waiters.length, 0);
    assert.ok(cond.locked());
  }));

Deno.test("test_locks::ConditionTests::test_wait_cancel_contested", () =>
  vrun(function* () {
    const cond = new Condition();
    yield* cond.acquire();
    assert.ok(cond.locked());
    const waitTask = createTask(cond.wait());
    yield* turn();
    assert.equal(cond.locked(), false);
    // Notify, but contest the lock before cancelling.
    yield* cond.acquire();
    assert.ok(cond.locked());
    cond.notify();
    getRunningLoop().callSoon(() => waitTask.cancel());
    getRunningLoop().callSoon(() => cond.release());
    const e = yield* caught(waitTask);
    assert.ok(e === undefined || e instanceof CancelledError);
    assert.ok(cond.locked(), "the cancelled waiter still re-acquired the lock");
  }));

Deno.test("test_locks::ConditionTests::test_wait_cancel_after_notify", () =>
  vrun(function* () {
    // bpo-32841
    let waited = false;
    const cond = new Condition();
    const w = createTask(cond.with(function* () {
      waited = true;
      yield* cond.wait();
    }));
    yield* turn(); // start waiting
    yield* cond.acquire();
    cond.notify();
    yield* turn(); // get to acquire()
    w.cancel();
    yield* turn(); // activate cancellation
    cond.release();
    yield* turn(); // cancellation should occur
    assert.ok(w.cancelled());
    assert.ok(waited);
  }));

Deno.test("test_locks::ConditionTests::test_wait_unacquired", () =>
  vrun(function* () {
    const cond = new Condition();
    assert.ok((yield* caught(cond.wait())) instanceof RuntimeError);
  }));

Deno.test("test_locks::ConditionTests::test_wait_for", () =>
  vrun(function* () {
    const cond = new Condition();
    let presult = false;
    const result: number[] = [];
    const t = createTask(function* () {
      yield* cond.acquire();
      if (yield* cond.waitFor(() => presult)) {
        result.push(1);
        cond.release();
      }
      return true;
    });
    yield* turn();
    assert.deepEqual(result, []);

    yield* cond.acquire();
    cond.notify();
    cond.release();
    yield* turn();
    assert.deepEqual(result, []);

    presult = true;
    yield* cond.acquire();
    cond.notify();
    cond.release();
    yield* turn();
    assert.deepEqual(result, [1]);
    assert.equal(t.result(), true);
  }));

Deno.test("test_locks::ConditionTests::test_wait_for_unacquired", () =>
  vrun(function* () {
    const cond = new Condition();
    // The predicate may be true at once: no lock needed then.
    assert.deepEqual(yield* cond.waitFor(() => [1, 2, 3]), [1, 2, 3]);
    assert.ok((yield* caught(cond.waitFor(() => false))) instanceof RuntimeError);
  }));

Deno.test("test_locks::ConditionTests::test_notify", () =>
  vrun(function* () {
    const cond = new Condition();
    const result: number[] = [];
    const t1 = createTask(waiter(cond, result, 1, true));
    const t2 = createTask(waiter(cond, result, 2, true));
    const t3 = createTask(waiter(cond, result, 3, true));
    yield* turn();
    assert.deepEqual(result, []);

    yield* cond.acquire();
    cond.notify(1);
    cond.release();
    yield* turn();
    assert.deepEqual(result, [1]);

    yield* cond.acquire();
    cond.notify(1);
    cond.notify(2048);
    cond.release();
    yield* turn();
    assert.deepEqual(result, [1, 2, 3]);
    for (const t of [t1, t2, t3]) assert.equal(t.result(), true);
  }));

Deno.test("test_locks::ConditionTests::test_notify_all", () =>
  vrun(function* () {
    const cond = new Condition();
    const result: number[] = [];
    const t1 = createTask(waiter(cond, result, 1, true));
    const t2 = createTask(waiter(cond, result, 2, true));
    yield* turn();
    assert.deepEqual(result, []);
    yield* cond.acquire();
    cond.notifyAll();
    cond.release();
    yield* turn();
    assert.deepEqual(result, [1, 2]);
    assert.equal(t1.result(), true);
    assert.equal(t2.result(), true);
  }));

Deno.test("test_locks::ConditionTests::test_notify_unacquired", () => {
  assert.throws(() => new Condition().notify(), RuntimeError);
});

Deno.test("test_locks::ConditionTests::test_notify_all_unacquired", () => {
  assert.throws(() => new Condition().notifyAll(), RuntimeError);
});

Deno.test("test_locks::ConditionTests::test_repr", () =>
  vrun(function* () {
    const cond = new Condition();
    assert.equal(String(cond), "<Condition [unlocked]>");
    yield* cond.acquire();
    assert.equal(String(cond), "<Condition [locked]>");
    cond.release();
    const waiters = [1, 2].map(() =>
      createTask(cond.with(function* () {
        yield* cond.wait();
      }))
    );
    yield* turn();
    assert.equal(String(cond), "<Condition [unlocked, waiters:2]>");
    yield* cond.with(function* () {
      assert.equal(String(cond), "<Condition [locked, waiters:2]>");
      cond.notifyAll();
    });
    for (const t of waiters) yield* t;
  }));

Deno.test("test_locks::ConditionTests::test_context_manager", () =>
  vrun(function* () {
    const cond = new Condition();
    assert.equal(cond.locked(), false);
    yield* cond.with(function* () {
      assert.ok(cond.locked());
    });
    assert.equal(cond.locked(), false);
  }));

Deno.test("test_locks::ConditionTests::test_explicit_lock", () =>
  vrun(function* () {
    function* f(lock?: Lock, cond?: Condition) {
      lock ??= new Lock();
      cond ??= new Condition(lock);
      assert.equal(cond._lock, lock);
      assert.equal(lock.locked(), false);
      assert.equal(cond.locked(), false);
      yield* cond.with(function* () {
        assert.ok(lock.locked());
        assert.ok(cond.locked());
      });
      assert.equal(lock.locked(), false);
      assert.equal(cond.locked(), false);
      yield* lock.with(function* () {
        assert.ok(lock.locked());
        assert.ok(cond.locked());
      });
      assert.equal(lock.locked(), false);
      assert.equal(cond.locked(), false);
    }
    yield* f();
    yield* f(new Lock());
    const lock = new Lock();
    yield* f(lock, new Condition(lock));
  }));

Deno.test("test_locks::ConditionTests::test_ambiguous_loops", async () => {
  const other = await vrun(function* () {
    return getRunningLoop();
  });
  await vrun(function* () {
    // The lock belongs to another loop: waiting on it through the condition fails.
    const lock = new Lock();
    lock._loop = other;
    yield* lock.with(function* () {
      const cond = new Condition(lock);
      const e = yield* caught(cond.acquire());
      assert.ok(e instanceof RuntimeError);
      assert.match((e as Error).message, /is bound to a different event loop/);
    });
    // The condition belongs to another loop: wait() fails.
    const lock2 = new Lock();
    yield* lock2.with(function* () {
      const cond = new Condition(lock2);
      cond._loop = other;
      const e = yield* caught(cond.wait());
      assert.ok(e instanceof RuntimeError);
      assert.match((e as Error).message, /is bound to a different event loop/);
    });
  });
});

Deno.test("test_locks::ConditionTests::test_timeout_in_block", () =>
  vrun(function* () {
    const cond = new Condition();
    yield* cond.with(function* () {
      assert.ok((yield* caught(waitFor(cond.wait(), 500))) instanceof TimeoutError);
      assert.ok(cond.locked(), "wait() re-acquired the lock before the timeout surfaced");
    });
  }));

Deno.test("test_locks::ConditionTests::test_cancelled_error_wakeup", () =>
  vrun(function* () {
    // A CancelledError received while waiting for the wake-up is re-raised unchanged.
    const wake = false;
    let raised: unknown;
    const cond = new Condition();
    const task = createTask(cond.with(function* () {
      raised = yield* caught(cond.waitFor(() => wake));
      assert.ok(raised instanceof CancelledError);
      throw raised;
    }));
    yield* turn();
    task.cancel("foo");
    const err = yield* caught(task);
    assert.ok(err instanceof CancelledError);
    assert.equal(err.message, "foo");
    assert.equal(err, raised, "the same instance as the one raised inside");
  }));

Deno.test("test_locks::ConditionTests::test_cancelled_error_re_aquire", () =>
  vrun(function* () {
    // A CancelledError received while re-acquiring the lock is re-raised unchanged.
    let wake = false;
    let raised: unknown;
    const cond = new Condition();
    const task = createTask(cond.with(function* () {
      raised = yield* caught(cond.waitFor(() => wake));
      assert.ok(raised instanceof CancelledError);
      throw raised;
    }));
    yield* turn();
    yield* cond.acquire();
    wake = true;
    cond.notify();
    yield* turn();
    // The task now tries to re-acquire the lock: cancel it there.
    task.cancel("foo");
    cond.release();
    const err = yield* caught(task);
    assert.ok(err instanceof CancelledError);
    assert.equal(err.message, "foo");
    assert.equal(err, raised);
  }));

function* cancelledWakeup(relock: boolean): Coroutine<void> {
  // A task cancelled at the same time as notify() wakes it must not swallow
  // the notification: the other consumer gets it.
  const condition = new Condition();
  let state = 0;
  function* consumer() {
    yield* condition.with(function* () {
      for (;;) {
        yield* condition.waitFor(() => state !== 0);
        if (state < 0) return;
        state -= 1;
      }
    });
  }
  const c = [createTask(consumer()), createTask(consumer())];
  yield* turn();
  yield* condition.with(function* () {
    state += 1;
    condition.notify(1);
    // Relock: let the target wake up and wait for the lock first.
    if (relock) yield* turn();
    c[0].cancel();
    const e = yield* caught(timeout(10, () => condition.waitFor(() => state === 0)));
    assert.ok(e === undefined || e instanceof TimeoutError);
    assert.equal(state, 0);
    state = -1;
    condition.notifyAll();
  });
  yield* c[1];
}

Deno.test("test_locks::ConditionTests::test_cancelled_wakeup", () =>
  vrun(() => cancelledWakeup(false)));

Deno.test("test_locks::ConditionTests::test_cancelled_wakeup_relock", () =>
  vrun(() => cancelledWakeup(true)));

// ---- beyond CPython's suite -------------------------------------------------------

Deno.test("notify(-1) is a ValueError, notify('1') a TypeError", () =>
  vrun(function* () {
    const cond = new Condition();
    yield* cond.with(function* () {
      assert.throws(() => cond.notify(-1), ValueError);
      assert.throws(() => cond.notify("1" as unknown as number), TypeError);
      assert.throws(() => cond.notify(NaN), TypeError);
      cond.notify(0);
    });
  }));

Deno.test("Condition(lock) accepts only a Lock", () => {
  assert.throws(() => new Condition({} as Lock), TypeError);
  assert.throws(() => new Condition(null as unknown as Lock), TypeError);
  new Condition(undefined);
});

Deno.test("a cancelled wait() re-acquires the lock before CancelledError leaves it", () =>
  vrun(function* () {
    const cond = new Condition();
    let lockedWhenCaught: boolean | undefined;
    const t = createTask(function* () {
      yield* cond.acquire();
      try {
        yield* cond.wait();
      } catch (e) {
        lockedWhenCaught = cond.locked();
        cond.release();
        throw e;
      }
    });
    yield* turn();
    // Hold the lock so the cancelled waiter must wait for it.
    yield* cond.acquire();
    t.cancel();
    yield* sleep(100);
    assert.equal(t.done(), false, "still waiting for the lock");
    cond.release();
    assert.ok((yield* caught(t)) instanceof CancelledError);
    assert.equal(lockedWhenCaught, true);
  }));

Deno.test("guard() and with() hold the condition's lock", () =>
  vrun(function* () {
    const cond = new Condition();
    {
      using _g = yield* cond.guard();
      assert.ok(cond.locked());
      cond.notifyAll();
    }
    assert.equal(cond.locked(), false);
    const r = yield* cond.with(() => cond.waitFor(() => 5));
    assert.equal(r, 5);
    assert.equal(cond.locked(), false);
  }));

Deno.test("producer/consumer over a condition keeps every item", () =>
  vrun(function* () {
    const cond = new Condition();
    const items: number[] = [];
    const got: number[] = [];
    const consumers = [];
    for (let c = 0; c < 5; c++) {
      consumers.push(createTask(function* () {
        for (;;) {
          const item = yield* cond.with(function* () {
            yield* cond.waitFor(() => items.length > 0);
            return items.shift()!;
          });
          if (item < 0) return;
          got.push(item);
          yield* sleep(item % 3);
        }
      }));
    }
    for (let i = 0; i < 200; i++) {
      yield* cond.with(function* () {
        items.push(i);
        cond.notify();
      });
      if (i % 7 === 0) yield* sleep(1);
    }
    yield* cond.with(function* () {
      for (let c = 0; c < 5; c++) items.push(-1);
      cond.notifyAll();
    });
    for (const t of consumers) yield* t;
    assert.deepEqual(got.sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i));
  }));
