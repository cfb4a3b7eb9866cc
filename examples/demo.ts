// A short tour of aio on the real clock: `deno task demo`.
import { createTask, run, sleep } from "../mod.ts";

function* sayAfter(ms: number, what: string) {
  yield* sleep(ms);
  console.log(`${(performance.now() - t0).toFixed(0).padStart(4)} ms  ${what}`);
  return what;
}

const t0 = performance.now();
await run(function* () {
  console.log("two tasks sleeping 300 ms and 600 ms run concurrently:");
  const a = createTask(sayAfter(300, "hello"));
  const b = createTask(sayAfter(600, "world"));
  yield* a;
  yield* b;
  console.log("both done after ~600 ms, not 900");
});
