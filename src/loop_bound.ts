/**
 * @internal What asyncio's `mixins._LoopBoundMixin` does: a primitive binds
 * to the running loop the first time it needs a future (not at
 * construction, so it can be created outside any loop), and refuses to be
 * used from another loop afterwards.
 *
 * A primitive declares the field `_loop` (`null` until bound) and calls
 * `boundLoop(this)` where it needs the loop. This is a helper and not a base
 * class so that the primitives' public docs show no internal base class
 * (`deno doc` prints an `extends` clause whatever the base's tags say).
 *
 * @module
 */
import { RuntimeError } from "./errors.ts";
import type { EventLoop } from "./loop.ts";
import { getRunningLoop } from "./running.ts";

/** @internal A primitive that binds to a loop on first use. */
export interface LoopBound {
  /** The loop the primitive is bound to; `null` until it first needs one. */
  _loop: EventLoop | null;
}

/**
 * @internal The running loop, after checking `p` belongs to it (binding `p`
 * to it on first use).
 */
export function boundLoop(p: LoopBound): EventLoop {
  const loop = getRunningLoop();
  if (p._loop === null) p._loop = loop;
  else if (loop !== p._loop) {
    throw new RuntimeError(
      `${p} is bound to a different event loop: create one per loop (or per run())`,
    );
  }
  return loop;
}
