// WorkerPoolExecutor: jobs, results, errors, map, transfer. Ported from
// CPython's test_concurrent_futures (executor.py, test_thread_pool.py,
// test_process_pool.py) where a counterpart exists.
import { assert } from "../deps.ts";
import {
  asCompleted,
  type Future,
  gather,
  type JobContext,
  run,
  transfer,
  wait,
  workerFunction,
  WorkerPoolExecutor,
} from "../mod.ts";
import { CORE, DENO_ONLY, vrun } from "./_util.ts";

const jobs = new URL("./fixtures/executor_jobs.ts", import.meta.url);
type Jobs = typeof import("./fixtures/executor_jobs.ts");

/** A future as a promise, for assert.rejects. */
const settled = <T>(f: PromiseLike<T>): Promise<T> => Promise.resolve(f);

Deno.test("test_concurrent_futures::ExecutorTest::test_submit", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 2 });
  const fut = pool.submit((a: number, b: number) => a ** b, 2, 8);
  assert.equal(await fut, 256);
  assert.equal(fut.result(), 256);
  assert.equal(fut.done(), true);
});

Deno.test("submit: the future works with yield*, gather, wait and asCompleted", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 2 });
  const sq = (x: number) => x * x;
  const out = await vrun(function* () {
    const one = yield* pool.submit(sq, 3);
    const all = yield* gather([pool.submit(sq, 1), pool.submit(sq, 2)]);
    const [done, pending] = yield* wait([pool.submit(sq, 4), pool.submit(sq, 5)]);
    const waited = [...done].map((f) => f.result()).sort((a, b) => a - b);
    const completed: number[] = [];
    for (const next of asCompleted([pool.submit(sq, 6), pool.submit(sq, 7)])) {
      completed.push(yield* next);
    }
    return { one, all, waited, pending: pending.size, completed: completed.sort() };
  });
  assert.deepEqual(out, {
    one: 9,
    all: [1, 4],
    waited: [16, 25],
    pending: 0,
    completed: [36, 49],
  });
});

Deno.test("submit: async functions are awaited in the worker; results clone back", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
  const r = await pool.submit(async (n: number) => {
    await new Promise((res) => setTimeout(res, 1));
    return { n, list: [n, n + 1], when: new Date(0), map: new Map([[1, "a"]]) };
  }, 5);
  assert.deepEqual(r, { n: 5, list: [5, 6], when: new Date(0), map: new Map([[1, "a"]]) });
});

Deno.test("submit: a coroutine function runs on an aio loop inside the worker", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
  const sleepyDouble = workerFunction<Jobs["sleepyDouble"]>(jobs, "sleepyDouble");
  assert.equal(await pool.submit(sleepyDouble, 5, 21), 42);
  // Sent as source, a function* is a coroutine too; it has no imports, but yield works.
  const counted = await pool.submit(function* (n: number) {
    let k = 0;
    for (let i = 0; i < n; i++) {
      yield; // one loop turn each
      k++;
    }
    return k;
  }, 3);
  assert.equal(counted, 3);
});

Deno.test("workerFunction: imported once per worker; module state lives in the worker", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
  const add = workerFunction<Jobs["add"]>(jobs, "add");
  const setState = workerFunction<Jobs["setState"]>(jobs, "setState");
  const getState = workerFunction<Jobs["getState"]>(jobs, "getState");
  assert.equal(await pool.submit(add, 2, 3), 5);
  await pool.submit(setState, "kept");
  assert.equal(await pool.submit(getState), "kept");
});

Deno.test("workerFunction: a missing export or module fails the job, not the pool", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
  await assert.rejects(
    settled(pool.submit(workerFunction(jobs, "nope"))),
    (e: Error) => e.name === "TypeError" && /no function export named "nope"/.test(e.message),
  );
  await assert.rejects(
    settled(pool.submit(workerFunction(jobs, "notAFunction"))),
    (e: Error) => e.name === "TypeError" && /found number/.test(e.message),
  );
  await assert.rejects(
    settled(pool.submit(workerFunction(new URL("./fixtures/missing_module.ts", import.meta.url)))),
    (e: Error) => /missing_module/.test(e.message),
  );
  assert.equal(await pool.submit(() => "still serving"), "still serving");
  assert.throws(() => workerFunction("not a url"), TypeError);
  assert.throws(() => workerFunction(jobs, ""), TypeError);
});

Deno.test("test_concurrent_futures::ExecutorTest::test_map", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 2 });
  const items = Array.from({ length: 50 }, (_, i) => i);
  const pow = (x: number) => x ** 2;
  assert.deepEqual(await Array.fromAsync(pool.map(pow, items)), items.map((x) => x ** 2));
  for (const chunksize of [1, 3, 7, 50, 100]) {
    assert.deepEqual(
      await Array.fromAsync(pool.map(pow, items, { chunksize })),
      items.map((x) => x ** 2),
      `chunksize ${chunksize}`,
    );
  }
  assert.deepEqual(await Array.fromAsync(pool.map(pow, [])), []);
});

Deno.test("test_concurrent_futures::ProcessPoolExecutorTest::test_map_chunksize", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 2 });
  const items = Array.from({ length: 101 }, (_, i) => i);
  const out = await vrun(function* () {
    return yield* pool.map((x: number) => -x, items, { chunksize: 10 }).toArray();
  });
  assert.deepEqual(out, items.map((x) => -x));
  assert.throws(() => pool.map((x: number) => x, items, { chunksize: 0 }), { name: "ValueError" });
  assert.throws(() => pool.map((x: number) => x, items, { chunksize: -1 }), { name: "ValueError" });
  assert.throws(() => pool.map((x: number) => x, items, { buffersize: 0 }), /buffersize/);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => pool.map((x: number) => x, null as any), /expects an iterable, got null/);
});

Deno.test("test_concurrent_futures::ExecutorTest::test_map_exception", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 2 });
  const inv = (x: number) => {
    if (x === 0) throw new RangeError("division by zero");
    return 1 / x;
  };
  const results = await vrun(function* () {
    const got: unknown[] = [];
    for (const next of pool.map(inv, [1, 0, 2], { chunksize: 3 })) {
      try {
        got.push(yield* next);
      } catch (e) {
        got.push((e as Error).name + ": " + (e as Error).message);
      }
    }
    return got;
  });
  // Items after a failure in the same chunk still run.
  assert.deepEqual(results, [1, "RangeError: division by zero", 0.5]);
  const it = pool.map(inv, [1, 0, 2])[Symbol.asyncIterator]();
  assert.deepEqual(await it.next(), { done: false, value: 1 });
  await assert.rejects(it.next(), RangeError);
});

Deno.test("map: lazy with a bounded number of chunks in flight (Python 3.14 buffersize)", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 2 });
  let read = 0;
  function* endless() {
    for (let i = 0;; i++) {
      read++;
      yield i;
    }
  }
  const results = pool.map((x: number) => x * 10, endless(), { chunksize: 4, buffersize: 3 });
  assert.equal(read, 12, "3 chunks of 4 submitted at once");
  const got: number[] = [];
  for await (const r of results) {
    got.push(r);
    if (got.length === 10) break;
  }
  assert.deepEqual(got, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
  assert.ok(read <= 4 * 6, `read ${read} items for 10 results`);
});

Deno.test("map: several jobs of a worker interleave with coroutines on the loop", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 2 });
  const out = await run(function* () {
    const results: number[] = [];
    for (const next of pool.map((x: number) => x + 1, Array.from({ length: 1000 }, (_, i) => i))) {
      results.push(yield* next);
    }
    return results;
  }, { core: CORE });
  assert.equal(out.length, 1000);
  assert.equal(out[999], 1000);
});

Deno.test("submit: thousands of tiny jobs keep their own results", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 2 });
  const futs: Future<number>[] = [];
  for (let i = 0; i < 5000; i++) futs.push(pool.submit((x: number) => x * 3, i));
  const all = await Promise.all(futs);
  assert.ok(all.every((v, i) => v === i * 3));
  assert.deepEqual(pool.stats(), {
    workers: 2,
    queued: 0,
    running: 0,
    abandoned: 0,
    done: 5000,
    submitted: 5000,
  });
});

// The job's class must stay self-contained wherever this file is lowered
// (Node 22 runs it through esbuild, which must not add helpers such as
// keepNames' __name() inside the job).
Deno.test("job errors keep name, message, stack, cause and custom fields", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
  const err = await pool.submit(() => {
    class ParseError extends Error {
      code = "E_PARSE";
    }
    const e = new ParseError("bad input", { cause: new TypeError("inner") });
    e.name = "ParseError";
    throw e;
  }).then(() => null, (e) => e as Error & { code: string });
  assert.ok(err instanceof Error);
  assert.equal(err.name, "ParseError");
  assert.equal(err.message, "bad input");
  assert.equal(err.code, "E_PARSE");
  assert.ok(err.cause instanceof TypeError);
  assert.equal((err.cause as Error).message, "inner");
  assert.match(err.stack!, /ParseError: bad input/);
  assert.match(err.stack!, /at /);
  // Built-in and aio classes come back as themselves.
  await assert.rejects(
    settled(pool.submit(() => ([] as number[]).reduce((a, b) => a + b))),
    TypeError,
  );
  await assert.rejects(
    settled(pool.submit(() => {
      throw "a string";
    })),
    (e: Error) => e.cause === "a string" && /non-Error value/.test(e.message),
  );
  const aggregate = await pool.submit(() => {
    throw new AggregateError([new Error("a"), new RangeError("b")], "both");
  }).then(() => null, (e) => e as AggregateError);
  assert.ok(aggregate instanceof AggregateError);
  assert.equal(aggregate.errors.length, 2);
  assert.ok(aggregate.errors[1] instanceof RangeError);
});

Deno.test("transfer: buffers move to the worker and back instead of being copied", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
  const data = new Uint8Array(1 << 16).fill(1);
  const sum = await pool.submit(
    (b: Uint8Array) => b.reduce((a, x) => a + x, 0),
    transfer(data, [data.buffer]),
  );
  assert.equal(sum, 1 << 16);
  assert.equal(data.byteLength, 0, "the parent's buffer is detached");
  const back = await pool.submit(workerFunction<(n: number) => Uint8Array>(jobs, "bytes"), 1000);
  assert.equal(back.length, 1000);
  assert.equal(back[999], 7);
  // A source function transfers through its JobContext.
  const viaThis = await pool.submit(function (this: JobContext, n: number) {
    const b = new Float64Array(n).fill(0.5);
    return this.transfer(b, [b.buffer]);
  }, 10);
  assert.equal(viaThis.length, 10);
  assert.throws(() => transfer(3, []), TypeError);
});

Deno.test("test_concurrent_futures::ThreadPoolExecutorTest::test_idle_thread_reuse", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 4 });
  await pool.submit(() => 1);
  await pool.submit(() => 2);
  await pool.submit(() => 3);
  assert.equal(pool.stats().workers, 1, "one job at a time needs one worker");
});

Deno.test("test_concurrent_futures::ExecutorTest::test_max_workers_negative", () => {
  for (const n of [0, -1, 1.5]) {
    assert.throws(() => new WorkerPoolExecutor({ maxWorkers: n }), { name: "ValueError" });
  }
  assert.throws(() => new WorkerPoolExecutor({ maxWorkers: "2" as unknown as number }), TypeError);
  assert.throws(() => new WorkerPoolExecutor({ minWorkers: 3, maxWorkers: 2 }), {
    name: "ValueError",
  });
});

Deno.test("minWorkers start with the pool; idle workers above them stop after idleTimeoutMs", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 2, minWorkers: 1, idleTimeoutMs: 300 });
  assert.equal(pool.stats().workers, 1);
  const spin = (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end);
    return ms;
  };
  await Promise.all([pool.submit(spin, 30), pool.submit(spin, 30)]);
  assert.equal(pool.stats().workers, 2);
  for (let i = 0; i < 200 && pool.stats().workers > 1; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(pool.stats().workers, 1);
});

Deno.test("a worker that runs dry takes back jobs another worker has not started", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 2 });
  const spin = (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end);
    return performance.now();
  };
  // Sent together: some short jobs land behind the long one at first.
  const long = pool.submit(spin, 400);
  const shorts = [1, 2, 3, 4].map(() => pool.submit(spin, 5));
  const longDone = await long;
  const shortDone = await Promise.all(shorts);
  for (const t of shortDone) assert.ok(t < longDone, "a short job waited for the long one");
});

Deno.test("using: a pool in a coroutine is shut down when the scope ends", async () => {
  let pool: WorkerPoolExecutor | null = null;
  const r = await vrun(function* () {
    using p = new WorkerPoolExecutor({ maxWorkers: 1 });
    pool = p;
    return yield* p.submit(() => "inside");
  });
  assert.equal(r, "inside");
  assert.deepEqual(pool!.stats(), {
    workers: 0,
    queued: 0,
    running: 0,
    abandoned: 0,
    done: 1,
    submitted: 1,
  });
});

Deno.test(
  "the worker entry loads from a remote URL, as when aio is imported from JSR",
  DENO_ONLY,
  async () => {
    const root = new URL("../", import.meta.url);
    const ac = new AbortController();
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
      async (req) => {
        try {
          const body = await Deno.readFile(new URL("." + new URL(req.url).pathname, root));
          return new Response(body, { headers: { "content-type": "application/typescript" } });
        } catch {
          return new Response("not found", { status: 404 });
        }
      },
    );
    try {
      const remote: typeof import("../mod.ts") = await import(
        `http://127.0.0.1:${server.addr.port}/mod.ts`
      );
      assert.notEqual(remote.WorkerPoolExecutor, WorkerPoolExecutor, "a separate copy of aio");
      await using pool = new remote.WorkerPoolExecutor({ maxWorkers: 1 });
      assert.equal(await pool.submit((x: number) => x * 2, 21), 42);
      // The coroutine runner is a second module the worker loads on demand.
      assert.equal(
        await pool.submit(function* (x: number) {
          yield;
          return x + 1;
        }, 1),
        2,
      );
    } finally {
      ac.abort();
      await server.finished;
    }
  },
);
