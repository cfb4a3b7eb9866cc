// The browser smoke test's page script (tests/browser/run.sh bundles it with
// esbuild, as an ES module and as a classic IIFE script, and loads both in
// headless Chromium, from a local server, once on a cross-origin isolated
// page and once on a plain one). It imports aio's public entry, mod.ts, and
// on each scheduler core, with the real clock, runs a task group whose
// producer and consumer meet in a bounded queue, and a timeout that expires;
// then a WorkerPoolExecutor job on two workers, whose entry module run.sh
// bundled as aio-worker.js (workerUrl), and a cancel that reaches a running
// job: through shared memory on the isolated page, through a message on the
// plain one. A bundled pool without workerUrl, and one whose workerUrl is
// missing, must fail saying why. Each bundle reports one line, "AIO-SMOKE
// <format> <page> ok <results>" or "... FAILED <error>", to the server
// (POST /report) and on the page.
import {
  BrokenWorkerError,
  CancelledError,
  type Coroutine,
  gather,
  type JobContext,
  Queue,
  run,
  sleep,
  taskGroup,
  timeout,
  TimeoutError,
  WorkerPoolExecutor,
} from "../../mod.ts";

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
  location: { href: string };
  crossOriginIsolated: boolean;
}
const page = globalThis as unknown as Page;

/** `fut` rejects with an error of class `cls` whose message matches `pattern`. */
async function failsWith(
  fut: PromiseLike<unknown>,
  cls: new (...args: never[]) => Error,
  pattern: RegExp,
  what: string,
): Promise<void> {
  try {
    await fut;
  } catch (e) {
    if (e instanceof cls && pattern.test(e.message)) return;
    throw new Error(`${what}: unexpected ${e instanceof Error ? e.stack : e}`);
  }
  throw new Error(`${what}: no error`);
}

async function executor(): Promise<string> {
  // Bundled, aio cannot know where its worker entry went: it says so.
  const lost = new WorkerPoolExecutor({ maxWorkers: 1 });
  await failsWith(lost.submit(() => 1), BrokenWorkerError, /workerUrl/, "no workerUrl");
  await lost.shutdown();
  // A worker module that does not load: the browser says nothing, aio says why.
  const missing = new WorkerPoolExecutor({
    maxWorkers: 1,
    workerUrl: new URL("no-such-worker.js", page.location.href),
  });
  await failsWith(missing.submit(() => 1), BrokenWorkerError, /HTTP 404/, "a missing worker");
  await missing.shutdown();

  const pool = new WorkerPoolExecutor({
    maxWorkers: 2,
    workerUrl: new URL("aio-worker.js", page.location.href),
  });
  const fib = (n: number): number => {
    const f = (k: number): number => (k < 2 ? k : f(k - 1) + f(k - 2));
    return f(n);
  };
  const fibs = await run(function* () {
    return yield* gather([pool.submit(fib, 20), pool.submit(fib, 21)]);
  });
  if (fibs[0] !== 6765 || fibs[1] !== 10946) throw new Error(`fib: ${fibs}`);
  const workers = pool.stats().workers;
  if (workers !== 2) throw new Error(`${workers} workers, expected 2`);

  let cancel: string;
  if (page.crossOriginIsolated) {
    // Shared memory: a job that never yields sees the request in its loop.
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const fut = pool.submit(function (this: JobContext, f: Int32Array) {
      Atomics.store(f, 0, 1);
      Atomics.notify(f, 0);
      let n = 0;
      while (!this.cancelled) n++;
      return n;
    }, flag);
    const w = Atomics.waitAsync(flag, 0, 0);
    if (w.async) await w.value;
    if (fut.cancel() !== false) throw new Error("cancel() of a running job returned true");
    const n = await fut;
    if (!(n > 0)) throw new Error(`the spinning job returned ${n}`);
    cancel = "a spinning job stopped (shared memory)";
  } else {
    // No shared memory: the request travels as a message; the job's signal aborts.
    const fut = pool.submit(function (this: JobContext) {
      const signal = this.signal;
      return new Promise((_, reject) => {
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener("abort", () => reject(signal.reason));
      });
    });
    await new Promise((r) => setTimeout(r, 50));
    fut.cancel();
    await failsWith(fut, CancelledError, /(?:)/, "a cancelled job");
    cancel = "a waiting job cancelled (messages)";
  }
  await pool.shutdown();
  return `executor: fib on ${workers} workers ${fibs.join(" ")}, ${cancel}`;
}

async function main(): Promise<string> {
  const out: string[] = [];
  for (const core of ["wasm", "ts"] as const) out.push(`${core}: ${await run(smoke, { core })}`);
  out.push(await executor());
  return out.join("; ");
}

function report(line: string): void {
  page.document.body.append(line + "\n");
  fetch("/report", { method: "POST", body: line }).catch(() => {});
}

const where = page.crossOriginIsolated ? "isolated" : "plain";
main().then(
  (r) => report(`AIO-SMOKE ${SMOKE_FORMAT} ${where} ok ${r}`),
  (e) =>
    report(
      `AIO-SMOKE ${SMOKE_FORMAT} ${where} FAILED ${(e?.stack ?? String(e)).replace(/\n/g, " | ")}`,
    ),
);
