/**
 * Scheduler cores: the ready queue and timer queue under each event loop.
 *
 * @module
 */

import type { CoreKind, SchedulerCore } from "./types.ts";
import { TsCore } from "./ts_core.ts";
import { WasmCore } from "./wasm.ts";

export type { CoreKind, SchedulerCore } from "./types.ts";
export { TsCore } from "./ts_core.ts";
export { createWasmCore, WasmCore, wasmModule } from "./wasm.ts";

/**
 * Creates a fresh, independent scheduler core of the given kind. Each event
 * loop owns one.
 */
export function createCore(kind: CoreKind): SchedulerCore {
  if (kind === "ts") return new TsCore();
  if (kind === "wasm") return new WasmCore();
  throw new TypeError(`unknown scheduler core ${JSON.stringify(kind)}`);
}
