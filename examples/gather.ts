// Concurrency with gather: three tasks sleeping 5 s each are done after 5 s,
// not 15. Two 2-second sleeps awaited one after the other take 4 s; started
// as tasks first, 2 s.
//
//   deno run examples/gather.ts
import { type Coroutine, createTask, gather, getRunningLoop, run, sleep } from "../mod.ts";

function* work(name: string, ms: number): Coroutine<string> {
  yield* sleep(ms);
  return `${name} done`;
}

/** Times three ways of waiting for sleeps. */
export function* main(log: (line: string) => void = console.log): Coroutine<void> {
  const loop = getRunningLoop();
  const seconds = (t0: number) => ((loop.time() - t0) / 1000).toFixed(1);

  let t0 = loop.time();
  const results = yield* gather([work("a", 5_000), work("b", 5_000), work("c", 5_000)]);
  log(`gather of three 5 s tasks: ${results.join(", ")} after ${seconds(t0)} s`);

  t0 = loop.time();
  yield* sleep(2_000);
  yield* sleep(2_000);
  log(`two 2 s sleeps awaited in turn: ${seconds(t0)} s`);

  t0 = loop.time();
  const first = createTask(sleep(2_000));
  const second = createTask(sleep(2_000));
  yield* first;
  yield* second;
  log(`the same two sleeps as tasks: ${seconds(t0)} s`);
}

if (import.meta.main) await run(main);
