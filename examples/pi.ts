// π by the midpoint rule on 4 / (1 + x²) over [0, 1], the steps split into
// parts that run on a WorkerPoolExecutor at once (gather), against the same
// parts on a single worker. Prints the speed-up.
//
//   deno run -A examples/pi.ts [steps] [parts]
import { gather, run, WorkerPoolExecutor } from "../mod.ts";

/** The sum over steps [from, to) of `steps` midpoint steps. Self-contained: it runs in workers. */
export function piPart(from: number, to: number, steps: number): number {
  const h = 1 / steps;
  let s = 0;
  for (let i = from; i < to; i++) {
    const x = (i + 0.5) * h;
    s += 4 / (1 + x * x);
  }
  return s * h;
}

/** What {@linkcode main} measured. */
export interface PiReport {
  pi: number;
  workers: number;
  oneWorkerMs: number;
  poolMs: number;
  speedup: number;
}

/** Computes π on `workers` workers and on one, and reports both times. */
export async function main(
  steps = 200_000_000,
  parts = 8,
  workers = navigator.hardwareConcurrency || 2,
): Promise<PiReport> {
  const bounds = Array.from({ length: parts }, (_, k) => [
    Math.floor((k * steps) / parts),
    Math.floor(((k + 1) * steps) / parts),
  ]);
  const timed = async (maxWorkers: number) => {
    await using pool = new WorkerPoolExecutor({ maxWorkers, minWorkers: maxWorkers });
    // Start every worker and compile piPart there before the clock starts.
    await Promise.all(Array.from({ length: maxWorkers }, () => pool.submit(piPart, 0, 1, 1)));
    const t0 = performance.now();
    const sums = await run(function* () {
      return yield* gather(bounds.map(([from, to]) => pool.submit(piPart, from, to, steps)));
    });
    return { pi: sums.reduce((a, b) => a + b, 0), ms: performance.now() - t0 };
  };
  const one = await timed(1);
  const many = await timed(workers);
  return {
    pi: many.pi,
    workers,
    oneWorkerMs: one.ms,
    poolMs: many.ms,
    speedup: one.ms / many.ms,
  };
}

if (import.meta.main) {
  const steps = Number(Deno.args[0] ?? 200_000_000);
  const parts = Number(Deno.args[1] ?? 8);
  const r = await main(steps, parts);
  console.log(`π ≈ ${r.pi} (error ${Math.abs(r.pi - Math.PI).toExponential(2)})`);
  console.log(`1 worker:  ${r.oneWorkerMs.toFixed(0)} ms`);
  console.log(
    `${r.workers} workers: ${r.poolMs.toFixed(0)} ms  (speed-up ${r.speedup.toFixed(2)}×)`,
  );
}
