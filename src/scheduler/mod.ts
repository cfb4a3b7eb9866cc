/**
 * Scheduler cores: the ready queue and timer queue under each event loop.
 *
 * @module
 */

import type { CoreKind, SchedulerCore } from "./types.ts";
import { TsCore } from "./ts_core.ts";

export type { CoreKind, SchedulerCore } from "./types.ts";
export { TsCore } from "./ts_core.ts";

/**
 * Creates a fresh, independent scheduler core of the given kind. Each event
 * loop owns one.
 */
export function createCore(kind: CoreKind): SchedulerCore {
  if (kind === "ts") return new TsCore();
  if (kind === "wasm") {
    throw new Error("the WASM scheduler core is not built yet");
  }
  throw new TypeError(`unknown scheduler core ${JSON.stringify(kind)}`);
}
