// Every import that is not aio's own, for tests and benchmarks. JSR is out of
// reach on the build machines, so assertions come from Node's module shipped
// inside Deno: `assert.equal`, `assert.deepEqual`, `assert.throws`, ...
import assert from "node:assert/strict";
export { assert };
