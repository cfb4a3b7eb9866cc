// The browser smoke test's page script (tests/browser/run.sh bundles it with
// esbuild, as an ES module and as a classic IIFE script, and loads both in
// headless Chromium). It imports aio's public entry, mod.ts, and on each
// scheduler core, with the real clock, runs a task group whose producer and
// consumer meet in a bounded queue, and a timeout that expires. Each bundle
// appends one line to the page, "AIO-SMOKE <format> ok <results>" or
// "AIO-SMOKE <format> FAILED <error>", which run.sh reads from the DOM.
import { type Coroutine, Queue, run, sleep, taskGroup, timeout, TimeoutError } from "../../mod.ts";

/** Set by the bundler (--define): "esm" or "iife". */
declare const SMOKE_FORMAT: string;

function* smoke(): Coroutine<string> {
  const queue = new Queue<number>(2);
  let sum = 0;
  yield* taskGroup(function* (tg) {
    tg.createTask(function* () {
      for (let i = 1; i <= 10; i++) yield* queue.put(i);
      yield* queue.put(0);
    }());
    tg.createTask(function* () {
      for (let v = yield* queue.get(); v !== 0; v = yield* queue.get()) sum += v;
    }());
  });
  let expired = false;
  try {
    yield* timeout(20, function* () {
      yield* sleep(60_000);
    });
  } catch (e) {
    if (!(e instanceof TimeoutError)) throw e;
    expired = true;
  }
  return `queue sum ${sum}, timeout expired ${expired}`;
}

interface Page {
  document: { body: { append(text: string): void } };
}

async function main(): Promise<string> {
  const out: string[] = [];
  for (const core of ["wasm", "ts"] as const) out.push(`${core}: ${await run(smoke, { core })}`);
  return out.join("; ");
}

const page = globalThis as unknown as Page;
main().then(
  (r) => page.document.body.append(`AIO-SMOKE ${SMOKE_FORMAT} ok ${r}\n`),
  (e) => page.document.body.append(`AIO-SMOKE ${SMOKE_FORMAT} FAILED ${e?.stack ?? e}\n`),
);
