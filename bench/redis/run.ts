// The Redis executor's benchmarks (issue 13), one run each, against a
// redis-server of their own on a free local port:
//
//   tiny   10,000 `x => x + 1` jobs through one worker process (submit, one
//          job per message; and map with chunksize 100), beside a Python
//          asyncio + redis-py queue on the same Redis (bench/redis/py_queue.py).
//   cpu    200 jobs of π by series: one worker process vs two (one job at a
//          time each), and the same two-way parallelism on a local
//          WorkerPoolExecutor (the Redis executor's overhead).
//
//   deno run -A bench/redis/run.ts [--quick]
import { RedisExecutor, WorkerPoolExecutor } from "../../mod.ts";
import { startRedis, startWorker, type WorkerProcess } from "../../tests/_redis.ts";

const quick = Deno.args.includes("--quick");
const TINY = quick ? 500 : 10_000;
const CPU_JOBS = quick ? 10 : 200;
const STEPS = quick ? 100_000 : 20_000_000;

/** π over [from, to) of `steps` midpoint steps (self-contained: sent as source). */
function piPart(from: number, to: number, steps: number): number {
  const h = 1 / steps;
  let s = 0;
  for (let i = from; i < to; i++) {
    const x = (i + 0.5) * h;
    s += 4 / (1 + x * x);
  }
  return s * h;
}

const parts = Array.from({ length: CPU_JOBS }, (_, k) => [
  Math.floor((k * STEPS * CPU_JOBS) / CPU_JOBS),
  Math.floor(((k + 1) * STEPS * CPU_JOBS) / CPU_JOBS),
]);

async function timed(label: string, fn: () => Promise<number | void>): Promise<number> {
  const t0 = performance.now();
  const check = await fn();
  const ms = performance.now() - t0;
  console.log(`${label.padEnd(58)} ${ms.toFixed(0).padStart(7)} ms${check ? `  (${check})` : ""}`);
  return ms;
}

const redis = await startRedis();
const workers: WorkerProcess[] = [];
try {
  // ---- tiny jobs through one worker process ---------------------------------
  workers.push(startWorker(redis.url, "tiny", navigator.hardwareConcurrency || 2));
  {
    await using ex = new RedisExecutor({ url: redis.url, queue: "tiny" });
    const inc = (x: number) => x + 1;
    await Promise.all(Array.from({ length: 200 }, (_, i) => ex.submit(inc, i))); // warm up
    const ms = await timed(`tiny: ${TINY} submit(x => x + 1), 1 worker process`, async () => {
      const futs = Array.from({ length: TINY }, (_, i) => ex.submit(inc, i));
      const r = await Promise.all(futs);
      if (r[TINY - 1] !== TINY) throw new Error("wrong result");
    });
    console.log(`${"  = jobs/s".padEnd(58)} ${(TINY / ms * 1000).toFixed(0).padStart(7)}`);
    const msMap = await timed(`tiny: ${TINY} map(x => x + 1, chunksize 100)`, async () => {
      const r = await Array.fromAsync(ex.map(inc, Array.from({ length: TINY }, (_, i) => i), {
        chunksize: 100,
      }));
      if (r[TINY - 1] !== TINY) throw new Error("wrong result");
    });
    console.log(`${"  = jobs/s".padEnd(58)} ${(TINY / msMap * 1000).toFixed(0).padStart(7)}`);
  }
  await workers.pop()!.stop();
  const py = new Deno.Command("python3", {
    args: [new URL("./py_queue.py", import.meta.url).pathname, String(redis.port), String(TINY)],
    stdout: "piped",
    stderr: "inherit",
  });
  const out = await py.output();
  if (out.success) {
    const ms = Number(new TextDecoder().decode(out.stdout).trim());
    console.log(
      `${`tiny: ${TINY} jobs, Python asyncio + redis-py queue`.padEnd(58)} ${
        ms.toFixed(0).padStart(7)
      } ms`,
    );
    console.log(`${"  = jobs/s".padEnd(58)} ${(TINY / ms * 1000).toFixed(0).padStart(7)}`);
  } else console.log("Python baseline: failed (needs python3 with redis-py)");

  // ---- CPU: 1 vs 2 worker processes, and the local pool -------------------------
  const cpu = async (ex: { submit: RedisExecutor["submit"] }) => {
    const sums = await Promise.all(
      parts.map(([a, b]) => ex.submit(piPart, a, b, STEPS * CPU_JOBS)),
    );
    return Number(sums.reduce((x, y) => x + y, 0).toFixed(9));
  };
  const redisRun = async (n: number) => {
    for (let i = 0; i < n; i++) workers.push(startWorker(redis.url, `cpu${n}`, 1));
    await using ex = new RedisExecutor({ url: redis.url, queue: `cpu${n}` });
    // Every worker process up and its pool started before the clock starts.
    await Promise.all(Array.from({ length: 4 * n }, () => ex.submit(piPart, 0, 1000, 1000)));
    const ms = await timed(
      `cpu: ${CPU_JOBS} π jobs, RedisExecutor, ${n} worker process(es)`,
      () => cpu(ex),
    );
    while (workers.length > 0) await workers.pop()!.stop();
    return ms;
  };
  const one = await redisRun(1);
  const two = await redisRun(2);
  console.log(
    `${"  speed-up, 2 processes vs 1".padEnd(58)} ${(one / two).toFixed(2).padStart(7)}×`,
  );
  let local: number;
  {
    await using pool = new WorkerPoolExecutor({ maxWorkers: 2, minWorkers: 2 });
    await Promise.all(Array.from({ length: 8 }, () => pool.submit(piPart, 0, 1000, 1000)));
    local = await timed(
      `cpu: ${CPU_JOBS} π jobs, local WorkerPoolExecutor(maxWorkers 2)`,
      () => cpu(pool),
    );
  }
  console.log(
    `${"  Redis (2 processes) / local pool".padEnd(58)} ${(two / local).toFixed(2).padStart(7)}×`,
  );
} finally {
  for (const w of workers) await w.stop("SIGKILL");
  await redis.close();
}
