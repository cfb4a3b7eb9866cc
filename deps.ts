// Every import that is not aio's own, for tests and benchmarks. JSR is out of
// reach on the build machines, so assertions come from Node's module shipped
// inside Deno.
export * as assert from "node:assert/strict";
