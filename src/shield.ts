/**
 * `shield`: await something without letting a cancellation reach it.
 *
 * @module
 */
import { checkAwaitable, loopFor, toFuture } from "./awaitables.ts";
import { CANCELLED, Future, PENDING } from "./future.ts";
import { followedBy } from "./_graph_links.ts";
import type { Awaitable } from "./task.ts";

/**
 * A future that follows `aw` but can be cancelled on its own: cancelling
 * it (or the task awaiting it) does not cancel `aw`, which keeps running.
 * asyncio's `shield(aw)`. `yield* shield(x)` is `yield* x`, except that a
 * cancellation of the awaiting task stops the wait, not `x`.
 *
 * A coroutine is wrapped in a task; an `aw` already done is returned as is.
 * If `aw` itself is cancelled (by other means), the shield is cancelled too.
 * If the shield was cancelled and `aw` later fails, that failure is reported
 * as never retrieved unless someone else looks at it. Anything not
 * awaitable is a `TypeError`; a future of another loop a `ValueError`.
 *
 * @example
 * ```ts
 * import { createTask, run, shield, sleep, TimeoutError, waitFor } from "@aio/aio";
 * await run(function* () {
 *   const save = createTask(sleep(2000, "saved"));
 *   try {
 *     yield* waitFor(shield(save), 1000);
 *   } catch (e) {
 *     console.log(e instanceof TimeoutError, save.cancelled()); // true false
 *   }
 *   console.log(yield* save); // "saved"
 * }, { clock: "virtual" });
 * ```
 *
 * @category Combinators
 */
export function shield<T>(aw: Awaitable<T>): Future<T> {
  checkAwaitable(aw, "shield()");
  const loop = loopFor([aw]);
  const inner = toFuture(aw, loop, "shield()");
  if (inner._state !== PENDING) return inner;
  const outer = new Future<T>(loop);

  const onInnerDone = (f: Future<T>) => {
    if (outer._state === CANCELLED) {
      // Mark the result as seen: nobody is waiting for it through us.
      if (f._state !== CANCELLED) f.exception();
      return;
    }
    if (f._state === CANCELLED) {
      outer.cancel();
      return;
    }
    const exc = f.exception();
    if (exc !== undefined) outer.setException(exc);
    else outer.setResult(f._result as T);
  };
  const onOuterDone = () => {
    // A cancelled shield stops following inner; inner's own failure then
    // stays unretrieved and is reported, as in asyncio.
    if (inner._state === PENDING) inner.removeDoneCallback(onInnerDone);
  };
  inner.addDoneCallback(onInnerDone);
  outer.addDoneCallback(onOuterDone);
  followedBy.set(outer, { kind: "shield", futures: [inner] });
  return outer;
}
