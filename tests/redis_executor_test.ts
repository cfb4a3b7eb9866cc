// RedisExecutor against a real redis-server and worker processes: results,
// errors, map, cancellation and options behave as with WorkerPoolExecutor.
import { assert } from "../deps.ts";
import {
  BrokenWorkerError,
  CancelledError,
  ExceptionGroup,
  type Future,
  gather,
  getRunningLoop,
  RedisExecutor,
  RuntimeError,
  sleep,
  taskGroup,
  timeout,
  TimeoutError,
  ValueError,
  waitFor,
  workerFunction,
} from "../mod.ts";
import { needsRedis, vrun } from "./_util.ts";
import { rrun } from "./_io.ts";
import { startRedis, startWorker } from "./_redis.ts";

const JOBS = new URL("./fixtures/redis_jobs.ts", import.meta.url);
const untilAborted = workerFunction<() => Promise<never>>(JOBS, "untilAborted");
const failWithCause = workerFunction<() => never>(JOBS, "failWithCause");
const spin = workerFunction<() => void>(JOBS, "spin");

/** Waits until `cond()` holds, checking every few milliseconds. */
async function until(cond: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await cond())) await new Promise((r) => setTimeout(r, 5));
}

Deno.test(
  "RedisExecutor: submit, errors with name, message, remote stack and cause, map, runInExecutor",
  needsRedis(),
  async () => {
    const redis = await startRedis();
    const worker = startWorker(redis.url, "basic", 2);
    const ex = new RedisExecutor({ url: redis.url, queue: "basic" });
    try {
      assert.equal(await ex.submit((a: number, b: number) => a + b, 2, 3), 5);
      assert.deepEqual(
        await ex.submit((m: Map<string, Date>) => m, new Map([["d", new Date(5)]])),
        new Map([["d", new Date(5)]]),
      );
      const err = await ex.submit(failWithCause).then(() => null, (e) => e);
      assert.ok(err instanceof RangeError);
      assert.equal(err.message, "outer");
      assert.match(String(err.stack), /failWithCause/);
      assert.ok(err.cause instanceof TypeError);
      assert.equal(err.cause.message, "inner");
      const results = await vrun(function* () {
        return yield* ex.map((x: number) => x * x, [1, 2, 3, 4, 5], { chunksize: 2 }).toArray();
      });
      assert.deepEqual(results, [1, 4, 9, 16, 25]);
      const fromLoop = await vrun(function* () {
        const loop = getRunningLoop();
        return yield* gather([
          loop.runInExecutor(ex, (x: number) => x + 1, 1),
          ex.submit((x: number) => x + 2, 1),
        ]);
      });
      assert.deepEqual(fromLoop, [2, 3]);
      // Arguments that cannot be copied fail their own job, as with the local pool.
      const bad = await Promise.resolve(ex.submit((f: unknown) => f, () => 1)).then(
        () => null,
        (e) => e,
      );
      assert.equal(bad?.name, "DataCloneError");
      assert.deepEqual(ex.stats(), { queued: 0, running: 0, done: 9, submitted: 9 });
    } finally {
      await ex.shutdown();
      await worker.stop();
      await redis.close();
    }
  },
);

Deno.test(
  "RedisExecutor: cancel() of a queued job returns true and it never runs; of a running job aborts its jobSignal() remotely and returns false; waitFor, timeout and task groups cancel remote jobs",
  needsRedis(),
  async () => {
    const redis = await startRedis();
    const ex = new RedisExecutor({ url: redis.url, queue: "cancel" });
    const dir = await Deno.makeTempDir();
    const record = workerFunction<(p: string, l: string, ms?: number) => Promise<string>>(
      JOBS,
      "record",
    );
    try {
      // No worker yet: the job waits in Redis and is removed from there.
      const r = await redis.client();
      const queued = ex.submit(record, `${dir}/never`, "ran");
      await until(async () => (await r.xlen("aio:cancel:jobs")) === 1);
      assert.equal(queued.cancel(), true);
      assert.ok(queued.cancelled());
      await until(async () => (await r.xlen("aio:cancel:jobs")) === 0);
      const worker = startWorker(redis.url, "cancel", 1);
      try {
        const running = ex.submit(untilAborted);
        await until(() => ex.stats().running === 1);
        assert.equal(running.cancel("stop it"), false);
        const e = await running.then(() => null, (e) => e);
        assert.ok(e instanceof CancelledError);
        assert.equal(e.message, "stop it");
        // waitFor cancels the remote job like a local one.
        await assert.rejects(rrun(() => waitFor(ex.submit(untilAborted), 50)), TimeoutError);
        // So do timeout scopes and task groups: a sibling's failure cancels the remote job.
        await assert.rejects(
          rrun(() =>
            timeout(50, () =>
              (function* () {
                return yield* ex.submit(untilAborted);
              })())
          ),
          TimeoutError,
        );
        let remote: Future<unknown> | null = null;
        const group = await rrun(() =>
          taskGroup(function* (tg) {
            tg.createTask((function* () {
              remote = ex.submit(untilAborted);
              yield* remote;
            })());
            tg.createTask((function* () {
              while (ex.stats().running === 0) yield* sleep(5);
              throw new RangeError("sibling failed");
            })());
          })
        ).then(() => null, (e) => e);
        assert.ok(group instanceof ExceptionGroup, String(group));
        assert.ok(remote!.cancelled(), "the remote job was cancelled with its group");
        // The worker is free again, and the cancelled job never ran.
        assert.equal(await ex.submit(() => "free"), "free");
        await assert.rejects(Deno.stat(`${dir}/never`), Deno.errors.NotFound);
      } finally {
        await ex.shutdown();
        await worker.stop();
      }
    } finally {
      await redis.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "RedisExecutor: cancelRunning terminate settles at once and ends a job that ignores its signal after cancelGraceMs; timeoutMs",
  needsRedis(),
  async () => {
    const redis = await startRedis();
    const worker = startWorker(redis.url, "term", 1);
    const ex = new RedisExecutor({
      url: redis.url,
      queue: "term",
      cancelRunning: "terminate",
      cancelGraceMs: 50,
    });
    try {
      const fut = ex.submit(spin);
      await until(() => ex.stats().running === 1);
      assert.equal(fut.cancel(), true);
      assert.ok(fut.cancelled());
      // The spinning worker thread is terminated and replaced: jobs run again.
      assert.equal(await ex.submit(() => 7), 7);
      await assert.rejects(
        Promise.resolve(ex.submitWith({ timeoutMs: 50 }, spin)),
        TimeoutError,
      );
      assert.equal(await ex.submit(() => 8), 8);
    } finally {
      await ex.shutdown();
      await worker.stop();
      await redis.close();
    }
  },
);

Deno.test("RedisExecutor: bad options name the problem; submit after shutdown is a RuntimeError", async () => {
  const ok = { url: "redis://127.0.0.1:1", queue: "q" };
  assert.throws(() => new RedisExecutor({ ...ok, url: "http://x" }), /redis:\/\//);
  assert.throws(() => new RedisExecutor({ ...ok, url: "" }), /url/);
  assert.throws(() => new RedisExecutor({ ...ok, queue: "a b" }), /queue/);
  assert.throws(() => new RedisExecutor({ ...ok, retries: -1 }), ValueError);
  assert.throws(() => new RedisExecutor({ ...ok, retries: 1.5 }), /retries/);
  assert.throws(() => new RedisExecutor({ ...ok, deadWorkerTimeoutMs: 10 }), /deadWorkerTimeoutMs/);
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => new RedisExecutor({ ...ok, cancelRunning: "kill" as any }),
    /cancelRunning/,
  );
  // deno-lint-ignore no-explicit-any
  assert.throws(() => new RedisExecutor({ ...ok, retry: 1 } as any), /unknown option "retry"/);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => new RedisExecutor(undefined as any), /options object/);
  const ex = new RedisExecutor(ok);
  assert.throws(() => ex.submit(Math.max, 1), /native/);
  assert.throws(() => ex.submitWith({ retries: -2 }, () => 1), /retries/);
  const inc = (x: number) => x + 1;
  assert.throws(() => ex.map(inc, [1], { chunksize: 0 }), /chunksize must be an integer >= 1/);
  assert.throws(() => ex.map(inc, [1], { buffersize: 1.5 }), /buffersize/);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => ex.map(inc, 42 as any), /map\(\) expects an iterable, got 42/);
  await ex.shutdown();
  assert.throws(() => ex.submit(() => 1), RuntimeError);
  assert.ok(BrokenWorkerError);
});

Deno.test(
  "RedisExecutor: a live worker keeps a job longer than deadWorkerTimeoutMs; remoteStats; shutdown waits for every future",
  needsRedis(),
  async () => {
    const redis = await startRedis();
    const worker = startWorker(redis.url, "live", 2);
    const ex = new RedisExecutor({ url: redis.url, queue: "live", deadWorkerTimeoutMs: 300 });
    try {
      const slow = ex.submit(
        (ms: number) => new Promise((r) => setTimeout(() => r("slow"), ms)),
        1500,
      );
      await until(() => ex.stats().running === 1);
      await until(async () => (await vrun(() => ex.remoteStats())).workers === 1);
      const remote = await vrun(() => ex.remoteStats());
      assert.deepEqual(remote, { queued: 0, running: 1, workers: 1 });
      assert.equal(await slow, "slow", "refreshed by its live worker, never taken for dead");
      const last = ex.submit(
        (ms: number) => new Promise((r) => setTimeout(() => r("last"), ms)),
        50,
      );
      await ex.shutdown({ wait: true });
      assert.equal(last.result(), "last");
    } finally {
      await ex.shutdown();
      await worker.stop();
      await redis.close();
    }
  },
);

Deno.test("RedisExecutor: with Redis unreachable, shutdown({ wait: false, cancelFutures: true }) cancels and closes", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close(); // nothing listens there now
  const ex = new RedisExecutor({ url: `redis://127.0.0.1:${port}`, queue: "nowhere" });
  const fut = ex.submit((x: number) => x, 1);
  await until(() => ex._cmd?.status === "reconnecting");
  await ex.shutdown({ wait: false, cancelFutures: true });
  assert.ok(fut.cancelled());
  await ex.shutdown(); // resolves once the connection is closed
  assert.equal(ex._cmd?.status, "end");
});
