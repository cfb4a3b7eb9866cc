// Runs coroutine jobs in a worker as tasks of one aio event loop per
// worker, started on the first such job and running until the worker stops.
// A loop per job (asyncio.run style) costs ~80 µs of loop setup per job;
// a shared loop costs a task. Loaded on the first coroutine job only.

import { CancelledError } from "../errors.ts";
import { EventLoop } from "../loop.ts";
import type { Coroutine, Task } from "../task.ts";
import type { JobContext } from "./job_context.ts";

let loop: EventLoop | null = null;

function workerLoop(): EventLoop {
  if (loop === null) {
    loop = new EventLoop();
    // Never stopped: the pool terminates the worker, loop and all.
    void loop.runForever();
  }
  return loop;
}

/**
 * Runs `coro` as a task on the worker's loop and settles with its outcome;
 * cancelling the job (its signal aborts) cancels the task.
 */
export function runCoroutineJob(
  coro: Generator<unknown, unknown, unknown>,
  ctx: JobContext,
): Promise<unknown> {
  const signal = ctx.signal;
  if (signal.aborted) {
    return Promise.reject(new CancelledError("the job was cancelled by its pool"));
  }
  const task: Task<unknown> = workerLoop().createTask(coro as Coroutine<unknown>);
  const onAbort = () => task.cancel((signal.reason as Error)?.message);
  signal.addEventListener("abort", onAbort, { once: true });
  return new Promise((resolve, reject) => {
    task.addDoneCallback((t) => {
      signal.removeEventListener("abort", onAbort);
      if (t.cancelled()) reject(new CancelledError("the job was cancelled"));
      else if (t.exception() !== undefined) reject(t.exception());
      else resolve(t.result());
    });
  });
}
