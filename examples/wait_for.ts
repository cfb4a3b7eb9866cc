// waitFor: give a 10 s task 5 s. When the time is up the task is cancelled
// (and waitFor waits until it has wound down), then TimeoutError is thrown.
//
//   deno run examples/wait_for.ts
import {
  CancelledError,
  type Coroutine,
  createTask,
  getRunningLoop,
  run,
  sleep,
  TimeoutError,
  waitFor,
} from "../mod.ts";

/** Times out a slow task. */
export function* main(log: (line: string) => void = console.log): Coroutine<void> {
  const loop = getRunningLoop();
  const t0 = loop.time();
  function* eternity(): Coroutine<string> {
    try {
      yield* sleep(10_000);
      return "finished";
    } catch (e) {
      if (e instanceof CancelledError) log("eternity: cancelled, cleaning up");
      throw e;
    }
  }
  const task = createTask(eternity());
  try {
    yield* waitFor(task, 5_000);
  } catch (e) {
    if (!(e instanceof TimeoutError)) throw e;
    log(
      `timeout! after ${
        ((loop.time() - t0) / 1000).toFixed(1)
      } s; the task was cancelled: ${task.cancelled()}`,
    );
  }
}

if (import.meta.main) await run(main);
