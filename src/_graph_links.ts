// What introspection (graph.ts) needs from the combinators, and nothing the
// hot paths pay for. A task knows the one future it waits on (`_futWaiter`);
// the graph is computed from there at capture time. A combinator's outer
// future does not say what it follows, so the combinators that are not on a
// hot path record it here once per call (shield, wait, a task group's
// completion future), and a task group tags its one done callback so a child
// task leads back to the group's parent. gather's outer future already keeps
// its children (gather.ts, `gatheringChildren`); a timeout or waitFor runs
// its body inline in the waiting task, so that task waits on the body's
// futures directly and needs no link.
import type { Future } from "./future.ts";
import type { Task } from "./task.ts";

/**
 * A combinator's outer future → what it is ("shield", "wait", "TaskGroup")
 * and the live collection of futures it follows (read at capture time only).
 */
export const followedBy: WeakMap<
  Future<unknown>,
  { kind: string; futures: Iterable<Future<unknown>> }
> = new WeakMap();

/** A task group's done callback → the group's parent task, while the group runs. */
export const groupParentOf: WeakMap<object, Task<unknown>> = new WeakMap();

/**
 * Where each task suspended last in debug mode: the stack while its
 * `yield*` chain was still on it, the future and the loop time. Written by
 * `Awaiting.next` (future.ts) only while some loop is in debug mode.
 */
export const suspensions: WeakMap<
  Task<unknown>,
  { fut: Future<unknown>; stack: string | undefined; at: number }
> = new WeakMap();
