// The Redis executor's benchmarks (issue 13), one run each, against a
// redis-server of their own on a free local port:
//
//   tiny   10,000 `x => x + 1` jobs through one worker process (submit, one
//          job per message; and map with chunksize 100), beside a Python
//          asyncio + redis-py queue on the same Redis (bench/redis/py_queue.py)
//          and Python's arq (bench/redis/arq_queue.py; AIO_ARQ_PATH=<a checkout
//          of arq> when it is not installed, else reported not available).
//   cpu    200 jobs of π by series: one worker process vs two (one job at a
//          time each), and the same two-way parallelism on a local
//          WorkerPoolExecutor (the Redis executor's overhead); medians of 3.
//
//   deno run -A bench/redis/run.ts [--quick]
import { RedisExecutor, WorkerPoolExecutor } from "../../mod.ts";
import { startRedis, startWorker, type WorkerProcess } from "../../tests/_redis.ts";

const quick = Deno.args.includes("--quick");
const TINY = quick ? 500 : 10_000;
const CPU_JOBS = quick ? 10 : 200;
const STEPS = quick ? 100_000 : 20_000_000;
const ROUNDS = quick ? 1 : 3;

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

/**
 * Python's arq on the tiny jobs (bench/redis/arq_queue.py): ms, or why it
 * cannot run (arq is not installed and AIO_ARQ_PATH names no checkout of it).
 */
async function arqTiny(port: number): Promise<number | string> {
  const script = new URL("./arq_queue.py", import.meta.url).pathname;
  const probe = await new Deno.Command("python3", {
    args: [
      "-c",
      "import os, sys; sys.path.insert(0, os.environ.get('AIO_ARQ_PATH', '')); import arq",
    ],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => null);
  if (!probe?.success) return "python3 cannot import arq (install it, or set AIO_ARQ_PATH)";
  const out = await new Deno.Command("python3", {
    args: [script, String(port), String(TINY)],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error("the arq run failed");
  return Number(new TextDecoder().decode(out.stdout).trim());
}

const redis = await startRedis();
const workers: WorkerProcess[] = [];
try {
  // ---- tiny jobs through one worker process, beside the Python queue ----------
  // Turns as for the CPU jobs below: ROUNDS of each, medians reported.
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const tinyWorker = startWorker(redis.url, "tiny", navigator.hardwareConcurrency || 2);
  workers.push(tinyWorker);
  const tiny: Record<string, number[]> = { submit: [], map: [], python: [], arq: [] };
  {
    await using ex = new RedisExecutor({ url: redis.url, queue: "tiny" });
    const inc = (x: number) => x + 1;
    await Promise.all(Array.from({ length: 200 }, (_, i) => ex.submit(inc, i))); // warm up
    for (let round = 0; round < ROUNDS; round++) {
      tiny.submit.push(
        await timed(`tiny: ${TINY} submit(x => x + 1), 1 worker process`, async () => {
          const r = await Promise.all(Array.from({ length: TINY }, (_, i) => ex.submit(inc, i)));
          if (r[TINY - 1] !== TINY) throw new Error("wrong result");
        }),
      );
      tiny.map.push(
        await timed(`tiny: ${TINY} map(x => x + 1, chunksize 100)`, async () => {
          const items = Array.from({ length: TINY }, (_, i) => i);
          const r = await Array.fromAsync(ex.map(inc, items, { chunksize: 100 }));
          if (r[TINY - 1] !== TINY) throw new Error("wrong result");
        }),
      );
      const out = await new Deno.Command("python3", {
        args: [
          new URL("./py_queue.py", import.meta.url).pathname,
          String(redis.port),
          String(TINY),
        ],
        stdout: "piped",
        stderr: "inherit",
      }).output();
      if (!out.success) throw new Error("the Python queue failed (needs python3 with redis-py)");
      const ms = Number(new TextDecoder().decode(out.stdout).trim());
      console.log(
        `${`tiny: ${TINY} jobs, Python asyncio + redis-py queue`.padEnd(58)} ${
          ms.toFixed(0).padStart(7)
        } ms`,
      );
      tiny.python.push(ms);
      const arq = await arqTiny(redis.port);
      if (typeof arq === "string") {
        if (round === 0) {
          console.log(`${`tiny: ${TINY} jobs, arq`.padEnd(58)} not available: ${arq}`);
        }
      } else {
        console.log(`${`tiny: ${TINY} jobs, arq`.padEnd(58)} ${arq.toFixed(0).padStart(7)} ms`);
        tiny.arq.push(arq);
      }
    }
  }
  await tinyWorker.stop();
  workers.pop();
  for (
    const [k, label] of [["submit", "submit"], ["map", "map, chunksize 100"], [
      "python",
      "Python queue",
    ], ["arq", "arq"]]
  ) {
    if (tiny[k].length === 0) continue;
    const m = median(tiny[k]);
    console.log(
      `tiny median of ${ROUNDS}, ${label}: ${m.toFixed(0)} ms = ${
        (TINY / m * 1000).toFixed(0)
      } jobs/s`,
    );
  }

  // ---- CPU: 1 vs 2 worker processes, and the local pool -------------------------
  // The three set-ups take turns, ROUNDS times, and each reports its median:
  // a burst of load from another process then spoils one round, not a figure.
  const cpu = async (ex: { submit: RedisExecutor["submit"] }) => {
    const sums = await Promise.all(
      parts.map(([a, b]) => ex.submit(piPart, a, b, STEPS * CPU_JOBS)),
    );
    return Number(sums.reduce((x, y) => x + y, 0).toFixed(9));
  };
  for (let i = 0; i < 3; i++) workers.push(startWorker(redis.url, i === 0 ? "cpu1" : "cpu2", 1));
  await using one = new RedisExecutor({ url: redis.url, queue: "cpu1" });
  await using two = new RedisExecutor({ url: redis.url, queue: "cpu2" });
  await using pool = new WorkerPoolExecutor({ maxWorkers: 2, minWorkers: 2 });
  // Every worker process up and its pool started before the clock starts.
  for (const ex of [one, two, pool]) {
    await Promise.all(Array.from({ length: 8 }, () => ex.submit(piPart, 0, 1000, 1000)));
  }
  const times: Record<string, number[]> = { one: [], two: [], pool: [] };
  for (let round = 0; round < ROUNDS; round++) {
    times.one.push(
      await timed(`cpu: ${CPU_JOBS} π jobs, RedisExecutor, 1 worker process`, () => cpu(one)),
    );
    times.two.push(
      await timed(`cpu: ${CPU_JOBS} π jobs, RedisExecutor, 2 worker processes`, () => cpu(two)),
    );
    times.pool.push(
      await timed(
        `cpu: ${CPU_JOBS} π jobs, local WorkerPoolExecutor(maxWorkers 2)`,
        () => cpu(pool),
      ),
    );
  }
  const [m1, m2, mp] = [median(times.one), median(times.two), median(times.pool)];
  console.log(
    `medians of ${ROUNDS}: 1 process ${m1.toFixed(0)} ms, 2 processes ${
      m2.toFixed(0)
    } ms, local pool ${mp.toFixed(0)} ms`,
  );
  console.log(`${"  speed-up, 2 processes vs 1".padEnd(58)} ${(m1 / m2).toFixed(2).padStart(7)}×`);
  console.log(
    `${"  Redis (2 processes) / local pool".padEnd(58)} ${(m2 / mp).toFixed(2).padStart(7)}×`,
  );
} finally {
  for (const w of workers) await w.stop("SIGKILL");
  await redis.close();
}
