// Done callbacks: a function called with the finished task, once it is done.
// The second one is bound to an extra argument first (Python's
// functools.partial is Function.prototype.bind).
//
//   deno run examples/done_callback.ts
import { type Coroutine, createTask, run, sleep, type Task } from "../mod.ts";

function* returnFoo(): Coroutine<string> {
  yield* sleep(1_000);
  return "Foo!";
}

/** Registers two done callbacks and waits for the task. */
export function* main(log: (line: string) => void = console.log): Coroutine<void> {
  function gotResult(task: Task<string>): void {
    log(`got the result! ${task.result()}`);
  }
  function gotResultFor(who: string, task: Task<string>): void {
    log(`${who} got the result too: ${task.result()} (the task is done: ${task.done()})`);
  }
  const task = createTask(returnFoo());
  task.addDoneCallback(gotResult);
  task.addDoneCallback(gotResultFor.bind(null, "the bound callback"));
  yield* task;
  yield; // callbacks run in the loop iteration after the task finished
}

if (import.meta.main) await run(main);
