// Cancelling jobs, per-job timeouts and shutdown. Ported from CPython's
// test_concurrent_futures (test_future.py, test_shutdown.py) where a
// counterpart exists; cooperative and terminating cancellation go further
// than CPython, whose running jobs cannot be stopped at all.
import { assert } from "../deps.ts";
import {
  CancelledError,
  createTask,
  type Future,
  type JobContext,
  run,
  sleep,
  TimeoutError,
  workerFunction,
  WorkerPoolExecutor,
} from "../mod.ts";
import { CORE, until } from "./_util.ts";

const jobs = new URL("./fixtures/executor_jobs.ts", import.meta.url);
type Jobs = typeof import("./fixtures/executor_jobs.ts");
const setState = workerFunction<Jobs["setState"]>(jobs, "setState");
const getState = workerFunction<Jobs["getState"]>(jobs, "getState");
const untilAborted = workerFunction<Jobs["untilAborted"]>(jobs, "untilAborted");
const sleepForever = workerFunction<Jobs["sleepForever"]>(jobs, "sleepForever");

const settled = <T>(f: PromiseLike<T>): Promise<T> => Promise.resolve(f);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function spin(ms: number): number {
  const end = performance.now() + ms;
  while (performance.now() < end);
  return ms;
}

/** A shared flag a job sets when it starts (see markStarted in the fixtures). */
function startFlag(): { flag: Int32Array; started(): Promise<void> } {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  return {
    flag,
    async started() {
      const r = Atomics.waitAsync(flag, 0, 0);
      if (r.async) await r.value;
    },
  };
}

Deno.test("test_concurrent_futures::FutureTests::test_cancel (a queued job never runs)", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
  const busy = pool.submit(spin, 80);
  const queued = pool.submit(setState, "ran");
  await pause(10); // sent to the worker, waiting behind the spinning job
  assert.equal(queued.cancel(), true);
  assert.equal(queued.cancelled(), true);
  assert.equal(queued.cancel(), false, "cancelling twice");
  assert.equal(await busy, 80);
  assert.equal(await pool.submit(getState), "unset", "the cancelled job did not run");
  // One still in the pool's own queue.
  const a = pool.submit(spin, 1);
  const b = pool.submit(setState, "ran");
  assert.equal(b.cancel(), true);
  await a;
  assert.equal(await pool.submit(getState), "unset");
});

Deno.test("cancel: a running job gets its AbortSignal; cancel() returns false, the future ends cancelled", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
  const s = startFlag();
  const fut = pool.submit(untilAborted, s.flag);
  await s.started();
  assert.equal(fut.cancel("stop please"), false, "refused: the job is running");
  assert.equal(fut.done(), false);
  await assert.rejects(settled(fut), CancelledError);
  assert.equal(fut.cancelled(), true);
  assert.equal(await pool.submit(() => "next"), "next");
});

Deno.test("cancel: a task awaiting a running job is cancelled once the job stops", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
  // The real clock: on the virtual one, sleep() waits for the job (time does
  // not move while a job runs) and the job waits for the cancel.
  await run(function* () {
    const job = pool.submit(untilAborted);
    const task = createTask((function* () {
      return yield* job;
    })());
    yield* sleep(30);
    task.cancel();
    try {
      yield* task;
      assert.fail("not cancelled");
    } catch (e) {
      assert.ok(e instanceof CancelledError);
    }
    assert.equal(job.cancelled(), true);
  }, { core: CORE });
});

Deno.test("cancel: a coroutine job is cancelled at its suspension point; its finally runs", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
  const s = startFlag();
  const fut = pool.submit(sleepForever, s.flag);
  await s.started();
  fut.cancel();
  await assert.rejects(settled(fut), CancelledError);
  const sawFinally = await pool.submit(() =>
    (globalThis as unknown as Record<string, unknown>).sawFinally
  );
  assert.equal(sawFinally, true);
});

Deno.test("cancelRunning: terminate stops a job that ignores cancellation and replaces its worker", async () => {
  await using pool = new WorkerPoolExecutor({
    maxWorkers: 1,
    cancelRunning: "terminate",
    cancelGraceMs: 30,
  });
  const s = startFlag();
  const forever = pool.submit((flag: Int32Array) => {
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    // Blocks its thread and ignores its signal. Bounded: Deno 2.9's
    // Worker.terminate() cannot stop a thread busy in synchronous code.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);
  }, s.flag);
  const behind = pool.submit((x: number) => x * 2, 21); // sent to the same worker, not started
  await s.started();
  assert.equal(forever.cancel(), true, "terminate mode cancels at once");
  assert.equal(forever.cancelled(), true);
  // The job behind it moves to a replacement worker at once: the spinning
  // one no longer counts toward maxWorkers, and goes after the grace period.
  assert.equal(await behind, 42);
  await until(() => pool.stats().workers === 1, "the spinning worker is terminated");
  assert.equal(pool.stats().abandoned, 0);
  assert.equal(await pool.submit(() => "alive"), "alive");
});

Deno.test("cancelRunning: terminate leaves a worker alone if the job stops within the grace period", async () => {
  await using pool = new WorkerPoolExecutor({
    maxWorkers: 1,
    cancelRunning: "terminate",
    cancelGraceMs: 5000,
  });
  await pool.submit(setState, "kept");
  const s = startFlag();
  const fut = pool.submit(untilAborted, s.flag);
  await s.started();
  assert.equal(fut.cancel(), true);
  assert.equal(pool.stats().abandoned, 1, "cancelled, and still running");
  await until(() => pool.stats().abandoned === 0, "the job answers its stop request");
  assert.equal(pool.stats().workers, 1);
  assert.equal(await pool.submit(getState), "kept", "same worker: back in service, its state kept");
});

Deno.test("cancelRunning: terminate spares the other jobs running on the worker of a cancelled one", async () => {
  await using pool = new WorkerPoolExecutor({
    maxWorkers: 1,
    cancelRunning: "terminate",
    cancelGraceMs: 20,
  });
  const s = startFlag();
  const stubborn = pool.submit((flag: Int32Array) => {
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    return new Promise(() => {}); // never settles, ignores its signal
  }, s.flag);
  const sibling = pool.submit(() => new Promise((r) => setTimeout(() => r("sibling"), 150)));
  await s.started();
  assert.equal(stubborn.cancel(), true);
  // The grace period passes long before the sibling is done: the worker goes
  // only once nothing but the abandoned job runs there.
  assert.equal(await sibling, "sibling");
  await until(() => pool.stats().workers === 0, "the worker left with only the abandoned job goes");
  assert.equal(await pool.submit(() => "next"), "next");
});

Deno.test("timeoutMs: a job running too long fails with TimeoutError and is stopped", async () => {
  await using pool = new WorkerPoolExecutor({
    maxWorkers: 1,
    cancelRunning: "terminate",
    cancelGraceMs: 20,
  });
  const t0 = performance.now();
  await assert.rejects(
    settled(pool.submitWith({ timeoutMs: 50 }, () => {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);
    })),
    (e: Error) => e instanceof TimeoutError && /timeoutMs=50/.test(e.message),
  );
  assert.ok(performance.now() - t0 < 2000);
  assert.equal(await pool.submit(() => 1), 1);
  // Cooperative: the signal aborts at the timeout.
  await assert.rejects(settled(pool.submitWith({ timeoutMs: 20 }, untilAborted)), TimeoutError);
});

Deno.test("timeoutMs: a job ignoring its signal does not wedge a one-worker pool (cooperative mode)", async () => {
  const pool = new WorkerPoolExecutor({ maxWorkers: 1, cancelGraceMs: 60_000 });
  const blockAWhile = () => {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);
  };
  const stuck = pool.submitWith({ timeoutMs: 30 }, blockAWhile);
  await assert.rejects(settled(stuck), TimeoutError);
  // The blocked worker holds no slot: the next job gets a replacement.
  assert.equal(await pool.submit((x: number) => x + 1, 1), 2);
  const st = pool.stats();
  assert.equal(st.abandoned, 1);
  assert.equal(st.workers, 2, "the replacement, and the abandoned one in its grace period");
  // Shutdown terminates the abandoned job rather than waiting a minute for it.
  await pool.shutdown();
  assert.deepEqual(pool.stats(), {
    workers: 0,
    queued: 0,
    running: 0,
    abandoned: 0,
    done: 2,
    submitted: 2,
  });
});

Deno.test("timeoutMs: after the grace period, the worker of a job ignoring its signal is terminated", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 1, cancelGraceMs: 20 });
  const stuck = pool.submitWith({ timeoutMs: 10 }, () => {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);
  });
  await assert.rejects(settled(stuck), TimeoutError);
  await until(() => pool.stats().workers === 0, "the abandoned worker is terminated");
  assert.equal(pool.stats().abandoned, 0);
  assert.equal(await pool.submit(() => "fresh"), "fresh");
});

Deno.test("timeoutMs: the clock starts when a worker starts the job, not at submit", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
  const first = pool.submit(spin, 150);
  const second = pool.submitWith({ timeoutMs: 100 }, spin, 10);
  assert.equal(await first, 150);
  assert.equal(await second, 10);
  assert.throws(() => pool.submitWith({ timeoutMs: NaN }, spin, 1), TypeError);
});

Deno.test("test_concurrent_futures::test_shutdown::test_run_after_shutdown", async () => {
  const pool = new WorkerPoolExecutor({ maxWorkers: 1 });
  await pool.shutdown();
  assert.throws(() => pool.submit(() => 1), { name: "RuntimeError", message: /after shutdown/ });
  assert.throws(() => pool.map((x: number) => x, [1]), { name: "RuntimeError" });
  await pool.shutdown(); // twice is fine
});

Deno.test("test_concurrent_futures::test_shutdown::test_cancel_futures", async () => {
  const pool = new WorkerPoolExecutor({ maxWorkers: 1 });
  const s = startFlag();
  const first = pool.submit(
    (ms: number, flag: Int32Array) => {
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      const end = performance.now() + ms;
      while (performance.now() < end);
      return ms;
    },
    20,
    s.flag,
  );
  const futs: Future<number>[] = [first];
  for (let i = 1; i < 20; i++) futs.push(pool.submit(spin, 20));
  await s.started();
  await pool.shutdown({ wait: true, cancelFutures: true });
  const cancelled = futs.filter((f) => f.cancelled()).length;
  const finished = futs.filter((f) => !f.cancelled() && f.result() === 20).length;
  assert.equal(cancelled + finished, 20);
  assert.ok(cancelled >= 15, `only ${cancelled} cancelled`);
  assert.ok(finished >= 1);
  assert.deepEqual(pool.stats(), {
    workers: 0,
    queued: 0,
    running: 0,
    abandoned: 0,
    done: 20,
    submitted: 20,
  });
});

Deno.test("test_concurrent_futures::test_shutdown::test_hang_issue12364", async () => {
  const pool = new WorkerPoolExecutor({ maxWorkers: 2 });
  const futs = Array.from({ length: 50 }, (_, i) => pool.submit(spin, i % 3));
  await pool.shutdown();
  for (const f of futs) assert.ok(f.done());
});

Deno.test("test_concurrent_futures::test_shutdown::test_shutdown_no_wait", async () => {
  const pool = new WorkerPoolExecutor({ maxWorkers: 2 });
  const futs = Array.from({ length: 4 }, () => pool.submit(spin, 30));
  await pool.shutdown({ wait: false });
  assert.ok(futs.some((f) => !f.done()), "returned before the jobs finished");
  // The jobs still finish, then the workers stop.
  assert.deepEqual(await Promise.all(futs), [30, 30, 30, 30]);
  for (let i = 0; i < 100 && pool.stats().workers > 0; i++) await pause(5);
  assert.equal(pool.stats().workers, 0);
});

Deno.test("test_concurrent_futures::test_shutdown::test_context_manager_shutdown", async () => {
  let pool: WorkerPoolExecutor;
  {
    await using p = new WorkerPoolExecutor({ maxWorkers: 2 });
    pool = p;
    assert.equal(await p.submit((x: number) => Math.abs(x), -5), 5);
  }
  assert.deepEqual(pool.stats(), {
    workers: 0,
    queued: 0,
    running: 0,
    abandoned: 0,
    done: 1,
    submitted: 1,
  });
});

Deno.test("cancel: a job that polls cancelled also sees its signal abort (the flag and the message agree)", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
  const s = startFlag();
  const fut = pool.submit(function (this: JobContext, flag: Int32Array) {
    const signal = this.signal; // made before the stop request
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    while (!this.cancelled); // sees the shared flag first
    const atOnce = signal.aborted;
    // The pool's message arrives later; the signal must stay aborted with one reason.
    return new Promise((r) =>
      setTimeout(() => r([atOnce, signal.aborted, (signal.reason as Error).name]), 20)
    );
  }, s.flag);
  await s.started();
  assert.equal(fut.cancel(), false);
  assert.deepEqual(await fut, [true, true, "CancelledError"]);
});

Deno.test("cancel: a job blocking its worker sees the request through JobContext.cancelled", async () => {
  await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
  const s = startFlag();
  const fut = pool.submit(function (this: JobContext, flag: Int32Array) {
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    let n = 0;
    for (;;) {
      if (++n % 1024 === 0) this.throwIfCancelled();
    }
  }, s.flag);
  await s.started();
  assert.equal(fut.cancel(), false);
  await assert.rejects(settled(fut), CancelledError);
  assert.equal(fut.cancelled(), true);
  // The same through currentJob(), for a job that returns instead of throwing.
  const s2 = startFlag();
  const counted = pool.submit(
    workerFunction<Jobs["countUntilCancelled"]>(jobs, "countUntilCancelled"),
    s2.flag,
  );
  await s2.started();
  counted.cancel();
  assert.equal(typeof (await counted), "number", "it stopped and returned its count");
});
