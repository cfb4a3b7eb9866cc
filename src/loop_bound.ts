/**
 * @internal What asyncio's `mixins._LoopBoundMixin` does: a primitive binds
 * to the running loop the first time it needs a future (not at
 * construction, so it can be created outside any loop), and refuses to be
 * used from another loop afterwards.
 *
 * @module
 */
import { RuntimeError } from "./errors.ts";
import type { EventLoop } from "./loop.ts";
import { getRunningLoop } from "./running.ts";

/** @internal */
export class LoopBound {
  /** @internal */
  _loop: EventLoop | null = null;

  /** @internal The running loop, after checking this primitive belongs to it. */
  _getLoop(): EventLoop {
    const loop = getRunningLoop();
    if (this._loop === null) this._loop = loop;
    else if (loop !== this._loop) {
      throw new RuntimeError(
        `${this} is bound to a different event loop: create one per loop (or per run())`,
      );
    }
    return loop;
  }
}
