// Barrier behaviour, ported from CPython's test_locks.py (BarrierTests).
// Virtual clock throughout.
import { assert } from "../deps.ts";
import {
  Barrier,
  BrokenBarrierError,
  CancelledError,
  type Coroutine,
  createTask,
  gather,
  sleep,
  type Task,
  ValueError,
  wait,
} from "../mod.ts";
import { caught, turn, vrun } from "./_util.ts";

const N = 5;

function makeTasks<T>(n: number, coro: () => Coroutine<T>): Task<T>[] {
  return Array.from({ length: n }, () => createTask(coro()));
}

function* gatherTasks<T>(n: number, coro: () => Coroutine<T>): Coroutine<T[]> {
  return (yield* gather(makeTasks(n, coro))) as T[];
}

Deno.test("test_locks::BarrierTests::test_barrier", () => {
  const barrier = new Barrier(N);
  assert.match(String(barrier), /filling/);
  assert.throws(() => {
    (function* () {
      yield* (barrier as unknown as Iterable<undefined>);
    })().next();
  }, TypeError);
  assert.match(String(barrier), /filling/);
});

Deno.test("test_locks::BarrierTests::test_repr", () =>
  vrun(function* () {
    const barrier = new Barrier(N);
    assert.equal(String(barrier), `<Barrier [filling, waiters:0/${N}]>`);
    const waiters: Task<unknown>[] = [];
    const incr = 2;
    for (let i = 0; i < incr; i++) waiters.push(createTask(barrier.wait()));
    yield* turn();
    assert.equal(String(barrier), `<Barrier [filling, waiters:${incr}/${N}]>`);

    // The missing waiters.
    for (let i = barrier.nWaiting; i < barrier.parties; i++) {
      waiters.push(createTask(barrier.wait()));
    }
    yield* turn();
    assert.match(String(barrier), /draining/);

    // Some waiters for the next round, then reset.
    for (let i = 0; i < incr; i++) waiters.push(createTask(barrier.wait()));
    yield* turn();
    yield* barrier.reset();
    assert.match(String(barrier), /resetting/);

    // Some waiters again, then abort.
    for (let i = 0; i < incr; i++) waiters.push(createTask(barrier.wait()));
    yield* turn();
    yield* barrier.abort();
    assert.equal(String(barrier), "<Barrier [broken]>");
    assert.ok(barrier.broken);
    yield* gather(waiters, { returnExceptions: true });
  }));

Deno.test("test_locks::BarrierTests::test_barrier_parties", () => {
  assert.throws(() => new Barrier(0), ValueError);
  assert.throws(() => new Barrier(-4), ValueError);
  assert.throws(() => new Barrier(2.5), TypeError);
  assert.throws(() => new Barrier("3" as unknown as number), TypeError);
  assert.ok(new Barrier(N) instanceof Barrier);
});

Deno.test("test_locks::BarrierTests::test_context_manager", () =>
  vrun(function* () {
    const n = 3;
    const barrier = new Barrier(n);
    const results: number[] = [];
    yield* gatherTasks(n, () =>
      barrier.with(function* (i) {
        results.push(i);
      }));
    assert.deepEqual(results.sort(), [0, 1, 2]);
    assert.equal(barrier.nWaiting, 0);
    assert.equal(barrier.broken, false);
  }));

Deno.test("test_locks::BarrierTests::test_filling_one_task", () =>
  vrun(function* () {
    const barrier = new Barrier(1);
    const ret = yield* barrier.with(function* () {
      return true;
    });
    assert.equal(ret, true);
    assert.equal(barrier.nWaiting, 0);
    assert.equal(barrier.broken, false);
  }));

Deno.test("test_locks::BarrierTests::test_filling_one_task_twice", () =>
  vrun(function* () {
    const barrier = new Barrier(1);
    const t1 = createTask(barrier.wait());
    yield* turn();
    assert.equal(barrier.nWaiting, 0);
    const t2 = createTask(barrier.wait());
    yield* turn();
    assert.equal(t1.result(), t2.result());
    assert.equal(t1.done(), t2.done());
    assert.equal(barrier.nWaiting, 0);
    assert.equal(barrier.broken, false);
  }));

Deno.test("test_locks::BarrierTests::test_filling_task_by_task", () =>
  vrun(function* () {
    const barrier = new Barrier(3);
    const t1 = createTask(barrier.wait());
    yield* turn();
    assert.equal(barrier.nWaiting, 1);
    assert.match(String(barrier), /filling/);
    const t2 = createTask(barrier.wait());
    yield* turn();
    assert.equal(barrier.nWaiting, 2);
    assert.match(String(barrier), /filling/);
    const t3 = createTask(barrier.wait());
    yield* turn();
    yield* wait([t1, t2, t3]);
    assert.equal(barrier.nWaiting, 0);
    assert.equal(barrier.broken, false);
  }));

Deno.test("test_locks::BarrierTests::test_filling_tasks_wait_twice", () =>
  vrun(function* () {
    const barrier = new Barrier(N);
    const results: boolean[] = [];
    yield* gatherTasks(N, () =>
      barrier.with(function* () {
        results.push(true);
        yield* barrier.with(function* () {
          results.push(false);
        });
      }));
    assert.equal(results.length, N * 2);
    assert.equal(results.filter((r) => r).length, N);
    assert.equal(results.filter((r) => !r).length, N);
    assert.equal(barrier.nWaiting, 0);
    assert.equal(barrier.broken, false);
  }));

Deno.test("test_locks::BarrierTests::test_filling_tasks_check_return_value", () =>
  vrun(function* () {
    const barrier = new Barrier(N);
    const results1: boolean[] = [];
    const results2: boolean[] = [];
    const res = yield* gatherTasks(N, () =>
      barrier.with(function* () {
        results1.push(true);
        return yield* barrier.with(function* (i) {
          results2.push(true);
          return i;
        });
      }));
    assert.equal(results1.length, N);
    assert.equal(results2.length, N);
    assert.deepEqual([...res].sort(), [0, 1, 2, 3, 4]);
    assert.equal(barrier.nWaiting, 0);
    assert.equal(barrier.broken, false);
  }));

Deno.test("test_locks::BarrierTests::test_draining_state", () =>
  vrun(function* () {
    const barrier = new Barrier(N);
    const results: boolean[] = [];
    yield* gatherTasks(N, () =>
      barrier.with(function* () {
        // The state goes back to filling when the last task leaves.
        results.push(String(barrier).includes("draining"));
      }));
    assert.equal(results.length, N);
    assert.equal(results[N - 1], false);
    assert.ok(results.slice(0, N - 1).every((r) => r));
    assert.equal(barrier.nWaiting, 0);
    assert.equal(barrier.broken, false);
  }));

Deno.test("test_locks::BarrierTests::test_blocking_tasks_while_draining", () =>
  vrun(function* () {
    const rewait = 2;
    const barrier = new Barrier(N);
    const barrierNowaiting = new Barrier(N - rewait);
    let rewaitN = rewait;
    yield* gatherTasks(N, function* () {
      yield* barrier.wait();
      if (rewaitN > 0) {
        rewaitN--;
        // Wait again, only the rewait tasks.
        yield* barrier.wait();
      } else {
        // Wait for the end of draining, then for the other tasks.
        yield* barrierNowaiting.wait();
        yield* barrier.wait();
      }
    });
  }));

Deno.test("test_locks::BarrierTests::test_filling_tasks_cancel_one", () =>
  vrun(function* () {
    const barrier = new Barrier(3);
    const results: boolean[] = [];
    function* coro() {
      yield* barrier.wait();
      results.push(true);
    }
    const t1 = createTask(coro());
    yield* turn();
    assert.equal(barrier.nWaiting, 1);
    const t2 = createTask(coro());
    yield* turn();
    assert.equal(barrier.nWaiting, 2);
    t1.cancel();
    yield* turn();
    assert.equal(barrier.nWaiting, 1);
    assert.ok((yield* caught(t1)) instanceof CancelledError);
    assert.ok(t1.cancelled());
    const t3 = createTask(coro());
    yield* turn();
    assert.equal(barrier.nWaiting, 2);
    const t4 = createTask(coro());
    yield* gather([t2, t3, t4]);
    assert.equal(results.length, 3);
    assert.equal(barrier.nWaiting, 0);
    assert.equal(barrier.broken, false);
  }));

Deno.test("test_locks::BarrierTests::test_reset_barrier", () =>
  vrun(function* () {
    const barrier = new Barrier(1);
    createTask(barrier.reset());
    yield* turn();
    assert.equal(barrier.nWaiting, 0);
    assert.equal(barrier.broken, false);
  }));

Deno.test("test_locks::BarrierTests::test_reset_barrier_while_tasks_waiting", () =>
  vrun(function* () {
    const barrier = new Barrier(N);
    const results: boolean[] = [];
    const tasks = makeTasks(N - 1, function* () {
      try {
        yield* barrier.wait();
      } catch (e) {
        if (!(e instanceof BrokenBarrierError)) throw e;
        results.push(true);
      }
    });
    yield* turn();
    createTask(barrier.reset());
    yield* gather(tasks);
    assert.equal(results.length, N - 1);
    assert.equal(barrier.nWaiting, 0);
    assert.doesNotMatch(String(barrier), /resetting/);
    assert.equal(barrier.broken, false);
  }));

Deno.test("test_locks::BarrierTests::test_reset_barrier_when_tasks_half_draining", () =>
  vrun(function* () {
    const barrier = new Barrier(N);
    const results1: boolean[] = [];
    const restOfTasks = Math.floor(N / 2);
    yield* gatherTasks(N, function* () {
      try {
        yield* barrier.wait();
      } catch (e) {
        if (!(e instanceof BrokenBarrierError)) throw e;
        results1.push(true); // the tasks still waiting
        return;
      }
      // A drained task, outside the barrier.
      if (restOfTasks === barrier._count) yield* barrier.reset();
    });
    assert.deepEqual(results1, Array(restOfTasks).fill(true));
    assert.equal(barrier.nWaiting, 0);
    assert.doesNotMatch(String(barrier), /resetting/);
    assert.equal(barrier.broken, false);
  }));

Deno.test("test_locks::BarrierTests::test_reset_barrier_when_tasks_half_draining_half_blocking", () =>
  vrun(function* () {
    const barrier = new Barrier(N);
    const results1: boolean[] = [];
    const results2: boolean[] = [];
    const blockingTasks = Math.floor(N / 2);
    let count = 0;
    yield* gatherTasks(N, function* () {
      try {
        yield* barrier.wait();
      } catch (e) {
        if (!(e instanceof BrokenBarrierError)) throw e;
        // The tasks still waiting: wait again to reach the parties.
        results1.push(true);
        yield* barrier.wait();
        return;
      }
      count++;
      if (count > blockingTasks) {
        // Reset now: BrokenBarrierError for the waiting tasks.
        yield* barrier.reset();
        yield* barrier.wait();
      } else {
        try {
          yield* barrier.wait();
        } catch (e) {
          if (!(e instanceof BrokenBarrierError)) throw e;
          results2.push(true); // never: the blocked tasks just wait
        }
      }
    });
    assert.deepEqual(results1, Array(blockingTasks).fill(true));
    assert.deepEqual(results2, []);
    assert.equal(barrier.nWaiting, 0);
    assert.doesNotMatch(String(barrier), /resetting/);
    assert.equal(barrier.broken, false);
  }));

Deno.test("test_locks::BarrierTests::test_reset_barrier_while_tasks_waiting_and_waiting_again", () =>
  vrun(function* () {
    const barrier = new Barrier(N);
    const results1: boolean[] = [];
    const results2: boolean[] = [];
    const tasks = makeTasks(N - 1, function* () {
      try {
        yield* barrier.wait();
      } catch (e) {
        if (!(e instanceof BrokenBarrierError)) throw e;
        results1.push(true);
      } finally {
        yield* barrier.wait();
        results2.push(true);
      }
    });
    // Reset: the N-1 waiting tasks get BrokenBarrierError.
    createTask(barrier.reset());
    yield* turn();
    // Complete the waiting tasks in their `finally`.
    createTask(barrier.with(function* () {
      results2.push(true);
    }));
    yield* gather(tasks);
    assert.equal(barrier.broken, false);
    assert.equal(results1.length, N - 1);
    assert.equal(results2.length, N);
    assert.equal(barrier.nWaiting, 0);
  }));

Deno.test("test_locks::BarrierTests::test_reset_barrier_while_tasks_draining", () =>
  vrun(function* () {
    const barrier = new Barrier(N);
    const results1: boolean[] = [];
    const results2: boolean[] = [];
    const results3: boolean[] = [];
    let count = 0;
    yield* gatherTasks(N, function* () {
      yield* barrier.wait();
      count++;
      if (count === N) {
        // The last task out of the barrier resets it, then waits again.
        yield* barrier.reset();
        yield* barrier.wait();
      } else {
        try {
          yield* barrier.wait(); // second wait
          results1.push(true); // N-1 tasks get here
        } catch {
          results2.push(true); // never
        }
      }
      // Pass the barrier once more: this one must complete.
      yield* barrier.wait();
      results3.push(true);
    });
    assert.equal(barrier.broken, false);
    assert.equal(results1.length, N - 1);
    assert.equal(results2.length, 0);
    assert.equal(results3.length, N);
    assert.equal(barrier.nWaiting, 0);
  }));

Deno.test("test_locks::BarrierTests::test_abort_barrier", () =>
  vrun(function* () {
    const barrier = new Barrier(1);
    createTask(barrier.abort());
    yield* turn();
    assert.equal(barrier.nWaiting, 0);
    assert.ok(barrier.broken);
  }));

Deno.test("test_locks::BarrierTests::test_abort_barrier_when_tasks_half_draining_half_blocking", () =>
  vrun(function* () {
    const barrier = new Barrier(N);
    const results1: boolean[] = [];
    const results2: boolean[] = [];
    const blockingTasks = Math.floor(N / 2);
    let count = 0;
    yield* gatherTasks(N, function* () {
      try {
        yield* barrier.wait();
      } catch (e) {
        if (!(e instanceof BrokenBarrierError)) throw e;
        results1.push(true); // tasks waiting to drain
        return;
      }
      count++;
      if (count > blockingTasks) {
        // Abort: BrokenBarrierError for every task.
        yield* barrier.abort();
      } else {
        try {
          yield* barrier.wait();
        } catch (e) {
          if (!(e instanceof BrokenBarrierError)) throw e;
          results2.push(true); // blocked tasks, already drained
        }
      }
    });
    assert.ok(barrier.broken);
    assert.deepEqual(results1, Array(blockingTasks).fill(true));
    assert.deepEqual(results2, Array(N - blockingTasks - 1).fill(true));
    assert.equal(barrier.nWaiting, 0);
    assert.doesNotMatch(String(barrier), /resetting/);
  }));

Deno.test("test_locks::BarrierTests::test_abort_barrier_when_exception", () =>
  vrun(function* () {
    // From threading.Barrier's lock_tests.test_reset.
    const barrier = new Barrier(N);
    const results1: boolean[] = [];
    const results2: boolean[] = [];
    class Boom extends Error {}
    yield* gatherTasks(N, function* () {
      try {
        yield* barrier.with(function* (i) {
          if (i === Math.floor(N / 2)) throw new Boom();
        });
        yield* barrier.with(function* () {
          results1.push(true);
        });
      } catch (e) {
        if (e instanceof BrokenBarrierError) results2.push(true);
        else if (e instanceof Boom) yield* barrier.abort();
        else throw e;
      }
    });
    assert.ok(barrier.broken);
    assert.equal(results1.length, 0);
    assert.equal(results2.length, N - 1);
    assert.equal(barrier.nWaiting, 0);
  }));

Deno.test("test_locks::BarrierTests::test_abort_barrier_when_exception_then_resetting", () =>
  vrun(function* () {
    // From threading.Barrier's lock_tests.test_abort_and_reset.
    const barrier1 = new Barrier(N);
    const barrier2 = new Barrier(N);
    const results1: boolean[] = [];
    const results2: boolean[] = [];
    const results3: boolean[] = [];
    class Boom extends Error {}
    yield* gatherTasks(N, function* () {
      try {
        const i = yield* barrier1.wait();
        if (i === Math.floor(N / 2)) throw new Boom();
        yield* barrier1.wait();
        results1.push(true);
      } catch (e) {
        if (e instanceof BrokenBarrierError) results2.push(true);
        else if (e instanceof Boom) yield* barrier1.abort();
        else throw e;
      }
      // Synchronise, reset, synchronise again: everyone has left barrier1
      // before the reset, and nobody enters it before.
      const i = yield* barrier2.wait();
      if (i === Math.floor(N / 2)) yield* barrier1.reset();
      yield* barrier2.wait();
      yield* barrier1.wait();
      results3.push(true);
    });
    assert.equal(barrier1.broken, false);
    assert.equal(results1.length, 0);
    assert.equal(results2.length, N - 1);
    assert.equal(results3.length, N);
    assert.equal(barrier1.nWaiting, 0);
  }));

// ---- beyond CPython's suite -------------------------------------------------------

Deno.test("indices are unique per round, and the barrier is cyclic", () =>
  vrun(function* () {
    const barrier = new Barrier(4);
    const rounds: number[][] = [[], [], []];
    yield* gatherTasks(4, function* () {
      for (let r = 0; r < 3; r++) {
        yield* sleep(Math.floor(Math.random() * 5));
        rounds[r].push(yield* barrier.wait());
      }
    });
    for (const r of rounds) assert.deepEqual([...r].sort(), [0, 1, 2, 3]);
  }));

Deno.test("a broken barrier fails new waiters at once until reset", () =>
  vrun(function* () {
    const barrier = new Barrier(2);
    yield* barrier.abort();
    assert.ok((yield* caught(barrier.wait())) instanceof BrokenBarrierError);
    yield* barrier.reset();
    const t = createTask(barrier.wait());
    yield* turn();
    assert.equal(yield* barrier.wait(), 1);
    assert.equal(yield* t, 0);
  }));
