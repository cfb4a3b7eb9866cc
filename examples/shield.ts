// shield inside waitFor: the wait times out after 1 s, but the shielded 2 s
// task is not cancelled; awaited afterwards, it delivers its result.
//
//   deno run examples/shield.ts
import {
  type Coroutine,
  createTask,
  getRunningLoop,
  run,
  shield,
  sleep,
  TimeoutError,
  waitFor,
} from "../mod.ts";

/** Times out a wait without cancelling what it waited for. */
export function* main(log: (line: string) => void = console.log): Coroutine<void> {
  const loop = getRunningLoop();
  const t0 = loop.time();
  function* important(): Coroutine<number> {
    yield* sleep(2_000);
    return 2;
  }
  const task = createTask(important());
  try {
    yield* waitFor(shield(task), 1_000);
  } catch (e) {
    if (!(e instanceof TimeoutError)) throw e;
    log(
      `TimeoutError after ${
        ((loop.time() - t0) / 1000).toFixed(1)
      } s; the task was cancelled: ${task.cancelled()}`,
    );
  }
  const result = yield* task;
  log(
    `the task finished anyway after ${
      ((loop.time() - t0) / 1000).toFixed(1)
    } s with result ${result}`,
  );
}

if (import.meta.main) await run(main);
