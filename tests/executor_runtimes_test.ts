// The executor on each runtime (Deno, Node's worker_threads, Bun's Web
// Workers): a worker that cannot start says why, the entry module can be
// named (workerUrl, for bundles), each runtime's own way for a job to end
// or misuse its worker, and the message path that browser pages without
// cross-origin isolation take (no SharedArrayBuffer), run here by turning
// shared memory off.
import { assert } from "../deps.ts";
import {
  BrokenWorkerError,
  CancelledError,
  type Future,
  workerFunction,
  WorkerPoolExecutor,
} from "../mod.ts";
import { memory } from "../src/executor/spawn.ts";
import { NO_HEAP_LIMITS, NODE_SCOPE, RUNTIME } from "./_executor_runtime.ts";

const jobs = new URL("./fixtures/executor_jobs.ts", import.meta.url);
type Jobs = typeof import("./fixtures/executor_jobs.ts");
const untilAborted = workerFunction<Jobs["untilAborted"]>(jobs, "untilAborted");
const setState = workerFunction<Jobs["setState"]>(jobs, "setState");
const getState = workerFunction<Jobs["getState"]>(jobs, "getState");

const settled = <T>(f: PromiseLike<T>): Promise<T> => Promise.resolve(f);
const outcome = (f: PromiseLike<unknown>) =>
  settled(f).then((v) => ({ ok: v }), (e: Error) => ({ err: e }));

/** A shared flag a job sets when it starts, and a promise of that. */
function startFlag(): { flag: Int32Array; started(): Promise<void> } {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  return {
    flag,
    async started() {
      const r = Atomics.waitAsync(flag, 0, 0);
      if (r.async) await r.value;
    },
  };
}

/** Runs `fn` with the pool's slot memory not shared, as in a page without cross-origin isolation. */
async function withoutSharedMemory(fn: () => Promise<void>): Promise<void> {
  memory.share = false;
  try {
    await fn();
  } finally {
    memory.share = true;
  }
}

Deno.test(`${RUNTIME}: a worker whose entry module is missing fails the pool with the runtime's reason`, async () => {
  const workerUrl = new URL("./fixtures/no_such_worker_entry.js", import.meta.url);
  await using pool = new WorkerPoolExecutor({ maxWorkers: 1, workerUrl });
  const r = await outcome(pool.submit(() => 1));
  assert.ok("err" in r && r.err instanceof BrokenWorkerError, String(r));
  const message = (r as { err: Error }).err.message;
  assert.match(message, /a worker failed to start: /);
  // `deno test` type-checks a worker's module graph first, and reports a
  // missing module as a failed type check; `deno run`, Node and Bun name the file.
  assert.match(message, /no_such_worker_entry\.js|Type checking failed/);
  assert.throws(() => pool.submit(() => 2), { name: "BrokenWorkerError" });
});

Deno.test(`${RUNTIME}: a worker whose entry module throws at load fails the pool with that error`, async () => {
  const workerUrl = new URL("./fixtures/executor_bad_entry.ts", import.meta.url);
  await using pool = new WorkerPoolExecutor({ maxWorkers: 1, workerUrl });
  const r = await outcome(pool.submit(() => 1));
  assert.ok("err" in r && r.err instanceof BrokenWorkerError, String(r));
  assert.match((r as { err: Error }).err.message, /a worker failed to start: /);
  assert.match((r as { err: Error }).err.message, /the entry module threw at load/);
});

Deno.test("workerUrl: the entry module named explicitly (as a bundle would) runs jobs", async () => {
  const workerUrl = new URL("../src/executor/worker.ts", import.meta.url);
  await using pool = new WorkerPoolExecutor({ maxWorkers: 2, workerUrl: workerUrl.href });
  const r = await Promise.all([1, 2, 3].map((x) => pool.submit((v: number) => v * 10, x)));
  assert.deepEqual(r, [10, 20, 30]);
  assert.equal(await pool.submit(workerFunction<Jobs["add"]>(jobs, "add"), 2, 3), 5);
});

Deno.test("workerUrl: not a URL, or relative with no page to resolve it against, is a TypeError", () => {
  assert.throws(() => new WorkerPoolExecutor({ workerUrl: 42 as unknown as string }), {
    name: "TypeError",
    message: /workerUrl must be a URL or a string/,
  });
  assert.throws(() => new WorkerPoolExecutor({ workerUrl: "./aio-worker.js" }), {
    name: "TypeError",
    message: /workerUrl "\.\/aio-worker\.js" is not a URL/,
  });
});

Deno.test(
  "node: a job calling parentPort.postMessage() ends its worker; the pool heals",
  NODE_SCOPE,
  async () => {
    await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
    const r = await outcome(pool.submit(() => {
      const p = globalThis as unknown as { process: { getBuiltinModule(id: string): unknown } };
      const wt = p.process.getBuiltinModule("node:worker_threads") as {
        parentPort: { postMessage(m: unknown): void };
      };
      wt.parentPort.postMessage({ t: 12, r: [0, 1, "forged"], x: null, busy: 0, n: 1 });
      return "not reached";
    }));
    assert.ok("err" in r && r.err instanceof BrokenWorkerError, String(r));
    assert.match((r as { err: Error }).err.message, /parentPort\.postMessage\(\)/);
    assert.equal(await pool.submit(() => "healed"), "healed");
  },
);

Deno.test(
  "bun: maxHeapMb fails the pool saying Bun's workers take no heap limit",
  NO_HEAP_LIMITS,
  async () => {
    await using pool = new WorkerPoolExecutor({ maxWorkers: 1, maxHeapMb: 64 });
    const r = await outcome(pool.submit(() => 1));
    assert.ok("err" in r && r.err instanceof BrokenWorkerError, String(r));
    assert.match((r as { err: Error }).err.message, /maxHeapMb is not supported on Bun/);
  },
);

// JSR's npm packages hold every module transpiled to JavaScript under its own
// path, specifiers rewritten to .js: such a copy of aio, made here with
// esbuild (AIO_ESBUILD, as the Node and Bun runs in CI have it), must find
// its worker entry (worker.js beside spawn.js) and run jobs. Node and Bun
// only: Deno loads JSR packages as they were published (https: URLs, see
// executor_pool_test.ts), and esbuild's service process would trip its sanitizers.
const ESBUILD = Deno.env.get("AIO_ESBUILD");
Deno.test({
  name: "as published to npm by JSR (transpiled .js modules), the pool finds its worker entry",
  ignore: ESBUILD === undefined || RUNTIME === "deno",
  async fn() {
    const { createRequire } = await import("node:module");
    const fs = await import("node:fs");
    const os = await import("node:os");
    const { pathToFileURL, fileURLToPath } = await import("node:url");
    const esbuild = createRequire(import.meta.url)(ESBUILD!) as {
      transform(code: string, options: object): Promise<{ code: string }>;
    };
    const root = fileURLToPath(new URL("../", import.meta.url));
    const out = fs.mkdtempSync(`${os.tmpdir()}/aio-npm-`);
    try {
      const files = ["mod.ts"];
      for (const f of fs.readdirSync(`${root}src`, { recursive: true }) as string[]) {
        if (f.endsWith(".ts")) files.push(`src/${f}`);
      }
      for (const f of files) {
        const { code } = await esbuild.transform(fs.readFileSync(`${root}${f}`, "utf8"), {
          loader: "ts",
          format: "esm",
          target: "es2022",
        });
        const js = code.replace(
          /((?:from|import)\s*\(?\s*)(["'])(\.{1,2}\/[^"']+)\.ts\2/g,
          "$1$2$3.js$2",
        );
        const dest = `${out}/${f.replace(/\.ts$/, ".js")}`;
        fs.mkdirSync(dest.slice(0, dest.lastIndexOf("/")), { recursive: true });
        fs.writeFileSync(dest, js);
      }
      fs.writeFileSync(`${out}/package.json`, '{ "type": "module" }');
      const aio = await import(pathToFileURL(`${out}/mod.js`).href) as typeof import("../mod.ts");
      await using pool = new aio.WorkerPoolExecutor({ maxWorkers: 1 });
      assert.equal(await pool.submit((x: number) => x + 1, 41), 42);
      // A coroutine job: the worker imports its loop lazily, from a .js module too.
      assert.equal(
        await pool.submit(function* () {
          return "coroutine";
        }),
        "coroutine",
      );
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  },
});

// ---- without shared memory ---------------------------------------------------

Deno.test("without shared memory: results, errors and map as with it", async () => {
  await withoutSharedMemory(async () => {
    await using pool = new WorkerPoolExecutor({ maxWorkers: 2 });
    const futs = Array.from({ length: 300 }, (_, i) => pool.submit((x: number) => x * 2, i));
    assert.deepEqual(await Promise.all(futs), Array.from({ length: 300 }, (_, i) => i * 2));
    await assert.rejects(
      settled(pool.submit(() => {
        throw new RangeError("from the job");
      })),
      RangeError,
    );
    const squares: number[] = [];
    for await (const sq of pool.map((x: number) => x * x, [1, 2, 3, 4, 5], { chunksize: 2 })) {
      squares.push(sq);
    }
    assert.deepEqual(squares, [1, 4, 9, 16, 25]);
  });
});

Deno.test("without shared memory: cancelling a running job aborts its signal; the future ends cancelled", async () => {
  await withoutSharedMemory(async () => {
    await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
    const s = startFlag();
    const fut = pool.submit(untilAborted, s.flag);
    await s.started();
    assert.equal(fut.cancel(), false, "refused: the job is running");
    await assert.rejects(settled(fut), CancelledError);
    assert.equal(fut.cancelled(), true);
    assert.equal(await pool.submit(() => "next"), "next");
  });
});

Deno.test("without shared memory: a job cancelled while it waits in the worker never runs", async () => {
  await withoutSharedMemory(async () => {
    // The initializer holds the worker until the test lets it go; the jobs
    // sent meanwhile wait in the worker, where only the worker can withdraw them.
    const gate = new Int32Array(new SharedArrayBuffer(4));
    await using pool = new WorkerPoolExecutor({
      maxWorkers: 1,
      initializer: (g: Int32Array) => {
        const w = Atomics.waitAsync(g, 0, 0);
        return w.async ? w.value : undefined;
      },
      initargs: [gate],
    });
    const fut = pool.submit(setState, "ran");
    await new Promise((r) => setTimeout(r, 20)); // sent to the worker
    assert.equal(fut.cancel(), false, "only the worker knows whether it started");
    await assert.rejects(settled(fut), CancelledError);
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    assert.equal(await pool.submit(getState), "unset", "the cancelled job did not run");
  });
});

Deno.test("without shared memory: a long batch pauses between jobs to read a cancel for a later job", async () => {
  await withoutSharedMemory(async () => {
    await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
    const spin = (ms: number, v: number) => {
      const end = performance.now() + ms;
      while (performance.now() < end);
      return v;
    };
    const s = startFlag();
    // Submitted together: one message, so one batch in the worker.
    const first = pool.submit(
      (flag: Int32Array, ms: number) => {
        Atomics.store(flag, 0, 1);
        Atomics.notify(flag, 0);
        const end = performance.now() + ms;
        while (performance.now() < end);
        return "first";
      },
      s.flag,
      30,
    );
    const middle = [1, 2, 3].map((v) => pool.submit(spin, 5, v));
    const last = pool.submit(() => "last ran");
    await s.started();
    assert.equal(last.cancel(), false, "only the worker knows whether it started");
    await assert.rejects(settled(last), CancelledError);
    assert.equal(await first, "first");
    assert.deepEqual(await Promise.all(middle), [1, 2, 3]);
  });
});

Deno.test("without shared memory: shutdown({ cancelFutures }) cancels the jobs waiting in a worker", async () => {
  await withoutSharedMemory(async () => {
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const pool = new WorkerPoolExecutor({
      maxWorkers: 1,
      initializer: (g: Int32Array) => {
        const w = Atomics.waitAsync(g, 0, 0);
        return w.async ? w.value : undefined;
      },
      initargs: [gate],
    });
    const futs: Future<unknown>[] = [pool.submit(setState, "ran"), pool.submit(() => "ran too")];
    await new Promise((r) => setTimeout(r, 20)); // sent to the worker
    const done = pool.shutdown({ cancelFutures: true });
    // The worker answers while its initializer still holds it.
    for (const f of futs) await assert.rejects(settled(f), CancelledError);
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    await done;
    assert.deepEqual(pool.stats(), {
      workers: 0,
      queued: 0,
      running: 0,
      abandoned: 0,
      done: 2,
      submitted: 2,
    });
  });
});

Deno.test("without shared memory: a worker that dies fails every job it held; the pool heals", async () => {
  await withoutSharedMemory(async () => {
    await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
    const s = startFlag();
    const running = pool.submit(untilAborted, s.flag);
    await s.started();
    const behind: Future<number>[] = [1, 2].map((x) => pool.submit((v: number) => v, x));
    const crash = pool.submit(() =>
      new Promise(() => {
        setTimeout(() => {
          throw new Error("boom");
        }, 1);
      })
    );
    for (const f of [running, crash]) {
      const r = await outcome(f);
      assert.ok("err" in r && r.err instanceof BrokenWorkerError, String(r));
    }
    // The two quick jobs answered before the crash: they kept their results.
    assert.deepEqual(await Promise.all(behind), [1, 2]);
    assert.equal(await pool.submit(() => "healed"), "healed");
  });
});

Deno.test("without shared memory: cancelRunning terminate settles at once and replaces a worker that does not stop", async () => {
  await withoutSharedMemory(async () => {
    await using pool = new WorkerPoolExecutor({
      maxWorkers: 1,
      cancelRunning: "terminate",
      cancelGraceMs: 30,
    });
    const s = startFlag();
    const fut = pool.submit((flag: Int32Array) => {
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      for (;;); // never looks at its signal
    }, s.flag);
    await s.started();
    assert.equal(fut.cancel(), true);
    assert.equal(fut.cancelled(), true);
    assert.equal(await pool.submit(() => "replacement"), "replacement");
  });
});
