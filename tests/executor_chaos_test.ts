// A seeded chaos test of WorkerPoolExecutor: random submits, maps, cancels
// at random moments, hostile jobs (exit, self.close(), hangs, spins, garbage
// posted to the parent), timeouts and shutdowns, for a fixed time budget.
// After every iteration each future must have settled with an outcome its
// job allows and the pool's counts must add up; see tests/_chaos.ts.
//
// Replay a failure with the seed and iteration its message names:
//   AIO_CHAOS_SEED=0x… AIO_CHAOS_FROM=<iteration> deno test -A tests/executor_chaos_test.ts
// AIO_CHAOS_MS sets the budget (default 45 s), AIO_CHAOS_KINDS narrows what
// is thrown at the pool (`exit,close` or `-null,-undefined`),
// AIO_CHAOS_VERBOSE=1 prints every plan. scripts/chaos_soak.ts runs longer.
import { assert } from "../deps.ts";
import { chaosOptionsFromEnv, runChaos, seedText } from "./_chaos.ts";

Deno.test("chaos: WorkerPoolExecutor keeps every promise under random jobs, cancels and shutdowns", async () => {
  const opts = chaosOptionsFromEnv({ budgetMs: 45_000, minIterations: 200, maxIterations: 5000 });
  const r = await runChaos(opts);
  const outcomes = Object.entries(r.outcomes).map(([k, n]) => `${k} ${n}`).join(", ");
  console.log(
    `chaos: seed ${seedText(r.seed)}: ${r.iterations} iterations in ` +
      `${(r.elapsedMs / 1000).toFixed(1)} s (${
        (r.iterations / (r.elapsedMs / 1000)).toFixed(0)
      }/s),` +
      ` ${r.pools} pools, ${r.jobs} jobs, ${r.maps} maps, ${r.shutdowns} mid-iteration shutdowns;` +
      ` cancel() true ${r.cancels.true} / false ${r.cancels.false}; outcomes: ${outcomes}`,
  );
  assert.ok(
    r.iterations >= Math.min(opts.minIterations, opts.maxIterations),
    `only ${r.iterations} iterations`,
  );
});
