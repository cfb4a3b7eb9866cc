// createTask: a task runs on its own while main goes on. The task sleeps
// 10 s; main prints it (pending), sleeps 5 s, says hello, sleeps 10 s more and
// prints it again (finished, with its result). 15 s in all, not 25.
//
//   deno run examples/hello_world_task.ts
import { type Coroutine, createTask, getRunningLoop, run, sleep } from "../mod.ts";

function* sleepy(): Coroutine<string> {
  yield* sleep(10_000);
  return "I slept 10 s";
}

/** Shows a task pending, then finished. */
export function* main(log: (line: string) => void = console.log): Coroutine<void> {
  const loop = getRunningLoop();
  const t0 = loop.time();
  // Passing the function (not sleepy()) lets the task's repr name it.
  const task = createTask(sleepy, { name: "sleepy" });
  log(String(task));
  yield* sleep(5_000);
  log("Hello World!");
  yield* sleep(10_000);
  log(String(task));
  log(`after ${((loop.time() - t0) / 1000).toFixed(0)} s`);
}

if (import.meta.main) await run(main);
