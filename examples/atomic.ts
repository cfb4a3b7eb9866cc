// Code between two suspension points runs without interruption: tasks switch
// only at `yield*` (or a bare `yield`). The fetcher adds its items in batches
// of 10 with no suspension point inside a batch, so the monitor, however
// often it looks, always sees a multiple of 10. No lock needed.
//
//   deno run examples/atomic.ts
import { type Coroutine, createTask, run, sleep } from "../mod.ts";

const BATCH = 10;

function* fetcher(data: number[], batches: number): Coroutine<void> {
  for (let b = 0; b < batches; b++) {
    yield* sleep(100); // waiting for the network: others may run here
    for (let i = 0; i < BATCH; i++) data.push(b * BATCH + i); // but not here
  }
}

function* monitor(data: number[], log: (line: string) => void, seen: number[]): Coroutine<void> {
  for (;;) {
    seen.push(data.length);
    log(`monitor: ${data.length} items`);
    yield* sleep(70);
  }
}

/** Runs a fetcher and a monitor side by side. */
export function* main(log: (line: string) => void = console.log): Coroutine<void> {
  const data: number[] = [];
  const seen: number[] = [];
  const watching = createTask(monitor(data, log, seen));
  yield* createTask(fetcher(data, 5));
  watching.cancel();
  log(
    `fetched ${data.length} items; every length the monitor saw was a multiple of ${BATCH}: ${
      seen.every((n) => n % BATCH === 0)
    }`,
  );
}

if (import.meta.main) await run(main);
