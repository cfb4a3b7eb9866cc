// Which loop is running a callback right now, kept apart from loop.ts so that
// future.ts and task.ts can ask without an import cycle.
import { RuntimeError } from "./errors.ts";
import type { EventLoop } from "./loop.ts";

let running: EventLoop | null = null;

/** @internal Sets the running loop; returns the previous one. */
export function setRunningLoop(loop: EventLoop | null): EventLoop | null {
  const prev = running;
  running = loop;
  return prev;
}

/** @internal The running loop or null, without throwing. */
export function peekRunningLoop(): EventLoop | null {
  return running;
}

/**
 * The event loop that is running the current callback or task step.
 * Throws `RuntimeError` when called outside one, as in asyncio.
 *
 * @example
 * ```ts
 * import { getRunningLoop, run } from "@aio/aio";
 * await run(function* () {
 *   const loop = getRunningLoop();
 *   console.log(loop.time() >= 0); // true
 * });
 * ```
 *
 * @category Running
 */
export function getRunningLoop(): EventLoop {
  if (running === null) {
    throw new RuntimeError(
      "no running event loop: call this from a coroutine or callback run by aio (for example inside run())",
    );
  }
  return running;
}
