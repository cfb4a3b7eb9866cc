// Fans 1,000 jobs out over three worker processes through Redis, showing
// progress as results come back, then which process ran how many. The same
// submit/asCompleted code runs on a local WorkerPoolExecutor: only the
// executor changes between one machine and many.
//
//   deno run -A examples/redis_fanout.ts --url redis://127.0.0.1:6379
//
// The three worker processes are started here to stand in for machines; on
// real machines each runs `deno run -A jsr:@aio/aio/worker --url … --queue fanout`.
import { asCompleted, RedisExecutor, run } from "../mod.ts";

/** Counts the primes in [from, to) and says which process did it. Self-contained: sent as source. */
export function primesIn(from: number, to: number): { count: number; pid: number } {
  let count = 0;
  for (let n = Math.max(2, from); n < to; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return { count, pid: Deno.pid };
}

/** What {@linkcode main} found. */
export interface FanoutReport {
  /** Primes below jobs × span. */
  primes: number;
  /** Jobs run by each worker process (by pid). */
  perProcess: Map<number, number>;
}

/** Starts `workers` worker processes, runs `jobs` jobs over them, stops the processes. */
export async function main(
  url: string,
  { jobs = 1000, span = 1000, workers = 3, log = console.log } = {},
): Promise<FanoutReport> {
  const queue = `fanout-${crypto.randomUUID().slice(0, 8)}`;
  const workerTs = new URL("../worker.ts", import.meta.url).pathname;
  const procs = Array.from({ length: workers }, () =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", workerTs, "--url", url, "--queue", queue, "--concurrency", "1"],
      stdout: "null",
    }).spawn());
  const ex = new RedisExecutor({ url, queue });
  try {
    return await run(function* () {
      const futures = Array.from(
        { length: jobs },
        (_, i) => ex.submit(primesIn, i * span, (i + 1) * span),
      );
      const perProcess = new Map<number, number>();
      let primes = 0;
      let done = 0;
      for (const next of asCompleted(futures)) {
        const { count, pid } = yield* next;
        primes += count;
        perProcess.set(pid, (perProcess.get(pid) ?? 0) + 1);
        if (++done % (jobs / 10) === 0) {
          const bar = "#".repeat((10 * done) / jobs).padEnd(10, ".");
          log(`[${bar}] ${done}/${jobs} jobs, ${perProcess.size} worker processes so far`);
        }
      }
      return { primes, perProcess };
    });
  } finally {
    await ex.shutdown();
    for (const p of procs) {
      p.kill("SIGTERM");
      await p.status;
    }
  }
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--url");
  const url = i >= 0 ? Deno.args[i + 1] : "redis://127.0.0.1:6379";
  const r = await main(url);
  console.log(`${r.primes} primes below 1,000,000`);
  for (const [pid, n] of r.perProcess) console.log(`  worker process ${pid}: ${n} jobs`);
}
