// A TaskGroup of ten tasks: the scope ends when all ten are done. (Had one
// failed, the others would have been cancelled and the error thrown here.)
//
//   deno run examples/task_group.ts
import { type Coroutine, getRunningLoop, run, sleep, taskGroup } from "../mod.ts";

function* job(n: number, log: (line: string) => void): Coroutine<number> {
  yield* sleep(100 * (10 - n)); // the last one started finishes first
  log(`task ${n} done`);
  return n * n;
}

/** Runs ten jobs in one group. */
export function* main(log: (line: string) => void = console.log): Coroutine<void> {
  const loop = getRunningLoop();
  const t0 = loop.time();
  const tasks = yield* taskGroup(function* (tg) {
    return Array.from({ length: 10 }, (_, n) => tg.createTask(job(n, log)));
  });
  const squares = tasks.map((t) => t.result());
  log(`all ten done after ${((loop.time() - t0) / 1000).toFixed(1)} s: ${squares.join(" ")}`);
}

if (import.meta.main) await run(main);
