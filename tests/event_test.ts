// Event behaviour, ported from CPython's test_locks.py (EventTests).
// Virtual clock throughout.
import { assert } from "../deps.ts";
import {
  CancelledError,
  type Coroutine,
  createTask,
  Event,
  gather,
  getRunningLoop,
  sleep,
} from "../mod.ts";
import { turn, vrun } from "./_util.ts";

Deno.test("test_locks::EventTests::test_repr", () =>
  vrun(function* () {
    const ev = new Event();
    assert.equal(String(ev), "<Event [unset]>");
    ev.set();
    assert.equal(String(ev), "<Event [set]>");
    ev.clear();
    createTask(ev.wait());
    yield* turn();
    assert.equal(String(ev), "<Event [unset, waiters:1]>");
    ev.set();
  }));

Deno.test("test_locks::EventTests::test_wait", () =>
  vrun(function* () {
    const ev = new Event();
    assert.equal(ev.isSet(), false);
    const result: number[] = [];
    function* c(n: number): Coroutine<void> {
      if (yield* ev.wait()) result.push(n);
    }
    const t1 = createTask(c(1));
    const t2 = createTask(c(2));
    yield* turn();
    assert.deepEqual(result, []);
    const t3 = createTask(c(3));
    ev.set();
    yield* turn();
    // t3 was scheduled before set() woke t1 and t2.
    assert.deepEqual(result, [3, 1, 2]);
    for (const t of [t1, t2, t3]) {
      assert.ok(t.done());
      assert.equal(t.result(), undefined);
    }
  }));

Deno.test("test_locks::EventTests::test_wait_on_set", () =>
  vrun(function* () {
    const ev = new Event();
    ev.set();
    assert.equal(yield* ev.wait(), true);
  }));

Deno.test("test_locks::EventTests::test_wait_cancel", () =>
  vrun(function* () {
    const ev = new Event();
    const wait = createTask(ev.wait());
    getRunningLoop().callSoon(() => wait.cancel());
    let err: unknown;
    try {
      yield* wait;
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof CancelledError);
    assert.equal(ev._waiters.length, 0);
  }));

Deno.test("test_locks::EventTests::test_clear", () => {
  const ev = new Event();
  assert.equal(ev.isSet(), false);
  ev.set();
  assert.equal(ev.isSet(), true);
  ev.clear();
  assert.equal(ev.isSet(), false);
});

Deno.test("test_locks::EventTests::test_clear_with_waiters", () =>
  vrun(function* () {
    const ev = new Event();
    const result: number[] = [];
    const t = createTask(function* () {
      if (yield* ev.wait()) result.push(1);
      return true;
    });
    yield* turn();
    assert.deepEqual(result, []);
    ev.set();
    ev.clear();
    assert.equal(ev.isSet(), false);
    ev.set();
    ev.set();
    assert.equal(ev._waiters.length, 1);
    yield* turn();
    assert.deepEqual(result, [1]);
    assert.equal(ev._waiters.length, 0);
    assert.ok(t.done());
    assert.equal(t.result(), true);
  }));

Deno.test("clear() right after set() does not strand any woken waiter", () =>
  vrun(function* () {
    const ev = new Event();
    const tasks = [];
    for (let i = 0; i < 100; i++) tasks.push(createTask(ev.wait()));
    yield* turn();
    ev.set();
    ev.clear();
    assert.deepEqual(yield* gather(tasks), Array(100).fill(true));
    assert.equal(ev._waiters.length, 0);
    // Later waiters block again until the next set().
    const late = createTask(ev.wait());
    yield* sleep(1000);
    assert.equal(late.done(), false);
    ev.set();
    assert.equal(yield* late, true);
  }));

Deno.test("set() wakes every waiter; cancelled ones are skipped", () =>
  vrun(function* () {
    const ev = new Event();
    const tasks = [];
    for (let i = 0; i < 10; i++) tasks.push(createTask(ev.wait()));
    yield* turn();
    tasks[3].cancel();
    tasks[7].cancel();
    ev.set();
    const results = yield* gather(tasks, { returnExceptions: true });
    assert.equal(results.filter((r) => r === true).length, 8);
    assert.ok(results[3] instanceof CancelledError);
    assert.equal(ev._waiters.length, 0);
  }));
