// Shared test plumbing. The suite runs once per scheduler core: CI sets
// AIO_CORE=wasm and AIO_CORE=ts in turn.
import type { CoreKind } from "../src/scheduler/types.ts";

function coreFromEnv(): CoreKind {
  const v = Deno.env.get("AIO_CORE") ?? "wasm";
  if (v !== "wasm" && v !== "ts") {
    throw new Error(`AIO_CORE must be "wasm" or "ts", got ${JSON.stringify(v)}`);
  }
  return v;
}

/** The core under test. */
export const CORE: CoreKind = coreFromEnv();

import { run } from "../src/run.ts";
import type { EventLoopOptions } from "../src/loop.ts";
import type { Coroutine } from "../src/task.ts";

/** `run` on the core under test with the virtual clock (the default for tests). */
export function vrun<T>(
  main: Coroutine<T> | (() => Coroutine<T>),
  options?: EventLoopOptions,
): Promise<T> {
  return run(main, { core: CORE, clock: "virtual", ...options });
}
