// toThread, ported from CPython's test_asyncio/test_threads.py (ToThreadTests).
// test_to_thread_contextvars has no counterpart: a worker shares no memory
// with the loop, so context variables do not cross.
import { assert } from "../deps.ts";
import { gather, run, toThread, workerFunction } from "../mod.ts";
import { CORE, vrun } from "./_util.ts";

const jobs = new URL("./fixtures/executor_jobs.ts", import.meta.url);
type Jobs = typeof import("./fixtures/executor_jobs.ts");

Deno.test("test_threads::ToThreadTests::test_to_thread", async () => {
  const r = await vrun(function* () {
    return yield* toThread((xs: number[]) => xs.reduce((a, b) => a + b, 0), [40, 2]);
  });
  assert.equal(r, 42);
});

Deno.test("test_threads::ToThreadTests::test_to_thread_once", async () => {
  const setState = workerFunction<Jobs["setState"]>(jobs, "setState");
  const getState = workerFunction<Jobs["getState"]>(jobs, "getState");
  const r = await vrun(function* () {
    yield* toThread(setState, 1);
    // The default pool reuses its one busy-free worker: the call ran once, there.
    return yield* toThread(getState);
  });
  assert.equal(r, 1);
});

Deno.test("test_threads::ToThreadTests::test_to_thread_concurrent", async () => {
  const r = await run(function* () {
    const futs = Array.from({ length: 200 }, (_, i) => toThread((x: number) => x * 2, i));
    return yield* gather(futs);
  }, { core: CORE });
  assert.deepEqual(r, Array.from({ length: 200 }, (_, i) => i * 2));
});

Deno.test("test_threads::ToThreadTests::test_to_thread_args_kwargs", async () => {
  const r = await vrun(function* () {
    return yield* toThread(
      (a: string, opts: { times: number; sep: string }) => Array(opts.times).fill(a).join(opts.sep),
      "x",
      { times: 3, sep: "-" },
    );
  });
  assert.equal(r, "x-x-x");
});

Deno.test("toThread: the job's exception is raised in the coroutine", async () => {
  await assert.rejects(
    vrun(function* () {
      yield* toThread(() => {
        throw new RangeError("from the worker");
      });
    }),
    (e: Error) => e instanceof RangeError && e.message === "from the worker",
  );
});

Deno.test("toThread: outside a running loop is a RuntimeError", () => {
  assert.throws(() => toThread(() => 1), { name: "RuntimeError" });
});
