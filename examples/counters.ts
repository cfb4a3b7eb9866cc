// Four counters taking turns: each prints a line, then gives the others a
// turn with a bare `yield` (asyncio's `await asyncio.sleep(0)`), so the
// output interleaves strictly: A: 0, B: 0, C: 0, D: 0, A: 1, ...
//
//   deno run examples/counters.ts
import { type Coroutine, createTask, run, type Task } from "../mod.ts";

function* counter(name: string, log: (line: string) => void): Coroutine<void> {
  for (let i = 0; i < 100; i++) {
    log(`${name}: ${i}`);
    yield; // one turn for every other ready task
  }
}

/** Starts four counters and waits for them all. */
export function* main(log: (line: string) => void = console.log): Coroutine<void> {
  const tasks: Task<void>[] = [];
  for (const name of ["A", "B", "C", "D"]) tasks.push(createTask(counter(name, log)));
  for (const t of tasks) yield* t;
}

if (import.meta.main) await run(main);
