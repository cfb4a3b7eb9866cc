// W7, 10,000 tiny jobs (x => x + 1) on 2 workers, in Deno: aio's
// WorkerPoolExecutor through `submit` (one future per job) and through `map`
// with chunks; npm:piscina, loaded in Deno; and the minimal pool anyone would
// write: one job in flight per worker, one postMessage per job. Each pool is
// started and warmed before the clock starts: this measures jobs, not spawning.
// Run: deno run -A bench/compare/pools.ts --pool aio-submit|aio-map|postMessage|piscina [--quick]
// npm versions are pinned inline, where they are used (deno.json has no import map).
// deno-lint-ignore-file no-import-prefix
import { Piscina } from "npm:piscina@5.3.2";
import { gather, run, WorkerPoolExecutor } from "../../mod.ts";
import { arg, runWorkloads, W7_CHUNK, W7_WORKERS } from "./workloads.ts";

const inc = (x: number) => x + 1;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** One job per worker at a time: the next is sent when the last answers. */
class OneInFlightPool {
  #idle: Worker[] = [];
  #queue: [number, (r: number) => void][] = [];

  constructor(size: number) {
    const src = "onmessage = (e) => postMessage(e.data + 1);";
    const url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
    for (let i = 0; i < size; i++) this.#idle.push(new Worker(url, { type: "module" }));
  }

  run(x: number): Promise<number> {
    return new Promise((resolve) => {
      this.#queue.push([x, resolve]);
      this.#dispatch();
    });
  }

  #dispatch() {
    while (this.#idle.length > 0 && this.#queue.length > 0) {
      const w = this.#idle.pop()!;
      const [x, resolve] = this.#queue.shift()!;
      w.onmessage = (e) => {
        this.#idle.push(w);
        resolve(e.data);
        this.#dispatch();
      };
      w.postMessage(x);
    }
  }

  terminate() {
    for (const w of this.#idle) w.terminate();
  }
}

const which = arg("--pool") ?? "aio-submit";
if (which === "aio-submit" || which === "aio-map") {
  const pool = new WorkerPoolExecutor({ maxWorkers: W7_WORKERS });
  await runWorkloads(which, {
    W7: which === "aio-submit"
      ? (n) => () =>
        run(function* () {
          yield* gather(range(n).map((i) => pool.submit(inc, i)));
        })
      : (n) => () =>
        run(function* () {
          for (const next of pool.map(inc, range(n), { chunksize: W7_CHUNK })) yield* next;
        }),
  });
  await pool.shutdown();
} else if (which === "postMessage") {
  const pool = new OneInFlightPool(W7_WORKERS);
  await runWorkloads(which, { W7: (n) => () => Promise.all(range(n).map((i) => pool.run(i))) });
  pool.terminate();
} else if (which === "piscina") {
  const pool = new Piscina({
    filename: new URL("./piscina_job.ts", import.meta.url).href,
    minThreads: W7_WORKERS,
    maxThreads: W7_WORKERS,
  });
  await runWorkloads(which, { W7: (n) => () => Promise.all(range(n).map((i) => pool.run(i))) });
  await pool.destroy();
} else {
  throw new Error(`unknown --pool ${which}`);
}
