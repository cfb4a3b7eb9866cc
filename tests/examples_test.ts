// The tutorial programs in examples/, run under the virtual clock: their
// output, and how long they took in loop time.
import { assert } from "../deps.ts";
import { type Coroutine, getRunningLoop } from "../mod.ts";
import { needsRedis, vrun } from "./_util.ts";
import { main as asCompleted } from "../examples/as_completed.ts";
import { main as atomic } from "../examples/atomic.ts";
import { main as counters } from "../examples/counters.ts";
import { main as doneCallback } from "../examples/done_callback.ts";
import { main as gather } from "../examples/gather.ts";
import { main as helloWorldTask } from "../examples/hello_world_task.ts";
import { main as shield } from "../examples/shield.ts";
import { main as taskGroup } from "../examples/task_group.ts";
import { main as waitFirstCompleted } from "../examples/wait_first_completed.ts";
import { main as waitFor } from "../examples/wait_for.ts";

type Main = (log: (line: string) => void) => Coroutine<void>;

/** Runs an example; returns its lines and the loop time it took (ms). */
async function runExample(main: Main): Promise<{ lines: string[]; ms: number }> {
  const lines: string[] = [];
  const ms = await vrun(function* () {
    const loop = getRunningLoop();
    const t0 = loop.time();
    yield* main((line) => lines.push(line));
    return loop.time() - t0;
  });
  return { lines, ms };
}

Deno.test("examples/counters.ts: four counters interleave strictly", async () => {
  const { lines, ms } = await runExample(counters);
  const expected: string[] = [];
  for (let i = 0; i < 100; i++) for (const n of "ABCD") expected.push(`${n}: ${i}`);
  assert.deepEqual(lines, expected);
  assert.equal(ms, 0);
});

Deno.test("examples/hello_world_task.ts: the task pending, hello, the task finished; 15 s", async () => {
  const { lines, ms } = await runExample(helloWorldTask);
  assert.deepEqual(lines, [
    "<Task pending name=sleepy coro=sleepy>",
    "Hello World!",
    '<Task finished name=sleepy coro=sleepy result="I slept 10 s">',
    "after 15 s",
  ]);
  assert.equal(ms, 15_000);
});

Deno.test("examples/done_callback.ts: the callbacks get the finished task", async () => {
  const { lines, ms } = await runExample(doneCallback);
  assert.deepEqual(lines, [
    "got the result! Foo!",
    "the bound callback got the result too: Foo! (the task is done: true)",
  ]);
  assert.equal(ms, 1_000);
});

Deno.test("examples/gather.ts: 5 s for three 5 s tasks; 4 s in turn, 2 s as tasks", async () => {
  const { lines, ms } = await runExample(gather);
  assert.deepEqual(lines, [
    "gather of three 5 s tasks: a done, b done, c done after 5.0 s",
    "two 2 s sleeps awaited in turn: 4.0 s",
    "the same two sleeps as tasks: 2.0 s",
  ]);
  assert.equal(ms, 11_000);
});

Deno.test("examples/wait_first_completed.ts: returns with the fastest task", async () => {
  const { lines, ms } = await runExample(waitFirstCompleted);
  assert.deepEqual(lines, [
    "after 1.0 s: done: fast; pending: slow, medium",
    "result: fast",
    "cancelled the rest: true",
  ]);
  assert.equal(ms, 1_000);
});

Deno.test("examples/wait_for.ts: a 10 s task times out after 5 s and is cancelled", async () => {
  const { lines, ms } = await runExample(waitFor);
  assert.deepEqual(lines, [
    "eternity: cancelled, cleaning up",
    "timeout! after 5.0 s; the task was cancelled: true",
  ]);
  assert.equal(ms, 5_000);
});

Deno.test("examples/as_completed.ts: results quickest first", async () => {
  const { lines, ms } = await runExample(asCompleted);
  assert.deepEqual(lines, [
    "the quickest result was: one",
    "the next quickest result was: two",
    "the next quickest result was: three",
  ]);
  assert.equal(ms, 3_000);
});

Deno.test("examples/shield.ts: the wait times out, the shielded task finishes", async () => {
  const { lines, ms } = await runExample(shield);
  assert.deepEqual(lines, [
    "TimeoutError after 1.0 s; the task was cancelled: false",
    "the task finished anyway after 2.0 s with result 2",
  ]);
  assert.equal(ms, 2_000);
});

Deno.test("examples/atomic.ts: the monitor only ever sees whole batches", async () => {
  const { lines, ms } = await runExample(atomic);
  const seen = lines.filter((l) => l.startsWith("monitor:")).map((l) => parseInt(l.slice(9)));
  assert.ok(seen.length >= 7);
  assert.ok(seen.every((n) => n % 10 === 0), `saw ${seen}`);
  assert.ok(seen.some((n) => n > 0 && n < 50)); // it did look mid-fetch
  assert.equal(
    lines.at(-1),
    "fetched 50 items; every length the monitor saw was a multiple of 10: true",
  );
  assert.equal(ms, 500);
});

Deno.test("examples/task_group.ts: ten tasks, all done when the scope ends", async () => {
  const { lines, ms } = await runExample(taskGroup);
  const expected = [];
  for (let n = 9; n >= 0; n--) expected.push(`task ${n} done`);
  expected.push("all ten done after 1.0 s: 0 1 4 9 16 25 36 49 64 81");
  assert.deepEqual(lines, expected);
  assert.equal(ms, 1_000);
});

Deno.test(
  "examples/redis_fanout.ts: 1,000 jobs over three worker processes, progress in tenths",
  needsRedis(),
  async () => {
    const { startRedis } = await import("./_redis.ts");
    const { main: fanout, primesIn } = await import("../examples/redis_fanout.ts");
    assert.equal(primesIn(0, 100).count, 25);
    const redis = await startRedis();
    try {
      const lines: string[] = [];
      const r = await fanout(redis.url, { log: (l) => lines.push(l) });
      assert.equal(r.primes, 78_498); // below 1,000,000
      assert.equal([...r.perProcess.values()].reduce((a, b) => a + b, 0), 1000);
      assert.equal(lines.length, 10);
      assert.match(lines[9], /^\[##########\] 1000\/1000 jobs/);
    } finally {
      await redis.close();
    }
  },
);
