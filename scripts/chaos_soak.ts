/**
 * The WorkerPoolExecutor chaos driver (tests/_chaos.ts) for minutes instead
 * of the test's 35 seconds: random jobs, cancels, hostile workers and
 * shutdowns against fresh pools until the time is up or a promise breaks.
 *
 * ```sh
 * deno run -A scripts/chaos_soak.ts                 # 5 minutes, random seed
 * deno run -A scripts/chaos_soak.ts --ms 60000 --seed 0x1234abcd
 * deno run -A scripts/chaos_soak.ts --kinds -null,-undefined --verbose
 * ```
 *
 * Flags override the test's environment variables (`AIO_CHAOS_SEED`,
 * `AIO_CHAOS_MS`, `AIO_CHAOS_KINDS`, `AIO_CHAOS_FROM`, `AIO_CHAOS_VERBOSE`).
 * Prints the seed first, iterations per second every 10 s, and exits 1 with
 * the failure (seed and iteration included) when one is found.
 *
 * @module
 */
import {
  ChaosFailure,
  chaosOptionsFromEnv,
  parseKinds,
  runChaos,
  seedText,
} from "../tests/_chaos.ts";
import type { ChaosReport } from "../tests/_chaos.ts";

function usage(message: string): never {
  console.error(`chaos_soak: ${message}`);
  console.error(
    "usage: deno run -A scripts/chaos_soak.ts [--ms N] [--seed N|0xN] [--kinds LIST] " +
      "[--from ITERATION] [--verbose]",
  );
  Deno.exit(2);
}

function parse(args: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--verbose") {
      out.verbose = "1";
      continue;
    }
    const m = /^--(ms|seed|kinds|from)(?:=(.*))?$/.exec(a);
    if (m === null) usage(`unknown argument ${JSON.stringify(a)}`);
    const v = m[2] ?? args[++i];
    if (v === undefined) usage(`${a} needs a value`);
    out[m[1]] = v;
  }
  return out;
}

function number(flag: string, v: string): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n)) usage(`--${flag} must be a number, got ${v}`);
  return n;
}

function line(r: ChaosReport): string {
  const s = r.elapsedMs / 1000;
  return `${r.iterations} iterations in ${s.toFixed(1)} s (${(r.iterations / s).toFixed(1)}/s), ` +
    `${r.pools} pools, ${r.jobs} jobs`;
}

if (import.meta.main) {
  const flags = parse(Deno.args);
  const env = chaosOptionsFromEnv({
    budgetMs: 5 * 60_000,
    minIterations: 0,
    maxIterations: Infinity,
    progressMs: 10_000,
    onProgress: (r) => console.log(`  ${line(r)}`),
  });
  const opts = {
    ...env,
    seed: flags.seed !== undefined ? number("seed", flags.seed) >>> 0 : env.seed,
    budgetMs: flags.ms !== undefined ? number("ms", flags.ms) : env.budgetMs,
    from: flags.from !== undefined ? number("from", flags.from) : env.from,
    kinds: flags.kinds !== undefined ? parseKinds(flags.kinds) : env.kinds,
    verbose: flags.verbose !== undefined || env.verbose,
  };
  console.log(
    `chaos soak: seed ${seedText(opts.seed)} for ${(opts.budgetMs / 1000).toFixed(0)} s` +
      ` (replay: --seed ${seedText(opts.seed)})`,
  );
  try {
    const r = await runChaos(opts);
    console.log(`done: ${line(r)}; no broken promise (seed ${seedText(r.seed)})`);
    const outcomes = Object.entries(r.outcomes).map(([k, n]) => `${k} ${n}`).join(", ");
    console.log(
      `outcomes: ${outcomes}; cancel() true ${r.cancels.true} / false ${r.cancels.false}`,
    );
  } catch (e) {
    console.error(e instanceof ChaosFailure ? e.message : e);
    // A wedged pool may still hold workers: do not wait for them.
    Deno.exit(1);
  }
}
