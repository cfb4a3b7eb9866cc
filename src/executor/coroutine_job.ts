// Runs a coroutine job in a worker on its own aio event loop, like
// `asyncio.run` in a thread: the job can sleep, gather and make tasks, and
// whatever it leaves running is cancelled when it returns. Loaded on the
// first coroutine job only.

import { CancelledError } from "../errors.ts";
import { run } from "../run.ts";
import { currentTask, type Task } from "../task.ts";
import type { JobContext } from "./job_context.ts";

/** Runs `coro` to completion; cancelling the job cancels its task. */
export function runCoroutineJob(
  coro: Generator<unknown, unknown, unknown>,
  ctx: JobContext,
): Promise<unknown> {
  return run(function* () {
    const task = currentTask() as Task<unknown>;
    const signal = ctx.signal;
    const onAbort = () => task.cancel(String((signal.reason as Error)?.message ?? "cancelled"));
    if (signal.aborted) throw new CancelledError("the job was cancelled by its pool");
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      // deno-lint-ignore no-explicit-any
      return yield* coro as any;
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  });
}
