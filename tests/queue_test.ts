// Queue, LifoQueue and PriorityQueue behaviour, ported from CPython's
// test_queues.py (3.13, with shutdown), plus ordering, bad input, a
// cancellation stress test and a load test. Virtual clock throughout.
import { assert } from "../deps.ts";
import {
  CancelledError,
  type Coroutine,
  createTask,
  Event,
  getRunningLoop,
  LifoQueue,
  PriorityQueue,
  Queue,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  sleep,
  type Task,
  taskGroup,
  TimeoutError,
  ValueError,
  waitFor,
} from "../mod.ts";
import { caught, DENO_ONLY, turn, vrun } from "./_util.ts";

type QueueClass = new <T>(maxsize?: number) => Queue<T>;
const CLASSES: [string, QueueClass][] = [
  ["Queue", Queue],
  ["LifoQueue", LifoQueue],
  ["PriorityQueue", PriorityQueue as QueueClass],
];

// ---- QueueBasicTests ------------------------------------------------------------

Deno.test("test_queues::QueueBasicTests::test_repr", () =>
  vrun(function* () {
    let q = new Queue<number>();
    assert.ok(String(q).startsWith("<Queue"));
    // getters
    q = new Queue<number>();
    const getter = createTask(q.get());
    yield* turn();
    assert.match(String(q), /_getters\[1\]/);
    q.putNowait(0);
    assert.equal(yield* getter, 0);
    // putters
    q = new Queue<number>(1);
    q.putNowait(1);
    const putter = createTask(q.put(2));
    yield* turn();
    assert.match(String(q), /_putters\[1\]/);
    q.getNowait();
    yield* putter;
    assert.ok(putter.done());

    q = new Queue<number>();
    q.putNowait(1);
    assert.match(String(q), /_queue=\[1\]/);
    assert.equal(String(q), "<Queue maxsize=0 _queue=[1] tasks=1>");
  }));

Deno.test("test_queues::QueueBasicTests::test_empty", () =>
  vrun(function* () {
    const q = new Queue<number>();
    assert.ok(q.empty());
    yield* q.put(1);
    assert.equal(q.empty(), false);
    assert.equal(yield* q.get(), 1);
    assert.ok(q.empty());
  }));

Deno.test("test_queues::QueueBasicTests::test_full", () =>
  vrun(function* () {
    let q = new Queue<number>();
    assert.equal(q.full(), false);
    q = new Queue<number>(1);
    yield* q.put(1);
    assert.ok(q.full());
  }));

Deno.test("test_queues::QueueBasicTests::test_order", () =>
  vrun(function* () {
    const q = new Queue<number>();
    for (const i of [1, 3, 2]) yield* q.put(i);
    const items = [yield* q.get(), yield* q.get(), yield* q.get()];
    assert.deepEqual(items, [1, 3, 2]);
  }));

Deno.test("test_queues::QueueBasicTests::test_maxsize", () =>
  vrun(function* () {
    const q = new Queue<number>(2);
    assert.equal(q.maxsize, 2);
    const haveBeenPut: number[] = [];
    const t = createTask(function* () {
      for (let i = 0; i < 3; i++) {
        yield* q.put(i);
        haveBeenPut.push(i);
      }
      return true;
    });
    yield* turn();
    yield* turn();
    // The putter is blocked after putting two items.
    assert.deepEqual(haveBeenPut, [0, 1]);
    assert.equal(yield* q.get(), 0);
    // Let the putter resume and put the last item.
    yield* turn();
    assert.deepEqual(haveBeenPut, [0, 1, 2]);
    assert.equal(yield* q.get(), 1);
    assert.equal(yield* q.get(), 2);
    assert.ok(t.done());
    assert.equal(t.result(), true);
  }));

// ---- QueueGetTests --------------------------------------------------------------

Deno.test("test_queues::QueueGetTests::test_blocking_get", () =>
  vrun(function* () {
    const q = new Queue<number>();
    q.putNowait(1);
    assert.equal(yield* q.get(), 1);
  }));

Deno.test("test_queues::QueueGetTests::test_get_with_putters", () =>
  vrun(function* () {
    const q = new Queue<number>(1);
    yield* q.put(1);
    const waiter = getRunningLoop().createFuture<void>();
    q._putters.push(waiter);
    assert.equal(yield* q.get(), 1);
    assert.ok(waiter.done());
    assert.equal(waiter.result(), undefined);
  }));

Deno.test("test_queues::QueueGetTests::test_blocking_get_wait", () =>
  vrun(function* () {
    const q = new Queue<number>();
    const started = new Event();
    let finished = false;
    const t = createTask(function* () {
      started.set();
      const res = yield* q.get();
      finished = true;
      return res;
    });
    yield* started.wait();
    assert.equal(finished, false);
    getRunningLoop().callLater(10, () => q.putNowait(1));
    const res = yield* t;
    assert.ok(finished);
    assert.equal(res, 1);
  }));

Deno.test("test_queues::QueueGetTests::test_nonblocking_get", () => {
  const q = new Queue<number>();
  q.putNowait(1);
  assert.equal(q.getNowait(), 1);
});

Deno.test("test_queues::QueueGetTests::test_nonblocking_get_exception", () => {
  const q = new Queue<number>();
  assert.throws(() => q.getNowait(), QueueEmpty);
});

Deno.test("test_queues::QueueGetTests::test_get_cancelled_race", () =>
  vrun(function* () {
    const q = new Queue<string>();
    const t1 = createTask(q.get());
    const t2 = createTask(q.get());
    yield* turn();
    t1.cancel();
    yield* turn();
    assert.ok(t1.done());
    yield* q.put("a");
    yield* turn();
    assert.equal(yield* t2, "a");
  }));

Deno.test("test_queues::QueueGetTests::test_get_with_waiting_putters", () =>
  vrun(function* () {
    const q = new Queue<string>(1);
    createTask(q.put("a"));
    createTask(q.put("b"));
    assert.equal(yield* q.get(), "a");
    assert.equal(yield* q.get(), "b");
  }));

Deno.test("test_queues::QueueGetTests::test_why_are_getters_waiting", () =>
  vrun(function* () {
    const q = new Queue<number>(1);
    const n = 5;
    yield* taskGroup(function* (tg) {
      tg.createTask(function* () {
        for (let i = 0; i < n; i++) yield* q.put(i);
      });
      tg.createTask(function* () {
        for (let i = 0; i < n; i++) yield* q.get();
      });
    });
  }));

Deno.test("test_queues::QueueGetTests::test_cancelled_getters_not_being_held_in_self_getters", () =>
  vrun(function* () {
    const q = new Queue<number>(5);
    assert.ok((yield* caught(waitFor(q.get(), 100))) instanceof TimeoutError);
    assert.equal(q._getters.length, 0);
  }));

// ---- QueuePutTests --------------------------------------------------------------

Deno.test("test_queues::QueuePutTests::test_blocking_put", () =>
  vrun(function* () {
    const q = new Queue<number>();
    // No maxsize: never blocks.
    yield* q.put(1);
    assert.equal(yield* q.get(), 1);
  }));

Deno.test("test_queues::QueuePutTests::test_blocking_put_wait", () =>
  vrun(function* () {
    const q = new Queue<number>(1);
    const started = new Event();
    let finished = false;
    getRunningLoop().callLater(10, () => q.getNowait());
    const t = createTask(function* () {
      started.set();
      yield* q.put(1);
      yield* q.put(2);
      finished = true;
    });
    yield* started.wait();
    assert.equal(finished, false);
    yield* t;
    assert.ok(finished);
  }));

Deno.test("test_queues::QueuePutTests::test_nonblocking_put", () => {
  const q = new Queue<number>();
  q.putNowait(1);
  assert.equal(q.getNowait(), 1);
});

Deno.test("test_queues::QueuePutTests::test_get_cancel_drop_one_pending_reader", () =>
  vrun(function* () {
    const q = new Queue<number>();
    let reader = createTask(q.get());
    yield* turn();
    q.putNowait(1);
    q.putNowait(2);
    reader.cancel();
    if ((yield* caught(reader)) instanceof CancelledError) {
      // Try again.
      reader = createTask(q.get());
      yield* reader;
    }
    // Getting 2 would mean 1 was dropped.
    assert.equal(reader.result(), 1);
  }));

Deno.test("test_queues::QueuePutTests::test_get_cancel_drop_many_pending_readers", () =>
  vrun(function* () {
    const q = new Queue<number>();
    let reader2!: Task<number>, reader3!: Task<number>;
    yield* taskGroup(function* (tg) {
      const reader1 = tg.createTask(q.get());
      reader2 = tg.createTask(q.get());
      reader3 = tg.createTask(q.get());
      yield* turn();
      q.putNowait(1);
      q.putNowait(2);
      reader1.cancel();
      assert.ok((yield* caught(reader1)) instanceof CancelledError);
      yield* reader3;
    });
    // Which reader gets which is undefined; that both are delivered is not.
    assert.deepEqual(new Set([reader2.result(), reader3.result()]), new Set([1, 2]));
  }));

Deno.test("test_queues::QueuePutTests::test_put_cancel_drop", () =>
  vrun(function* () {
    const q = new Queue<number>(1);
    q.putNowait(1);
    // Putting a second item has to block.
    let writer = createTask(q.put(2));
    yield* turn();
    assert.equal(q.getNowait(), 1);
    writer.cancel();
    if ((yield* caught(writer)) instanceof CancelledError) {
      writer = createTask(q.put(2));
      yield* writer;
    }
    assert.equal(q.getNowait(), 2);
    assert.equal(q.qsize(), 0);
  }));

Deno.test("test_queues::QueuePutTests::test_nonblocking_put_exception", () => {
  const q = new Queue<number>(1);
  q.putNowait(1);
  assert.throws(() => q.putNowait(2), QueueFull);
});

Deno.test("test_queues::QueuePutTests::test_float_maxsize", () =>
  vrun(function* () {
    let q = new Queue<number>(1.3);
    q.putNowait(1);
    q.putNowait(2);
    assert.ok(q.full());
    assert.throws(() => q.putNowait(3), QueueFull);
    q = new Queue<number>(1.3);
    yield* q.put(1);
    yield* q.put(2);
    assert.ok(q.full());
  }));

Deno.test("test_queues::QueuePutTests::test_put_cancelled", () =>
  vrun(function* () {
    const q = new Queue<number>();
    const t = createTask(function* () {
      yield* q.put(1);
      return true;
    });
    assert.equal(yield* q.get(), 1);
    assert.ok(t.done());
    assert.equal(t.result(), true);
  }));

Deno.test("test_queues::QueuePutTests::test_put_cancelled_race", () =>
  vrun(function* () {
    const q = new Queue<string>(1);
    const putA = createTask(q.put("a"));
    const putB = createTask(q.put("b"));
    const putC = createTask(q.put("X"));
    yield* turn();
    assert.ok(putA.done());
    assert.equal(putB.done(), false);
    putC.cancel();
    yield* turn();
    assert.ok(putC.done());
    assert.equal(q.getNowait(), "a");
    yield* turn();
    assert.equal(q.getNowait(), "b");
    yield* putB;
  }));

Deno.test("test_queues::QueuePutTests::test_put_with_waiting_getters", () =>
  vrun(function* () {
    const q = new Queue<string>();
    const t = createTask(q.get());
    yield* turn();
    yield* q.put("a");
    assert.equal(yield* t, "a");
  }));

Deno.test("test_queues::QueuePutTests::test_why_are_putters_waiting", () =>
  vrun(function* () {
    const q = new Queue<number>(2);
    yield* taskGroup(function* (tg) {
      tg.createTask(function* () {
        yield* turn();
        const n = q.qsize();
        for (let i = 0; i < n; i++) q.getNowait();
      });
      for (let i = 0; i < 4; i++) tg.createTask(q.put(i));
    });
  }));

Deno.test("test_queues::QueuePutTests::test_cancelled_puts_not_being_held_in_self_putters", () =>
  vrun(function* () {
    const q = new Queue<number>(1);
    q.putNowait(1);
    const putTask = createTask(q.put(1));
    yield* turn();
    assert.equal(q._putters.length, 1);
    putTask.cancel();
    assert.ok((yield* caught(putTask)) instanceof CancelledError);
    assert.equal(q._putters.length, 0);
  }));

Deno.test("test_queues::QueuePutTests::test_cancelled_put_silence_value_error_exception", () =>
  vrun(function* () {
    const q = new Queue<number>(1);
    q.putNowait(1);
    const putTask = createTask(q.put(1));
    yield* turn();
    // getNowait() takes the putter out of _putters before the cancellation
    // tries to remove it.
    q.getNowait();
    putTask.cancel();
    assert.ok((yield* caught(putTask)) instanceof CancelledError);
  }));

// ---- LifoQueue, PriorityQueue ---------------------------------------------------

Deno.test("test_queues::LifoQueueTests::test_order", () =>
  vrun(function* () {
    const q = new LifoQueue<number>();
    for (const i of [1, 3, 2]) yield* q.put(i);
    assert.deepEqual([yield* q.get(), yield* q.get(), yield* q.get()], [2, 3, 1]);
  }));

Deno.test("test_queues::PriorityQueueTests::test_order", () =>
  vrun(function* () {
    const q = new PriorityQueue<number>();
    for (const i of [1, 3, 2]) yield* q.put(i);
    assert.deepEqual([yield* q.get(), yield* q.get(), yield* q.get()], [1, 2, 3]);
  }));

// ---- join, taskDone (each class) ----------------------------------------------------

for (const [name, Cls] of CLASSES) {
  const group = `test_queues::${name}JoinTests`;

  Deno.test(`${group}::test_task_done_underflow`, () => {
    assert.throws(() => new Cls().taskDone(), ValueError);
  });

  Deno.test(`${group}::test_task_done`, () =>
    vrun(function* () {
      const q = new Cls<number>();
      for (let i = 0; i < 100; i++) q.putNowait(i);
      let accumulator = 0;
      // Two workers get items and call taskDone after each; join sees all done.
      let running = true;
      yield* taskGroup(function* (tg) {
        const tasks = [0, 1].map(() =>
          tg.createTask(function* () {
            while (running) {
              const item = yield* q.get();
              accumulator += item;
              q.taskDone();
            }
          })
        );
        yield* q.join();
        assert.equal(accumulator, 4950);
        // Close the workers.
        running = false;
        for (let i = 0; i < tasks.length; i++) q.putNowait(0);
      });
    }));

  Deno.test(`${group}::test_join_empty_queue`, () =>
    vrun(function* () {
      const q = new Cls<number>();
      // join() returns at once, twice.
      yield* q.join();
      yield* q.join();
    }));

  Deno.test(`${group}::test_format`, () => {
    const q = new Cls<number>();
    assert.equal(q._format(), "maxsize=0");
    q._unfinishedTasks = 2;
    assert.equal(q._format(), "maxsize=0 tasks=2");
  });
}

// ---- shutdown (each class) ----------------------------------------------------------

function* assertShutDown(aw: Coroutine<unknown> | (() => unknown)) {
  let e: unknown;
  if (typeof aw === "function") {
    try {
      aw();
    } catch (err) {
      e = err;
    }
  } else {
    e = yield* caught(aw);
  }
  assert.ok(e instanceof QueueShutDown, `expected QueueShutDown, got ${e}`);
}

function* allRaise(q: Queue<string>) {
  yield* assertShutDown(q.put("data"));
  yield* assertShutDown(() => q.putNowait("data"));
  yield* assertShutDown(q.get());
  yield* assertShutDown(() => q.getNowait());
}

for (const [name, Cls] of CLASSES) {
  const group = `test_queues::${name}ShutdownTests`;

  Deno.test(`${group}::test_format`, () => {
    const q = new Cls<number>();
    q.shutdown();
    assert.equal(q._format(), "maxsize=0 shutdown");
  });

  Deno.test(`${group}::test_shutdown_empty`, () =>
    vrun(function* () {
      const q = new Cls<string>();
      const getTask = createTask(q.get());
      yield* turn(); // the get() is pending before the shutdown
      q.shutdown(false); // unfinished tasks: 0 -> 0
      assert.equal(q.qsize(), 0);
      yield* q.join();
      yield* turn();
      assert.ok(getTask.done());
      yield* assertShutDown(getTask as unknown as Coroutine<unknown>);
      yield* allRaise(q);
    }));

  Deno.test(`${group}::test_shutdown_nonempty`, () =>
    vrun(function* () {
      const q = new Cls<string>(1);
      q.putNowait("data");
      const joinTask = createTask(q.join());
      const putTask = createTask(q.put("data2"));
      yield* turn();
      assert.equal(putTask.done(), false);
      q.shutdown(false); // unfinished tasks: 1 -> 1
      assert.equal(q.qsize(), 1);
      yield* turn();
      assert.ok(putTask.done());
      yield* assertShutDown(putTask as unknown as Coroutine<unknown>);
      // Items already queued are still served.
      assert.equal(yield* q.get(), "data");
      yield* turn();
      assert.equal(joinTask.done(), false);
      yield* allRaise(q);
      // One unfinished task; marking it releases join().
      q.taskDone();
      yield* turn();
      assert.ok(joinTask.done());
      yield* joinTask;
      assert.throws(() => q.taskDone(), ValueError);
    }));

  Deno.test(`${group}::test_shutdown_immediate`, () =>
    vrun(function* () {
      const q = new Cls<string>();
      q.putNowait("data");
      const joinTask = createTask(q.join());
      q.shutdown(true); // unfinished tasks: 1 -> 0
      assert.equal(q.qsize(), 0);
      yield* turn();
      assert.ok(joinTask.done());
      yield* joinTask;
      yield* allRaise(q);
      assert.throws(() => q.taskDone(), ValueError);
    }));

  Deno.test(`${group}::test_shutdown_immediate_with_unfinished`, () =>
    vrun(function* () {
      const q = new Cls<string>();
      q.putNowait("data");
      q.putNowait("data");
      const joinTask = createTask(q.join());
      assert.equal(yield* q.get(), "data");
      q.shutdown(true); // unfinished tasks: 2 -> 1
      assert.equal(q.qsize(), 0);
      yield* turn();
      assert.equal(joinTask.done(), false);
      yield* allRaise(q);
      q.taskDone();
      assert.throws(() => q.taskDone(), ValueError);
      yield* turn();
      assert.ok(joinTask.done());
      yield* joinTask;
    }));
}

Deno.test("shutdown() wakes every blocked putter and getter; each raises QueueShutDown", () =>
  vrun(function* () {
    const full = new Queue<number>(1);
    full.putNowait(0);
    const putters = [1, 2, 3].map((i) => createTask(full.put(i)));
    const empty = new Queue<number>();
    const getters = [1, 2, 3].map(() => createTask(empty.get()));
    yield* turn();
    full.shutdown();
    empty.shutdown();
    for (const t of [...putters, ...getters]) {
      assert.ok((yield* caught(t)) instanceof QueueShutDown);
    }
    assert.equal(full._putters.length, 0);
    assert.equal(empty._getters.length, 0);
    assert.equal(full.getNowait(), 0, "the queued item is still served");
    assert.throws(() => new Queue().shutdown("yes" as unknown as boolean), TypeError);
  }));

// ---- PriorityQueue ordering -----------------------------------------------------

Deno.test("PriorityQueue is stable: equal priorities come out in insertion order", () => {
  const q = new PriorityQueue<[number, number]>();
  const items: [number, number][] = [];
  for (let i = 0; i < 2000; i++) items.push([(i * 7919) % 5, i]);
  for (const it of items) q.putNowait(it);
  const out: [number, number][] = [];
  while (!q.empty()) out.push(q.getNowait());
  const expected = [...items].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  assert.deepEqual(out, expected);
});

Deno.test("PriorityQueue with a comparator; ties FIFO, payloads never compared", () => {
  interface Job {
    due: number;
    name: string;
  }
  const q = new PriorityQueue<Job>(0, (a, b) => a.due - b.due);
  q.putNowait({ due: 5, name: "c" });
  q.putNowait({ due: 1, name: "a" });
  q.putNowait({ due: 5, name: "d" });
  q.putNowait({ due: 2, name: "b" });
  assert.deepEqual([1, 2, 3, 4].map(() => q.getNowait().name), ["a", "b", "c", "d"]);

  // [priority, object] entries ordered by priority only: equal priorities stay FIFO.
  const p = new PriorityQueue<[number, { id: number }]>(0, (a, b) => a[0] - b[0]);
  for (let i = 0; i < 10; i++) p.putNowait([i % 2, { id: i }]);
  const ids = Array.from({ length: 10 }, () => p.getNowait()[1].id);
  assert.deepEqual(ids, [0, 2, 4, 6, 8, 1, 3, 5, 7, 9]);
});

Deno.test("PriorityQueue default order: numbers and bigints, strings, booleans, Dates, arrays like tuples", () => {
  const drain = (items: unknown[]) => {
    const q = new PriorityQueue<unknown>();
    for (const x of items) q.putNowait(x);
    const out: unknown[] = [];
    while (!q.empty()) out.push(q.getNowait());
    return out;
  };
  assert.deepEqual(drain([3, -1, NaN, 2n, 1.5, -Infinity]), [-Infinity, -1, 1.5, 2n, 3, NaN]);
  assert.deepEqual(drain(["b", "a", "", "ab"]), ["", "a", "ab", "b"]);
  assert.deepEqual(drain([true, false]), [false, true]);
  const [d1, d2] = [new Date(2024, 0, 1), new Date(2020, 0, 1)];
  assert.deepEqual(drain([d1, d2]), [d2, d1]);
  assert.deepEqual(drain([[1, "z"], [1, "a"], [0], [1], [0, 5n]]), [[0], [0, 5n], [1], [1, "a"], [
    1,
    "z",
  ]]);
  // As in Python, an element decides only where the arrays differ: the same
  // object twice is equal, so `[priority, payload]` with one payload is fine.
  const payload = { id: 1 };
  assert.deepEqual(drain([[2, payload], [1, payload], [2, payload]]), [[1, payload], [2, payload], [
    2,
    payload,
  ]]);
  // One item is never compared, whatever it is (heapq does the same).
  assert.deepEqual(drain([{ any: "thing" }]), [{ any: "thing" }]);
});

Deno.test(
  "test_queues::PriorityQueue — unorderable items: TypeError naming both, as CPython's '<' not supported; the queue is unchanged",
  DENO_ONLY,
  () => {
    const cases: [unknown, unknown, RegExp][] = [
      [1, "1", /cannot compare "1" with 1|cannot compare 1 with "1"/],
      [{ id: 1 }, { id: 2 }, /\{ id: 2 \}.*\{ id: 1 \}|\{ id: 1 \}.*\{ id: 2 \}/],
      [null, null, /null with null/],
      [true, 1, /true|1/],
      [
        [1, { id: 1 }],
        [1, { id: 2 }],
        /\[ 1, \{ id: 2 \} \].*\[ 1, \{ id: 1 \} \]|\[ 1, \{ id: 1 \} \].*\[ 1, \{ id: 2 \} \]/,
      ],
      [[1, 2], 1, /\[ 1, 2 \]/],
    ];
    for (const [a, b, names] of cases) {
      const q = new PriorityQueue<unknown>();
      q.putNowait(a);
      assert.throws(
        () => q.putNowait(b),
        (e) =>
          e instanceof TypeError && names.test(e.message) && /compare/.test(e.message) &&
          /new PriorityQueue\(/.test(e.message),
        `${Deno.inspect(a)} vs ${Deno.inspect(b)}`,
      );
      assert.equal(q.qsize(), 1, "put left the queue unchanged");
      assert.equal(q.getNowait(), a);
    }
    // Where arrays differ at an element that cannot be compared, the message says which.
    const q = new PriorityQueue<unknown>();
    q.putNowait([1, { id: 1 }]);
    assert.throws(() => q.putNowait([1, { id: 2 }]), /index 1/);
  },
);

Deno.test("PriorityQueue: a throwing comparator leaves the queue unchanged on put", () => {
  const q = new PriorityQueue<number>(0, (a, b) => {
    if (a === 13 || b === 13) throw new RangeError("unlucky");
    return a - b;
  });
  for (const x of [5, 1, 9, 3, 7, 2]) q.putNowait(x);
  assert.throws(() => q.putNowait(13), RangeError);
  assert.equal(q.qsize(), 6);
  assert.equal(q._unfinishedTasks, 6);
  const out: number[] = [];
  while (!q.empty()) out.push(q.getNowait());
  assert.deepEqual(out, [1, 2, 3, 5, 7, 9]);
  assert.throws(() => new PriorityQueue(0, 5 as never), TypeError);
});

// ---- bad input, laziness ------------------------------------------------------------

Deno.test("maxsize must be a number", () => {
  assert.throws(() => new Queue("5" as unknown as number), TypeError);
  assert.throws(() => new Queue(NaN), TypeError);
  assert.throws(() => new LifoQueue(null as unknown as number), TypeError);
  assert.throws(() => new PriorityQueue({} as unknown as number), TypeError);
  assert.equal(new Queue(-1).full(), false, "maxsize <= 0 is unbounded");
  assert.equal(new Queue(Infinity).maxsize, Infinity);
});

Deno.test("put() and get() do nothing until awaited, like coroutines", () =>
  vrun(function* () {
    const q = new Queue<number>();
    const p = q.put(1); // not awaited yet
    assert.equal(q.qsize(), 0);
    q.putNowait(2);
    yield* p;
    assert.deepEqual([q.getNowait(), q.getNowait()], [2, 1]);
    const g = q.get();
    q.putNowait(3);
    assert.equal(q.qsize(), 1);
    assert.equal(yield* g, 3);
    // A finished operation behaves like a finished generator.
    const r = g.next();
    assert.equal(r.done, true);
    assert.equal(r.value, undefined);
  }));

// ---- cancellation stress, load ----------------------------------------------------

function rng(seed: number): () => number {
  let x = seed | 0;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

for (const [name, Cls] of CLASSES) {
  Deno.test(`${name}: random cancellations never lose nor duplicate an item`, () =>
    vrun(function* () {
      const rand = rng(name.length * 7919 + 1);
      const q = new Cls<number>(3);
      const received: number[] = [];
      const accepted: number[] = [];
      let next = 0;
      const tasks: Task<unknown>[] = [];
      for (let round = 0; round < 300; round++) {
        const r = rand();
        if (r < 0.45) {
          const item = next++;
          tasks.push(createTask(function* () {
            yield* q.put(item);
            accepted.push(item);
          }));
        } else if (r < 0.9) {
          tasks.push(createTask(function* () {
            received.push(yield* q.get());
          }));
        } else {
          // Cancel a random pending task, possibly one woken but not yet run.
          const pending = tasks.filter((t) => !t.done());
          if (pending.length > 0) pending[Math.floor(rand() * pending.length)].cancel();
        }
        if (rand() < 0.3) yield* sleep(rand() < 0.5 ? 0 : 1);
      }
      yield* sleep(10);
      for (const t of tasks) t.cancel();
      yield* sleep(10);
      const left: number[] = [];
      while (!q.empty()) left.push(q.getNowait());
      const all = [...received, ...left].sort((a, b) => a - b);
      assert.deepEqual(all, [...accepted].sort((a, b) => a - b));
      assert.equal(new Set(all).size, all.length, "no duplicates");
      assert.equal(q._getters.length, 0);
      assert.equal(q._putters.length, 0);
    }));
}

Deno.test("load: 1,000,000 items through 10,000 blocked getters keep FIFO order; memory is released", () =>
  vrun(function* () {
    const N = 1_000_000;
    const G = 10_000;
    const q = new Queue<number>();
    let expected = 0;
    let outOfOrder = 0;
    const perGetter = new Int32Array(G).fill(-1);
    let badGetter = 0;
    const getters = [];
    for (let g = 0; g < G; g++) {
      getters.push(createTask(function* () {
        for (;;) {
          const item = yield* q.get();
          if (item < 0) return;
          if (item !== expected++) outOfOrder++;
          // Blocked getters are served first come, first served, so getter g
          // sees items g, g + G, g + 2G, ...
          if (item % G !== g || item <= perGetter[g]) badGetter++;
          perGetter[g] = item;
          yield; // let the others take their turn
        }
      }));
    }
    yield* turn();
    assert.equal(q._getters.length, G);
    for (let i = 0; i < N; i++) q.putNowait(i);
    assert.equal(q.qsize(), N);
    const peak = q._queue.capacity;
    assert.ok(peak >= N);
    for (let g = 0; g < G; g++) q.putNowait(-1);
    for (const t of getters) yield* t;
    assert.equal(expected, N);
    assert.equal(outOfOrder, 0);
    assert.equal(badGetter, 0);
    assert.ok(q.empty());
    assert.ok(q._queue.capacity <= 16, `capacity ${q._queue.capacity} after draining`);
    assert.equal(q._getters.capacity, 8, "the getters' ring shrank back too");
  }));
