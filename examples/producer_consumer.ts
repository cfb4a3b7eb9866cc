// A bounded producer/consumer pipeline: one producer feeds a Queue(4), three
// workers drain it, and queue.join() tells the producer when every job has
// been processed. The bound is the backpressure: the producer waits while
// four jobs are pending.
//
//   deno run examples/producer_consumer.ts
import { type Coroutine, createTask, gather, getRunningLoop, Queue, run, sleep } from "../mod.ts";

/** Runs the pipeline, writing progress with `log`; returns the results in completion order. */
export function* main(log: (line: string) => void = console.log): Coroutine<string[]> {
  const loop = getRunningLoop();
  const t0 = loop.time();
  const at = () => `${String(Math.round(loop.time() - t0)).padStart(4)} ms`;

  const jobs = new Queue<number>(4);
  const results: string[] = [];

  function* worker(name: string): Coroutine<void> {
    for (;;) {
      const n = yield* jobs.get();
      try {
        yield* sleep(25 * n); // the work: bigger jobs take longer
        results.push(`${n}² = ${n * n}`);
        log(`${at()}  ${name} finished job ${n}`);
      } finally {
        jobs.taskDone(); // also when the work fails: join() must not hang
      }
    }
  }

  const workers = ["w1", "w2", "w3"].map((name) => createTask(worker(name), { name }));
  for (let n = 1; n <= 8; n++) {
    yield* jobs.put(n); // waits while the queue is full
    log(`${at()}  queued job ${n} (${jobs.qsize()} pending)`);
  }
  yield* jobs.join();
  log(`${at()}  all ${results.length} jobs processed`);

  // The workers loop forever: cancel them and wait until they are gone.
  for (const w of workers) w.cancel();
  yield* gather(workers, { returnExceptions: true });
  return results;
}

if (import.meta.main) await run(main);
