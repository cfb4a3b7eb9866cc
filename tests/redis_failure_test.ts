// RedisExecutor when things fail: a worker process killed mid-job, Redis
// restarted, a caller that goes away, foreign messages on the queue, a
// worker stopped gracefully. Worker processes stand in for machines.
import { assert } from "../deps.ts";
import { needsRedis } from "./_util.ts";
import { BrokenWorkerError, RedisExecutor, RuntimeError, workerFunction } from "../mod.ts";
import { decode, loadCodec } from "../src/redis/redis_protocol.ts";
import { keys, startRedis, startWorker } from "./_redis.ts";

const JOBS = new URL("./fixtures/redis_jobs.ts", import.meta.url);
const record = workerFunction<(path: string, line: string, ms?: number) => Promise<string>>(
  JOBS,
  "record",
);

/** Waits until `cond()` holds, checking every few milliseconds. */
async function until(cond: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await cond())) await new Promise((r) => setTimeout(r, 10));
}

async function lines(path: string): Promise<string[]> {
  try {
    return (await Deno.readTextFile(path)).split("\n").filter((l) => l !== "");
  } catch {
    return [];
  }
}

Deno.test(
  "a worker process SIGKILLed mid-job: BrokenWorkerError within deadWorkerTimeoutMs; with retries, another worker runs it again",
  needsRedis(),
  async () => {
    const redis = await startRedis();
    const dir = await Deno.makeTempDir();
    const a = startWorker(redis.url, "dead", 2);
    const ex = new RedisExecutor({ url: redis.url, queue: "dead", deadWorkerTimeoutMs: 300 });
    let b: ReturnType<typeof startWorker> | null = null;
    try {
      const lost = ex.submit(record, `${dir}/lost`, "once", 60_000);
      const retried = ex.submitWith({ retries: 1 }, record, `${dir}/retried`, "again", 200);
      await until(async () => (await lines(`${dir}/lost`)).length === 1);
      await until(async () => (await lines(`${dir}/retried`)).length === 1);
      assert.equal(await a.stop("SIGKILL"), 137);
      const e = await lost.then(() => null, (e) => e);
      assert.ok(e instanceof BrokenWorkerError, String(e));
      assert.match(e.message, /deadWorkerTimeoutMs=300/);
      // The retried job waits for a worker; a new one takes it.
      b = startWorker(redis.url, "dead", 1);
      assert.equal(await retried, "again");
      assert.deepEqual(await lines(`${dir}/retried`), ["again", "again"]);
      assert.deepEqual(await lines(`${dir}/lost`), ["once"]);
      // The dead worker's consumer is forgotten once nothing is pending for it.
      const r = await redis.client();
      assert.equal(await r.xlen("aio:dead:jobs"), 0);
    } finally {
      await ex.shutdown();
      await b?.stop();
      await redis.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "Redis restarted with persistence: clients and workers reconnect, every job settles, none runs twice",
  needsRedis(),
  async () => {
    const redis = await startRedis({ persistent: true });
    const dir = await Deno.makeTempDir();
    const w = startWorker(redis.url, "restart", 2);
    const ex = new RedisExecutor({ url: redis.url, queue: "restart" });
    try {
      const futs = Array.from(
        { length: 30 },
        (_, i) => ex.submit(record, `${dir}/effects`, `job${i}`, 40),
      );
      await until(async () => (await lines(`${dir}/effects`)).length >= 4);
      await redis.stop();
      await redis.start();
      const results = await Promise.allSettled(futs.map((f) => Promise.resolve(f)));
      const effects = await lines(`${dir}/effects`);
      for (let i = 0; i < futs.length; i++) {
        const res = results[i];
        const n = effects.filter((l) => l === `job${i}`).length;
        assert.ok(n <= 1, `job${i} ran ${n} times`);
        if (res.status === "fulfilled") assert.equal(res.value, `job${i}`);
        else assert.ok(res.reason instanceof BrokenWorkerError, String(res.reason));
      }
      // Every accepted job ran: none was lost in the restart.
      assert.ok(results.every((r) => r.status === "fulfilled"));
    } finally {
      await ex.shutdown();
      await w.stop();
      await redis.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "a caller that goes away leaves nothing in Redis beyond resultTtlMs",
  needsRedis(),
  async () => {
    const redis = await startRedis();
    const dir = await Deno.makeTempDir();
    const w = startWorker(redis.url, "gone", 1);
    const ex = new RedisExecutor({ url: redis.url, queue: "gone", resultTtlMs: 200 });
    try {
      const futs = Array.from({ length: 6 }, (_, i) => ex.submit(record, `${dir}/e`, `j${i}`, 30));
      await until(async () => (await lines(`${dir}/e`)).length >= 1);
      // The caller leaves: queued jobs are withdrawn, running ones still answer
      // into its result list, which nobody reads.
      await ex.shutdown({ wait: false, cancelFutures: true });
      assert.ok(futs.every((f) => f.done()));
      const r = await redis.client();
      await until(async () => (await r.xlen("aio:gone:jobs")) === 0);
      await until(async () =>
        JSON.stringify(await keys(r)) === JSON.stringify(["aio:gone:jobs", "aio:gone:workers"])
      );
      assert.ok((await lines(`${dir}/e`)).length < 6, "withdrawn jobs never ran");
    } finally {
      await ex.shutdown(); // waits for the connections to close
      await w.stop();
      await redis.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "a malformed or foreign message on the queue: that job fails, the worker goes on",
  needsRedis(),
  async () => {
    const redis = await startRedis();
    const w = startWorker(redis.url, "junk", 1);
    const ex = new RedisExecutor({ url: redis.url, queue: "junk" });
    try {
      await loadCodec();
      const r = await redis.client();
      await r.xgroup("CREATE", "aio:junk:jobs", "aio", "0", "MKSTREAM").catch(() => {});
      // Foreign: no reply address. Malformed: an address and a body that does not decode.
      await r.xadd("aio:junk:jobs", "*", "hello", "world");
      await r.xadd("aio:junk:jobs", "*", "c", "probe", "j", "probe.1", "m", "not v8");
      await r.xadd("aio:junk:jobs", "*", "c", "probe", "j", "probe.2", "tt", "5000");
      let answers: unknown[] = [];
      await until(async () => {
        answers = [];
        for (const [, fields] of await r.xrangeBuffer("aio:junk:r:probe", "-", "+")) {
          answers.push(...(decode(fields[1]) as unknown[]));
        }
        return answers.filter((x) => x === 1).length >= 2; // two R_ERROR answers
      });
      const errors = answers.filter((x) => typeof x === "object" && x !== null) as {
        name: string;
        message: string;
      }[];
      assert.equal(errors.length, 2);
      for (const e of errors) {
        assert.equal(e.name, "TypeError");
        assert.match(e.message, /malformed job message/);
      }
      assert.equal(await ex.submit(() => "still serving"), "still serving");
      await until(async () => (await r.xlen("aio:junk:jobs")) === 0);
    } finally {
      await ex.shutdown();
      await w.stop();
      await redis.close();
    }
  },
);

Deno.test(
  "SIGTERM stops a worker process gracefully: its running job finishes and is answered",
  needsRedis(),
  async () => {
    const redis = await startRedis();
    const dir = await Deno.makeTempDir();
    const w = startWorker(redis.url, "graceful", 1);
    const ex = new RedisExecutor({ url: redis.url, queue: "graceful" });
    try {
      const fut = ex.submit(record, `${dir}/e`, "finished", 300);
      await until(async () => (await lines(`${dir}/e`)).length === 1);
      assert.equal(await w.stop("SIGTERM"), 0);
      assert.ok(fut.done(), "answered before the worker exited");
      assert.equal(await fut, "finished");
      const r = await redis.client();
      assert.equal(await r.zcard("aio:graceful:workers"), 0);
    } finally {
      await ex.shutdown();
      await redis.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "Redis restarted without its data: the jobs it lost fail with an error saying so, instead of waiting forever",
  needsRedis(),
  async () => {
    const redis = await startRedis(); // no persistence
    const ex = new RedisExecutor({ url: redis.url, queue: "amnesia", deadWorkerTimeoutMs: 200 });
    try {
      const lost = ex.submit(() => "never ran"); // no worker: it waits in Redis
      const r = await redis.client();
      await until(async () => (await r.xlen("aio:amnesia:jobs")) === 1);
      await redis.stop();
      await redis.start();
      const e = await lost.then(() => null, (e) => e);
      assert.ok(e instanceof RuntimeError, String(e));
      assert.match(e.message, /lost this job/);
      // The executor goes on with the server as it is now.
      const w = startWorker(redis.url, "amnesia", 1);
      try {
        assert.equal(await ex.submit(() => "after"), "after");
      } finally {
        await ex.shutdown();
        await w.stop();
      }
    } finally {
      await ex.shutdown();
      await redis.close();
    }
  },
);
