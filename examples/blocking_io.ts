// The blocking_io half of Python's run_in_executor tutorial: a blocking read
// runs on a worker while the loop stays free (a ticker keeps ticking).
//
//   deno run -A examples/blocking_io.ts
import { createTask, getRunningLoop, run, sleep, WorkerPoolExecutor } from "../mod.ts";

/** Reads 100 bytes from /dev/urandom with a blocking call. Self-contained: it runs in a worker. */
export function blockingIo(): Uint8Array {
  const file = Deno.openSync("/dev/urandom", { read: true });
  try {
    const buf = new Uint8Array(100);
    let n = 0;
    while (n < buf.length) n += file.readSync(buf.subarray(n)) ?? 0;
    return buf;
  } finally {
    file.close();
  }
}

/** Runs blockingIo on the loop's default executor and on a pool of our own. */
export function main(): Promise<{ defaultPool: number; ownPool: number; ticks: number }> {
  return run(function* () {
    const loop = getRunningLoop();
    let ticks = 0;
    const ticker = createTask((function* () {
      for (;;) {
        yield* sleep(1);
        ticks++;
      }
    })());

    // 1. The default executor (like run_in_executor(None, blocking_io)).
    const a = yield* loop.runInExecutor(null, blockingIo);
    console.log("default pool result:", a.length, "bytes");

    // 2. A pool of our own (like `with ThreadPoolExecutor() as pool:`).
    let b: Uint8Array;
    {
      using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
      b = yield* loop.runInExecutor(pool, blockingIo);
      console.log("custom pool result:", b.length, "bytes");
    }
    ticker.cancel();
    return { defaultPool: a.length, ownPool: b.length, ticks };
  });
}

if (import.meta.main) await main();
