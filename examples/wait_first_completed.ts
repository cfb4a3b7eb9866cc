// wait with FIRST_COMPLETED: returns as soon as one task is done, handing
// back the done and the pending ones; nothing is cancelled for us.
//
//   deno run examples/wait_first_completed.ts
import {
  type Coroutine,
  createTask,
  FIRST_COMPLETED,
  getRunningLoop,
  run,
  sleep,
  wait,
} from "../mod.ts";

/** Waits for the first of three tasks, then cancels the others. */
export function* main(log: (line: string) => void = console.log): Coroutine<void> {
  const loop = getRunningLoop();
  const t0 = loop.time();
  const tasks = [
    createTask(sleep(3_000, "slow"), { name: "slow" }),
    createTask(sleep(1_000, "fast"), { name: "fast" }),
    createTask(sleep(2_000, "medium"), { name: "medium" }),
  ];
  const [done, pending] = yield* wait(tasks, { returnWhen: FIRST_COMPLETED });
  const names = (s: Set<{ getName(): string }>) => [...s].map((t) => t.getName()).join(", ");
  log(
    `after ${((loop.time() - t0) / 1000).toFixed(1)} s: done: ${names(done)}; pending: ${
      names(pending)
    }`,
  );
  for (const t of done) log(`result: ${t.result()}`);
  for (const t of pending) t.cancel();
  yield* wait(pending);
  log(`cancelled the rest: ${[...pending].every((t) => t.cancelled())}`);
}

if (import.meta.main) await run(main);
