// WorkerPoolExecutor against the one-job-in-flight postMessage pool and
// npm:piscina, all on 2 workers in one run:
//
//   deno bench -A bench/executor.bench.ts
//
// Each pool is created, started and warmed (every worker has compiled the
// job function) before the clock starts, and shut down after it stops: the
// benches measure jobs, not spawning. Results: bench/RESULTS.md.
// npm versions are pinned inline, where they are used (deno.json has no import map).
// deno-lint-ignore-file no-import-prefix
import { Piscina } from "npm:piscina@5.3.2";
import { gather, run, WorkerPoolExecutor } from "../mod.ts";
import { QUICK, scale } from "./_util.ts";
import { OneInFlightPool } from "./executor_naive_pool.ts";

const WORKERS = 2;
const TINY = scale(10_000);
const CHUNK = 500;
const STEPS = QUICK ? 1_000_000 : 100_000_000;
const RUNS = QUICK ? { n: 1, warmup: 0 } : { n: 15, warmup: 3 };

const inc = (x: number) => x + 1;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function piPart(from: number, to: number, steps: number): number {
  const h = 1 / steps;
  let s = 0;
  for (let i = from; i < to; i++) {
    const x = (i + 0.5) * h;
    s += 4 / (1 + x * x);
  }
  return s * h;
}
const halves: [number, number, number][] = [[0, STEPS / 2, STEPS], [STEPS / 2, STEPS, STEPS]];

async function aioPool(): Promise<WorkerPoolExecutor> {
  const pool = new WorkerPoolExecutor({ maxWorkers: WORKERS, minWorkers: WORKERS });
  await Promise.all([pool.submit(inc, 0), pool.submit(inc, 0)]);
  await Promise.all([pool.submit(piPart, 0, 1, 1), pool.submit(piPart, 0, 1, 1)]);
  return pool;
}

function piscinaPool(): Piscina {
  return new Piscina({
    filename: new URL("./executor_piscina_job.ts", import.meta.url).href,
    minThreads: WORKERS,
    maxThreads: WORKERS,
  });
}

async function warmPiscina(p: Piscina, name: string, arg: unknown): Promise<void> {
  await Promise.all([p.run(arg, { name }), p.run(arg, { name })]);
}

// ---- 10,000 tiny jobs ------------------------------------------------------

Deno.bench({
  name: "postMessage pool, one job in flight per worker",
  group: "tiny jobs",
  baseline: true,
  ...RUNS,
  async fn(b) {
    const pool = new OneInFlightPool(WORKERS);
    await Promise.all([pool.run(inc, 0), pool.run(inc, 0)]);
    b.start();
    await Promise.all(range(TINY).map((i) => pool.run(inc, i)));
    b.end();
    pool.close();
  },
});

Deno.bench({
  name: "aio submit, awaited with Promise.all",
  group: "tiny jobs",
  ...RUNS,
  async fn(b) {
    const pool = await aioPool();
    b.start();
    await Promise.all(range(TINY).map((i) => pool.submit(inc, i)));
    b.end();
    await pool.shutdown();
  },
});

Deno.bench({
  name: "aio submit in a coroutine, gather",
  group: "tiny jobs",
  ...RUNS,
  async fn(b) {
    const pool = await aioPool();
    b.start();
    await run(function* () {
      yield* gather(range(TINY).map((i) => pool.submit(inc, i)));
    });
    b.end();
    await pool.shutdown();
  },
});

Deno.bench({
  name: `aio map, chunksize ${CHUNK}`,
  group: "tiny jobs",
  ...RUNS,
  async fn(b) {
    const pool = await aioPool();
    b.start();
    await run(function* () {
      for (const next of pool.map(inc, range(TINY), { chunksize: CHUNK })) yield* next;
    });
    b.end();
    await pool.shutdown();
  },
});

Deno.bench({
  name: "piscina run",
  group: "tiny jobs",
  ...RUNS,
  async fn(b) {
    const pool = piscinaPool();
    await warmPiscina(pool, "inc", 0);
    b.start();
    await Promise.all(range(TINY).map((i) => pool.run(i, { name: "inc" })));
    b.end();
    await pool.destroy();
  },
});

// ---- one CPU-bound job, split in two ------------------------------------------

Deno.bench({
  name: "main thread, the whole job",
  group: "cpu-bound job",
  baseline: true,
  ...RUNS,
  fn() {
    piPart(0, STEPS, STEPS);
  },
});

Deno.bench({
  name: "aio, two halves on 2 workers (gather)",
  group: "cpu-bound job",
  ...RUNS,
  async fn(b) {
    const pool = await aioPool();
    b.start();
    await run(function* () {
      yield* gather(halves.map(([f, t, s]) => pool.submit(piPart, f, t, s)));
    });
    b.end();
    await pool.shutdown();
  },
});

Deno.bench({
  name: "piscina, two halves on 2 workers",
  group: "cpu-bound job",
  ...RUNS,
  async fn(b) {
    const pool = piscinaPool();
    await warmPiscina(pool, "piPart", [0, 1, 1]);
    b.start();
    await Promise.all(halves.map((h) => pool.run(h, { name: "piPart" })));
    b.end();
    await pool.destroy();
  },
});

// ---- the transport: one worker, 1,000 sequential round trips ---------------------

const TRIPS = scale(1000);

Deno.bench({
  name: "postMessage round trips",
  group: "transport (1,000 round trips)",
  baseline: true,
  ...RUNS,
  async fn(b) {
    const w = new Worker(new URL("./executor_sab_worker.ts", import.meta.url), {
      type: "module",
    });
    let resolve!: (v: number) => void;
    w.onmessage = (e) => resolve(e.data);
    const trip = (x: number) =>
      new Promise<number>((r) => {
        resolve = r;
        w.postMessage(x);
      });
    await trip(0);
    b.start();
    for (let i = 0; i < TRIPS; i++) await trip(i);
    b.end();
    w.terminate();
  },
});

Deno.bench({
  name: "SharedArrayBuffer + Atomics.waitAsync round trips",
  group: "transport (1,000 round trips)",
  ...RUNS,
  async fn(b) {
    const w = new Worker(new URL("./executor_sab_worker.ts", import.meta.url), {
      type: "module",
    });
    const sab = new SharedArrayBuffer(16);
    const a = new Int32Array(sab);
    await new Promise((r) => {
      w.onmessage = r;
      w.postMessage(sab);
    });
    const trip = async (k: number, x: number) => {
      a[1] = x;
      Atomics.store(a, 0, k);
      Atomics.notify(a, 0);
      const r = Atomics.waitAsync(a, 2, k - 1);
      if (r.async) await r.value;
      return a[3];
    };
    await trip(1, 0);
    b.start();
    for (let i = 0; i < TRIPS; i++) await trip(i + 2, i);
    b.end();
    Atomics.store(a, 0, -1);
    Atomics.notify(a, 0);
    w.terminate();
  },
});
