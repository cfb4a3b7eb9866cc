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
