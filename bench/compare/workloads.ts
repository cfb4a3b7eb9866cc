// The cross-system workloads W1–W8 of issue 6 and W3e (W3 with eager tasks) of
// issue 12: their sizes, the seeded delays every system shares, and the loop
// each TypeScript system file runs (warm-up, timed run, one JSON line per
// workload). asyncio_bench.py and pools_py.py mirror SIZES and delays(); run.ts
// checks that every system reports the same n.
import { rng } from "../_util.ts";

export type WorkloadId = "W1" | "W2" | "W3" | "W3e" | "W4" | "W5" | "W6" | "W7" | "W8";

/** What each workload measures, as the issue defines it. */
export const TITLES: Record<WorkloadId, string> = {
  W1: "1 task, switches (yield / sleep(0) / await null)",
  W2: "1,000 tasks × switches, interleaved",
  W3: "tasks spawned and gathered",
  W3e: "tasks spawned and gathered, started eagerly",
  W4: "timers, random delays in [0, 100] ms, all fired (time beyond 100 ms)",
  W5: "timers in [1, 2] s, all cancelled (schedule + cancel)",
  W6: "items through a bounded queue of 100",
  W7: "tiny jobs x => x + 1 on a pool of 2 workers",
  W8: "cancel a task blocked 10 deep in yield*, repeated",
};

const FULL: Record<WorkloadId, number> = {
  W1: 1_000_000,
  W2: 1_000_000,
  W3: 100_000,
  W3e: 100_000,
  W4: 200_000,
  W5: 200_000,
  W6: 1_000_000,
  W7: 10_000,
  W8: 100_000,
};

/** Tasks in W2 (each does SIZES.W2 / W2_TASKS switches). */
export const W2_TASKS = 1000;
/** Depth of the yield* chain in W8. */
export const W8_DEPTH = 10;
/** Capacity of the queue in W6. */
export const W6_CAPACITY = 100;
/** Pool size in W7. */
export const W7_WORKERS = 2;
/** Items per message for the pools' `map`. */
export const W7_CHUNK = 500;

/** The npm versions the system files import (their specifiers must match). */
export const PINNED = {
  effection3: "3.6.1",
  effection4: "4.1.1",
  effect: "4.1.5",
  piscina: "5.3.2",
};

/** The command line after the script: Deno.args, or process.argv past the script's path (Node, Bun). */
const ARGS: readonly string[] = globalThis.Deno?.args ??
  (globalThis as unknown as { process: { argv: string[] } }).process.argv.slice(2);

export const QUICK = ARGS.includes("--quick");

/** A hundredth in quick mode (a smoke run: its numbers mean nothing). */
export const SIZES: Record<WorkloadId, number> = Object.fromEntries(
  Object.entries(FULL).map(([w, n]) => [w, QUICK ? n / 100 : n]),
) as Record<WorkloadId, number>;

/** The delays (ms) of W4 and W5, drawn before the clock starts so no system pays for its PRNG. */
export function delays(n: number, seed: number, lo: number, hi: number): Float64Array {
  const random = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + random() * (hi - lo);
  return out;
}
export const W4_SEED = 42;
export const W5_SEED = 7;

/** Prepares a run of size n (untimed) and returns the part that is timed. */
export type Workload = (n: number) => () => Promise<unknown>;

/** `--name value` from the command line. */
export function arg(name: string): string | undefined {
  const i = ARGS.indexOf(name);
  return i >= 0 ? ARGS[i + 1] : undefined;
}

// A timed run should take at most this long. A system too slow for that (the
// Effections on several workloads) runs at n/10 or n/100 instead, chosen by a
// probe at n/100, and reports the n it used; run.ts passes that n back with
// `--n` for the later rounds and marks such cells. Without it one round of
// Effection 3 alone would take over five minutes.
export const BUDGET_MS = 8000;

async function time(id: WorkloadId, fn: Workload, n: number): Promise<number> {
  const timed = fn(n);
  const t0 = performance.now();
  await timed();
  // W4's timers are due up to 100 ms out: only the time beyond is overhead.
  return performance.now() - t0 - (id === "W4" ? 100 : 0);
}

/**
 * Runs the workloads (only `--workload Wx` if given) at `--n` or at their
 * size shrunk to fit BUDGET_MS (a probe at n/100, run twice so the first pays
 * for the JIT and the workers' start), warms up at a tenth of that, then
 * times one run. Prints `{"system","workload","n","ms","ns_per_op"}` each.
 */
export async function runWorkloads(
  system: string,
  workloads: Partial<Record<WorkloadId, Workload>>,
): Promise<void> {
  const only = arg("--workload");
  for (const [id, fn] of Object.entries(workloads) as [WorkloadId, Workload][]) {
    if (only !== undefined && id !== only) continue;
    let n = Number(arg("--n") ?? SIZES[id]);
    if (!QUICK && arg("--n") === undefined) {
      await time(id, fn, n / 100);
      const perOp = (await time(id, fn, n / 100)) / (n / 100);
      for (let k = 0; k < 2 && perOp * n > BUDGET_MS; k++) n /= 10;
    }
    await time(id, fn, Math.max(1, n / 10));
    const ms = await time(id, fn, n);
    console.log(JSON.stringify({ system, workload: id, n, ms, ns_per_op: (ms * 1e6) / n }));
  }
}
