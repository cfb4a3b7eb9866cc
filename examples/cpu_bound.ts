// The cpu_bound half of Python's run_in_executor tutorial: sum(i * i for i
// in range(10 ** 7)) on a worker pool (Python uses a ProcessPoolExecutor),
// exact although the sum passes 2^53.
//
//   deno run -A examples/cpu_bound.ts
import { getRunningLoop, run, WorkerPoolExecutor } from "../mod.ts";

/** sum(i * i for i in range(n)), exact. Self-contained: it runs in a worker. */
export function cpuBound(n = 10 ** 7): bigint {
  // i * i stays exact in a double (< 2^53); the running sum moves to a
  // BigInt before it could lose a digit.
  let total = 0n;
  let part = 0;
  for (let i = 0; i < n; i++) {
    part += i * i;
    if (part > 2 ** 52) {
      total += BigInt(part);
      part = 0;
    }
  }
  return total + BigInt(part);
}

/** Runs cpuBound(n) through runInExecutor on a pool. */
export function main(n = 10 ** 7): Promise<bigint> {
  return run(function* () {
    const loop = getRunningLoop();
    // Like `with ProcessPoolExecutor() as pool:`.
    using pool = new WorkerPoolExecutor();
    const result = yield* loop.runInExecutor(pool, cpuBound, n);
    console.log("custom pool result:", result);
    return result;
  });
}

if (import.meta.main) await main();
