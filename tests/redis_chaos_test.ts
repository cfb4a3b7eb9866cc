// Chaos: while jobs flow (some cancelled), worker processes are SIGKILLed or SIGTERMed and
// Redis is restarted (gracefully or killed; the append-only file is fsynced
// on every write) at random moments for a bounded time. Afterwards every
// future settles, and each job's effect happened at most once per attempt
// it was allowed: once for a job that allows no retry, at most 1 + retries
// times otherwise, and a job that succeeded ran at least once.
//
// Seeded and replayable: AIO_REDIS_CHAOS_SEED=<n> reruns one schedule (the
// timing of the processes still varies); the seed is in every failure message.
import { assert } from "../deps.ts";
import { needsRedis } from "./_util.ts";
import { BrokenWorkerError, CancelledError, RedisExecutor, workerFunction } from "../mod.ts";
import { mulberry32 } from "./_chaos.ts";
import { startRedis, startWorker, type WorkerProcess } from "./_redis.ts";

const JOBS = new URL("./fixtures/redis_jobs.ts", import.meta.url);
const record = workerFunction<(path: string, line: string, ms?: number) => Promise<string>>(
  JOBS,
  "record",
);

/** `p`, or an error naming `what` if it takes longer than `ms`. */
async function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`took over ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

function isDone(f: PromiseLike<unknown>): boolean {
  return (f as unknown as { done(): boolean }).done();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test(
  "chaos: workers killed and Redis restarted at random moments; every future settles, no effect beyond its attempts",
  needsRedis(),
  async () => {
    const seed = Number(Deno.env.get("AIO_REDIS_CHAOS_SEED") ?? Date.now() % 100_000);
    const rand = mulberry32(seed);
    const why = `(replay with AIO_REDIS_CHAOS_SEED=${seed})`;
    const redis = await startRedis({ persistent: true });
    const dir = await Deno.makeTempDir();
    const effects = `${dir}/effects`;
    const workers: WorkerProcess[] = [];
    for (let i = 0; i < 3; i++) workers.push(startWorker(redis.url, "chaos", 2));
    const ex = new RedisExecutor({ url: redis.url, queue: "chaos", deadWorkerTimeoutMs: 1000 });
    const jobs: {
      fut: PromiseLike<string> & { cancel(): boolean };
      retries: number;
      cancelled: boolean;
    }[] = [];
    let events = "";
    try {
      const chaosMs = 8000;
      const t0 = performance.now();
      let nextEvent = 300 + rand() * 700;
      let n = 0;
      while (performance.now() - t0 < chaosMs) {
        for (let k = 0; k < 4; k++, n++) {
          const retries = rand() < 0.5 ? 0 : 2;
          const ms = Math.floor(rand() * 80);
          jobs.push({
            fut: ex.submitWith({ retries }, record, effects, `j${n}`, ms),
            retries,
            cancelled: false,
          });
        }
        // Some jobs are cancelled, queued or running, at random too.
        if (rand() < 0.3) {
          const j = jobs[Math.floor(rand() * jobs.length)];
          j.cancelled = true;
          j.fut.cancel();
        }
        await sleep(40);
        if (performance.now() - t0 >= nextEvent) {
          nextEvent += 300 + rand() * 900;
          const what = rand();
          if (what < 0.35) {
            const i = Math.floor(rand() * workers.length);
            events += ` kill-worker${i}`;
            await workers[i].stop("SIGKILL");
            workers[i] = startWorker(redis.url, "chaos", 2);
          } else if (what < 0.55) {
            const i = Math.floor(rand() * workers.length);
            events += ` term-worker${i}`;
            await deadline(
              workers[i].stop("SIGTERM"),
              15_000,
              `worker${i} stopping ${why}${events}`,
            );
            workers[i] = startWorker(redis.url, "chaos", 2);
          } else if (what < 0.8) {
            events += " restart-redis";
            await deadline(redis.stop(), 15_000, `redis stopping ${why}${events}`);
            await redis.start();
          } else {
            events += " kill-redis";
            await redis.kill();
            await redis.start();
          }
        }
      }
      // Chaos is over: every future settles, well within a bound.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const all = Promise.allSettled(jobs.map((j) => Promise.resolve(j.fut)));
      const bound = new Promise<null>((r) => timer = setTimeout(() => r(null), 20_000));
      const settled: PromiseSettledResult<string>[] | null = await Promise.race([all, bound]);
      clearTimeout(timer);
      if (settled === null) {
        const r = await redis.client();
        const pending = jobs.map((j, i) => [i, j] as const).filter(([, j]) => !isDone(j.fut));
        const detail = await Promise.all(
          pending.slice(0, 5).map(async ([i]) => {
            const id = [...ex._recs.values()].find((rec) => rec.fut === jobs[i].fut)?.id;
            const st = id === undefined ? "?" : await r.get(`aio:chaos:s:${id}`);
            return `j${i} id=${id} state=${st}`;
          }),
        );
        const xp = await r.xpending("aio:chaos:jobs", "aio");
        throw new Error(
          `${pending.length} futures never settled ${why}; events:${events}; ${
            detail.join(", ")
          }; ` +
            `xlen=${await r.xlen("aio:chaos:jobs")} xpending=${JSON.stringify(xp)}`,
        );
      }
      const seen = new Map<string, number>();
      for (const l of (await Deno.readTextFile(effects)).split("\n")) {
        if (l !== "") seen.set(l, (seen.get(l) ?? 0) + 1);
      }
      let ok = 0;
      for (let i = 0; i < jobs.length; i++) {
        const runs = seen.get(`j${i}`) ?? 0;
        const res: PromiseSettledResult<string> = settled[i];
        assert.ok(
          runs <= 1 + jobs[i].retries,
          `j${i} (retries ${jobs[i].retries}) ran ${runs} times ${why}; events:${events}`,
        );
        if (res.status === "fulfilled") {
          ok++;
          assert.equal(res.value, `j${i}`);
          assert.ok(runs >= 1, `j${i} succeeded without running ${why}`);
        } else {
          assert.ok(
            res.reason instanceof BrokenWorkerError ||
              jobs[i].cancelled && res.reason instanceof CancelledError,
            `j${i} failed with ${res.reason} ${why}; events:${events}`,
          );
        }
      }
      assert.ok(ok > 0, `no job succeeded ${why}`);
    } finally {
      await ex.shutdown({ wait: false, cancelFutures: true });
      await ex.shutdown(); // waits for the connections to close
      for (const w of workers) await w.stop("SIGKILL");
      await redis.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
);
