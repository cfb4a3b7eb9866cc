// What the executor's tests need to know of the runtime they run on (Deno,
// or Node and Bun through scripts/test_portable.ts): how a job ends its
// worker, and which tests a runtime's workers cannot run, as Deno.test options.
import { RUNTIME } from "../src/executor/spawn.ts";

export { RUNTIME };

/** The call that exits a worker from a job: `Deno.exit` on Deno, `process.exit` elsewhere. */
export const EXIT = {
  call: (code: number): string =>
    RUNTIME === "deno" ? `Deno.exit(${code})` : `process.exit(${code})`,
  /** What the pool's error message says of that call. */
  pattern: (code: number): RegExp =>
    new RegExp(`${RUNTIME === "deno" ? "Deno" : "process"}\\.exit\\(${code}\\)`),
};

/** Jobs that use the Web Worker scope (`self`): Node's worker_threads have none. */
export const WEB_SCOPE: { ignore: boolean } = { ignore: RUNTIME === "node" };

/** Tests of Node's worker scope (`parentPort`). */
export const NODE_SCOPE: { ignore: boolean } = { ignore: RUNTIME !== "node" };

/** maxHeapMb: honoured on Deno and Node; Bun's workers take no heap limit. */
export const HEAP_LIMITS: { ignore: boolean } = { ignore: RUNTIME === "bun" };

/** Only where maxHeapMb cannot be honoured (Bun). */
export const NO_HEAP_LIMITS: { ignore: boolean } = { ignore: RUNTIME !== "bun" };
