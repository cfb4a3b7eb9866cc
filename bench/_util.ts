// Shared benchmark plumbing. AIO_BENCH_QUICK=1 shrinks every workload to a
// smoke run (CI uses it so the benchmarks cannot rot); numbers from a quick
// run mean nothing.
// (`?.`: bench/compare/ imports this module on Node and Bun too.)
export const QUICK = globalThis.Deno?.env.get("AIO_BENCH_QUICK") === "1";

/** `n`, or a hundredth of it (at least 10) in quick mode. */
export function scale(n: number): number {
  return QUICK ? Math.max(10, Math.floor(n / 100)) : n;
}

/** Iterations per bench: few for the big workloads, fewer in quick mode. */
export const RUNS = QUICK ? { n: 1, warmup: 0 } : { n: 10, warmup: 2 };

/** A seeded PRNG (mulberry32) so every system and core sees the same delays. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
