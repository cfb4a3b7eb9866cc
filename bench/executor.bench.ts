// WorkerPoolExecutor against the one-job-in-flight postMessage pool and
// npm:piscina, all on 2 workers in one run:
//
//   deno bench -A bench/executor.bench.ts
//
// Each bench keeps one pool across its iterations, started and warmed (every
// worker has run the job function) before the first: the benches measure
// jobs on a long-lived pool, not spawning. A pool is shut down once its bench
// is over. Results: bench/RESULTS.md.
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

/**
 * A pool made on a bench's first iteration and reused by the next ones; it
 * is closed once no iteration has run for a while (the bench is over), so
 * the process can exit. Iterations hold it open while they run.
 */
function lingering<P>(make: () => Promise<P>, close: (p: P) => unknown): {
  get(): Promise<P>;
  done(): void;
} {
  let pool: Promise<P> | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  return {
    get() {
      clearTimeout(timer);
      return pool ??= make();
    },
    done() {
      timer = setTimeout(async () => {
        const p = await pool!;
        pool = null;
        await close(p);
      }, 500);
    },
  };
}

const aio = () =>
  lingering(async () => {
    const pool = new WorkerPoolExecutor({ maxWorkers: WORKERS, minWorkers: WORKERS });
    await Promise.all([pool.submit(inc, 0), pool.submit(inc, 0)]);
    await Promise.all([pool.submit(piPart, 0, 1, 1), pool.submit(piPart, 0, 1, 1)]);
    return pool;
  }, (p) => p.shutdown());

const piscina = () =>
  lingering(async () => {
    const p = new Piscina({
      filename: new URL("./executor_piscina_job.ts", import.meta.url).href,
      minThreads: WORKERS,
      maxThreads: WORKERS,
    });
    await Promise.all([p.run(0, { name: "inc" }), p.run(0, { name: "inc" })]);
    await Promise.all([p.run([0, 1, 1], { name: "piPart" }), p.run([0, 1, 1], { name: "piPart" })]);
    return p;
  }, (p) => p.destroy());

const naive = () =>
  lingering(async () => {
    const pool = new OneInFlightPool(WORKERS);
    await Promise.all([pool.run(inc, 0), pool.run(inc, 0)]);
    return pool;
  }, (p) => p.close());

const naiveTiny = naive();
const aioSubmit = aio();
const aioGather = aio();
const aioMap = aio();
const piscinaTiny = piscina();
const aioCpu = aio();
const piscinaCpu = piscina();

// ---- 10,000 tiny jobs ------------------------------------------------------

Deno.bench({
  name: "postMessage pool, one job in flight per worker",
  group: "tiny jobs",
  baseline: true,
  ...RUNS,
  async fn(b) {
    const pool = await naiveTiny.get();
    b.start();
    await Promise.all(range(TINY).map((i) => pool.run(inc, i)));
    b.end();
    naiveTiny.done();
  },
});

Deno.bench({
  name: "aio submit, awaited with Promise.all",
  group: "tiny jobs",
  ...RUNS,
  async fn(b) {
    const pool = await aioSubmit.get();
    b.start();
    await Promise.all(range(TINY).map((i) => pool.submit(inc, i)));
    b.end();
    aioSubmit.done();
  },
});

Deno.bench({
  name: "aio submit in a coroutine, gather",
  group: "tiny jobs",
  ...RUNS,
  async fn(b) {
    const pool = await aioGather.get();
    b.start();
    await run(function* () {
      yield* gather(range(TINY).map((i) => pool.submit(inc, i)));
    });
    b.end();
    aioGather.done();
  },
});

Deno.bench({
  name: `aio map, chunksize ${CHUNK}`,
  group: "tiny jobs",
  ...RUNS,
  async fn(b) {
    const pool = await aioMap.get();
    b.start();
    await run(function* () {
      for (const next of pool.map(inc, range(TINY), { chunksize: CHUNK })) yield* next;
    });
    b.end();
    aioMap.done();
  },
});

Deno.bench({
  name: "piscina run",
  group: "tiny jobs",
  ...RUNS,
  async fn(b) {
    const pool = await piscinaTiny.get();
    b.start();
    await Promise.all(range(TINY).map((i) => pool.run(i, { name: "inc" })));
    b.end();
    piscinaTiny.done();
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
    const pool = await aioCpu.get();
    b.start();
    await run(function* () {
      yield* gather(halves.map(([f, t, s]) => pool.submit(piPart, f, t, s)));
    });
    b.end();
    aioCpu.done();
  },
});

Deno.bench({
  name: "piscina, two halves on 2 workers",
  group: "cpu-bound job",
  ...RUNS,
  async fn(b) {
    const pool = await piscinaCpu.get();
    b.start();
    await Promise.all(halves.map((h) => pool.run(h, { name: "piPart" })));
    b.end();
    piscinaCpu.done();
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
