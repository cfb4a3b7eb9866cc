// Workers that die, initializers that fail, and input that cannot be sent.
// Ported from CPython's test_concurrent_futures (test_deadlock.py,
// test_init.py, test_process_pool.py) where a counterpart exists. Unlike
// CPython's BrokenProcessPool, a dead worker breaks only its own jobs.
import { assert } from "../deps.ts";
import { BrokenWorkerError, type Future, workerFunction, WorkerPoolExecutor } from "../mod.ts";
import { DENO_ONLY } from "./_util.ts";
import { EXIT, HEAP_LIMITS, WEB_SCOPE } from "./_executor_runtime.ts";

const jobs = new URL("./fixtures/executor_jobs.ts", import.meta.url);
type Jobs = typeof import("./fixtures/executor_jobs.ts");

const settled = <T>(f: PromiseLike<T>): Promise<T> => Promise.resolve(f);
const outcome = (f: PromiseLike<unknown>) =>
  settled(f).then((v) => ({ ok: v }), (e: Error) => ({ err: e }));

Deno.test("test_concurrent_futures::test_deadlock::test_error_during_func_exec_on_worker", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
  await assert.rejects(
    settled(pool.submit(() => {
      throw new SyntaxError("raised in the job");
    })),
    SyntaxError,
  );
  assert.equal(await pool.submit(() => "fine"), "fine");
});

Deno.test("test_concurrent_futures::test_deadlock::test_crash_during_func_exec_on_worker", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
  // An error nobody catches, thrown while the job is pending: the worker dies.
  const crash = pool.submit(() =>
    new Promise(() => {
      setTimeout(() => {
        throw new Error("async boom");
      }, 1);
    })
  );
  const r = await outcome(crash);
  assert.ok("err" in r && r.err instanceof BrokenWorkerError, String(r));
  const err = (r as { err: Error }).err;
  assert.match(err.message, /uncaught error: Error: async boom/);
  assert.equal((err.cause as Error).message, "async boom");
  assert.match((err.cause as Error).stack!, /async boom/);
  // Replaced: the pool keeps serving.
  assert.equal(await pool.submit(() => "after"), "after");
});

Deno.test("a worker dying of an unhandled rejection fails its running job only", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
  const fut = pool.submit(() =>
    new Promise(() => {
      Promise.reject(new TypeError("nobody handles me"));
    })
  );
  const r = await outcome(fut);
  assert.ok("err" in r && r.err instanceof BrokenWorkerError);
  assert.ok((r as { err: Error }).err.cause instanceof TypeError);
  assert.equal(await pool.submit(() => 2), 2);
});

Deno.test("test_concurrent_futures::test_deadlock::test_exit_during_func_exec_on_worker", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
  // Deno.exit on Deno, process.exit on Node and Bun.
  const viaExit = await outcome(pool.submit(new Function(EXIT.call(3)) as () => never));
  assert.ok("err" in viaExit && viaExit.err instanceof BrokenWorkerError);
  assert.match((viaExit as { err: Error }).err.message, EXIT.pattern(3));
  if (!WEB_SCOPE.ignore) {
    const viaClose = await outcome(
      pool.submit(() => (self as unknown as { close(): void }).close()),
    );
    assert.ok("err" in viaClose && viaClose.err instanceof BrokenWorkerError);
    assert.match((viaClose as { err: Error }).err.message, /self\.close\(\)/);
  }
  assert.equal(await pool.submit(() => "still here"), "still here");
});

Deno.test(
  "a job posting anything to the parent cannot crash it: its worker dies, the pool heals",
  WEB_SCOPE,
  async () => {
    await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
    const posts = [null, undefined, 42, "text", { t: 12 }, { t: 12, r: null, x: 7 }];
    for (const value of posts) {
      const r = await outcome(pool.submit((v: unknown) => {
        (self as unknown as { postMessage(m: unknown): void }).postMessage(v);
        return "not reached";
      }, value));
      assert.ok("err" in r && r.err instanceof BrokenWorkerError, `${value}: ${String(r)}`);
      assert.match((r as { err: Error }).err.message, /self\.postMessage\(\)/);
    }
    // Whatever a job does to the scope, the entry's own channel stays out of reach.
    const r = await outcome(pool.submit(() => {
      delete (self as unknown as { postMessage?: unknown }).postMessage;
      return typeof (self as unknown as { postMessage?: unknown }).postMessage;
    }));
    assert.deepEqual(r, { ok: "undefined" });
    assert.equal(await pool.submit(() => "healed"), "healed");
  },
);

Deno.test(
  "a job cannot forge another job's result: a protocol-shaped message is the worker's fault",
  WEB_SCOPE,
  async () => {
    await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
    // Both run on the one worker: the victim (seq 0) waits, the forger posts
    // a well-formed result message for seq 0 (and then for seq 0 to 9).
    const victim = pool.submit(() => new Promise((r) => setTimeout(() => r("real"), 200)));
    const forger = pool.submit(() => {
      const post = (self as unknown as { postMessage(m: unknown): void }).postMessage;
      for (let seq = 0; seq < 10; seq++) {
        post({ t: 12, r: [seq, 1, "forged"], x: null, busy: 0, n: 1 });
      }
      return "forger";
    });
    const [v, f] = await Promise.all([outcome(victim), outcome(forger)]);
    assert.notDeepEqual(v, { ok: "forged" });
    assert.ok("err" in v && v.err instanceof BrokenWorkerError, "the victim's worker died");
    assert.ok("err" in f && f.err instanceof BrokenWorkerError);
    assert.equal(await pool.submit(() => "healed"), "healed");
  },
);

Deno.test("a dying worker's unstarted jobs move to another worker; other workers are untouched", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 2 });
  const spin = (ms: number, v: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end);
    return v;
  };
  const futs: Future<number>[] = [];
  for (let i = 0; i < 6; i++) futs.push(pool.submit(spin, 20, i));
  const crash = pool.submit(new Function(EXIT.call(1)) as () => never);
  for (let i = 6; i < 12; i++) futs.push(pool.submit(spin, 5, i));
  const r = await outcome(crash);
  assert.ok("err" in r && r.err instanceof BrokenWorkerError);
  assert.deepEqual(await Promise.all(futs), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  assert.ok(pool.stats().workers <= 2);
});

Deno.test("test_concurrent_futures::test_init::InitializerMixin::test_initializer", async () => {
  const setState = workerFunction<Jobs["setState"]>(jobs, "setState");
  const getState = workerFunction<Jobs["getState"]>(jobs, "getState");
  await using pool = new WorkerPoolExecutor({
    maxWorkers: 2,
    initializer: setState,
    initargs: ["initialized"],
  });
  const states = await Promise.all([pool.submit(getState), pool.submit(getState)]);
  assert.deepEqual(states, ["initialized", "initialized"]);
  // An async initializer finishes before the first job.
  await using pool2 = new WorkerPoolExecutor({
    maxWorkers: 1,
    initializer: workerFunction<Jobs["setStateLater"]>(jobs, "setStateLater"),
    initargs: ["later"],
  });
  assert.equal(await pool2.submit(getState), "later");
});

Deno.test("test_concurrent_futures::test_init::FailingInitializerMixin::test_initializer", async () => {
  await using pool = new WorkerPoolExecutor({
    maxWorkers: 2,
    initializer: workerFunction<Jobs["failInit"]>(jobs, "failInit"),
  });
  const futs = [pool.submit(() => 1), pool.submit(() => 2), pool.submit(() => 3)];
  for (const f of futs) {
    const r = await outcome(f);
    assert.ok("err" in r && r.err instanceof BrokenWorkerError);
    assert.match(
      (r as { err: Error }).err.message,
      /initializer failed: RangeError: initializer refuses/,
    );
    assert.ok((r as { err: Error }).err.cause instanceof RangeError);
  }
  // No respawning: the pool is broken and says so at submit.
  assert.throws(() => pool.submit(() => 4), {
    name: "BrokenWorkerError",
    message: /initializer failed/,
  });
  assert.deepEqual(pool.stats(), {
    workers: 0,
    queued: 0,
    running: 0,
    abandoned: 0,
    done: 3,
    submitted: 3,
  });
});

for (const call of [EXIT.call(0), "self.close()"]) {
  const how = call;
  const options = call === "self.close()" ? WEB_SCOPE : {};
  Deno.test(
    `an initializer that calls ${how} breaks the pool instead of respawning workers`,
    options,
    async () => {
      const init = new Function(call) as () => void;
      await using pool = new WorkerPoolExecutor({ maxWorkers: 2, initializer: init });
      const futs = [pool.submit(() => 1), pool.submit(() => 2)];
      for (const f of futs) {
        const r = await outcome(f);
        assert.ok("err" in r && r.err instanceof BrokenWorkerError, String(r));
        assert.match((r as { err: Error }).err.message, /initializer failed/);
        assert.match((r as { err: Error }).err.message, new RegExp(how.replace(/[.()]/g, "\\$&")));
      }
      assert.throws(() => pool.submit(() => 3), { name: "BrokenWorkerError" });
      const st = pool.stats();
      assert.equal(st.workers, 0, "no worker is respawned");
      assert.equal(st.submitted, 2);
      assert.equal(st.done, 2);
    },
  );
}

Deno.test("an initializer that never returns breaks the pool after initializerTimeoutMs", async () => {
  await using pool = new WorkerPoolExecutor({
    maxWorkers: 1,
    initializer: () => new Promise(() => {}),
    initializerTimeoutMs: 50,
  });
  const r = await outcome(pool.submit(() => 1));
  assert.ok("err" in r && r.err instanceof BrokenWorkerError, String(r));
  assert.match(
    (r as { err: Error }).err.message,
    /initializer did not finish within initializerTimeoutMs=50/,
  );
  assert.throws(() => pool.submit(() => 2), { name: "BrokenWorkerError" });
  assert.equal(pool.stats().workers, 0);
});

Deno.test(
  "maxHeapMb: a job that exhausts its heap fails alone; the process and the pool live on",
  HEAP_LIMITS,
  async () => {
    await using pool = new WorkerPoolExecutor({
      maxWorkers: 1,
      maxHeapMb: 64,
      initializer: workerFunction<Jobs["setState"]>(jobs, "setState"),
      initargs: ["initialized"],
    });
    assert.equal(
      await pool.submit(workerFunction<Jobs["getState"]>(jobs, "getState")),
      "initialized",
    );
    const hog = pool.submit(() => {
      const hoard: unknown[] = [];
      for (;;) hoard.push(new Array(1e6).fill(1));
    });
    const r = await outcome(hog);
    assert.ok("err" in r && r.err instanceof BrokenWorkerError, String(r));
    assert.match((r as { err: Error }).err.message, /ran out of memory \(maxHeapMb=64\)/);
    // A fresh worker, initialized again, takes the next jobs.
    assert.equal(
      await pool.submit(workerFunction<Jobs["getState"]>(jobs, "getState")),
      "initialized",
    );
    assert.deepEqual(
      await Promise.all([1, 2, 3].map((x) => pool.submit((v: number) => v * v, x))),
      [
        1,
        4,
        9,
      ],
    );
    assert.equal(pool.stats().workers, 1);
  },
);

Deno.test("bad input: initializerTimeoutMs and maxHeapMb are checked", () => {
  assert.throws(
    () => new WorkerPoolExecutor({ initializerTimeoutMs: "1s" as unknown as number }),
    { name: "TypeError", message: /initializerTimeoutMs/ },
  );
  assert.throws(() => new WorkerPoolExecutor({ maxHeapMb: -1 }), {
    name: "ValueError",
    message: /maxHeapMb/,
  });
  assert.throws(() => new WorkerPoolExecutor({ maxHeapMb: 1.5 }), {
    name: "ValueError",
    message: /maxHeapMb/,
  });
});

Deno.test("bad input: functions that cannot be sent are a TypeError at submit", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
  class Counter {
    n = 1;
    inc() {
      return this.n + 1;
    }
    static twice(x: number) {
      return x * 2;
    }
    arrow = () => this.n;
  }
  const c = new Counter();
  const cases: [unknown, RegExp][] = [
    [Math.max, /native or bound/],
    [((x: number) => x).bind(null), /native or bound/],
    [c.inc, /method that uses this/],
    [c.arrow, /arrow function that uses this/],
    [Counter, /is a class/],
    [async function* gen() {}, /async generator/],
    [42, /expects a function or workerFunction/],
    [null, /expects a function or workerFunction/],
  ];
  for (const [fn, message] of cases) {
    assert.throws(() => pool.submit(fn as () => void), (e: Error) => {
      assert.ok(e instanceof TypeError, `${e}`);
      assert.match(e.message, message);
      return true;
    });
  }
  // A method that does not use `this` is fine, static or not.
  assert.equal(await pool.submit(Counter.twice, 4), 8);
  const obj = {
    triple(x: number) {
      return x * 3;
    },
  };
  assert.equal(await pool.submit(obj.triple, 2), 6);
  assert.equal(pool.stats().workers, 1);
});

Deno.test("bad input: a closure fails at its first call with a message saying it must be self-contained", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
  const factor = 3;
  const r = await outcome(pool.submit((x: number) => x * factor, 2));
  assert.ok("err" in r && r.err instanceof ReferenceError);
  assert.match((r as { err: Error }).err.message, /factor is not defined/);
  assert.match((r as { err: Error }).err.message, /must be self-contained/);
  assert.match((r as { err: Error }).err.message, /workerFunction/);
});

Deno.test("bad input: arguments that do not clone fail the job with DataCloneError; the pool lives on", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
  const good1 = pool.submit((x: number) => x, 1);
  const bad = pool.submit((f: unknown) => typeof f, () => "a function");
  const good2 = pool.submit((x: number) => x, 2);
  const r = await outcome(bad);
  assert.ok("err" in r && (r as { err: Error }).err.name === "DataCloneError");
  assert.deepEqual(await Promise.all([good1, good2]), [1, 2]);
  // A result that does not clone fails its own job.
  const badResult = await outcome(pool.submit(() => Symbol("no")));
  assert.ok("err" in badResult);
  assert.match((badResult as { err: Error }).err.message, /could not be sent back/);
  assert.equal(await pool.submit(() => "ok"), "ok");
});

Deno.test("bad input: maxQueue bounds the jobs waiting for a worker (QueueFull)", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 1, maxQueue: 2 });
  const a = pool.submit(() => 1);
  const b = pool.submit(() => 2);
  assert.throws(() => pool.submit(() => 3), { name: "QueueFull" });
  assert.deepEqual(await Promise.all([a, b]), [1, 2]);
  assert.equal(await pool.submit(() => 3), 3);
  assert.throws(() => new WorkerPoolExecutor({ maxQueue: 0 }), { name: "ValueError" });
  assert.throws(
    () => new WorkerPoolExecutor({ cancelRunning: "kill" as "terminate" }),
    TypeError,
  );
  assert.throws(
    () => new WorkerPoolExecutor({ initargs: [() => 1], initializer: () => {} }),
    TypeError,
  );
});

Deno.test({
  name: "a pool that cannot start workers fails its jobs with BrokenWorkerError, once",
  ...DENO_ONLY,
  permissions: { read: false },
  async fn() {
    await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
    const r = await outcome(pool.submit(() => 1));
    assert.ok("err" in r && r.err instanceof BrokenWorkerError, String(r));
    assert.match((r as { err: Error }).err.message, /worker/);
    assert.throws(() => pool.submit(() => 2), { name: "BrokenWorkerError" });
  },
});

Deno.test(
  'a worker that cannot load its module (no --allow-read): BrokenWorkerError with Deno\'s reason and no stray "(:0)"',
  DENO_ONLY,
  async () => {
    const fixture = new URL("./fixtures/pool_without_read.ts", import.meta.url);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-lock", "--no-check", fixture.pathname],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const got = JSON.parse(text.split("\n").at(-1)!);
    assert.equal(got.name, "BrokenWorkerError", text);
    assert.match(got.message, /--allow-read/);
    assert.doesNotMatch(got.message, /\(:0\)/);
    assert.match(got.message, /[^)]$/, "the message ends with Deno's reason, not a location");
  },
);
