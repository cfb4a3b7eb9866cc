// The synchronisation examples, run under the virtual clock so their output
// is exact, and once each as a script.
import { assert } from "../deps.ts";
import { main as producerConsumer } from "../examples/producer_consumer.ts";
import { main as rateLimitedFanout } from "../examples/rate_limited_fanout.ts";
import { main as requestId } from "../examples/request_id.ts";
import { vrun } from "./_util.ts";

Deno.test("examples/producer_consumer.ts: bounded queue, three workers, join", async () => {
  const lines: string[] = [];
  const results = await vrun(() => producerConsumer((l) => lines.push(l)));
  assert.deepEqual(lines, [
    "   0 ms  queued job 1 (1 pending)",
    "   0 ms  queued job 2 (2 pending)",
    "   0 ms  queued job 3 (3 pending)",
    "   0 ms  queued job 4 (4 pending)",
    "   0 ms  queued job 5 (2 pending)",
    "   0 ms  queued job 6 (3 pending)",
    "   0 ms  queued job 7 (4 pending)",
    "  25 ms  w1 finished job 1",
    "  25 ms  queued job 8 (4 pending)", // the producer waited for room
    "  50 ms  w2 finished job 2",
    "  75 ms  w3 finished job 3",
    " 125 ms  w1 finished job 4",
    " 175 ms  w2 finished job 5",
    " 225 ms  w3 finished job 6",
    " 300 ms  w1 finished job 7",
    " 375 ms  w2 finished job 8",
    " 375 ms  all 8 jobs processed",
  ]);
  assert.deepEqual(results, [1, 2, 3, 4, 5, 6, 7, 8].map((n) => `${n}² = ${n * n}`));
});

Deno.test("examples/rate_limited_fanout.ts: never more than the limit in flight", async () => {
  const lines: string[] = [];
  const { lines: outcomes, peak } = await vrun(() => rateLimitedFanout((l) => lines.push(l)));
  assert.equal(peak, 3);
  assert.equal(outcomes.length, 10);
  assert.equal(outcomes.filter((l) => l.startsWith("failed")).length, 1);
  const starts = lines.filter((l) => l.includes("start "));
  assert.equal(starts.length, 10);
  assert.ok(starts.every((l) => /\((1|2|3) in flight\)$/.test(l)));
  assert.equal(lines.at(-1), " 300 ms  done; at most 3 fetches ran at once");
  // A limit of 1 serialises the fetches.
  const serial = await vrun(() => rateLimitedFanout(() => {}, 1));
  assert.equal(serial.peak, 1);
});

Deno.test("examples/request_id.ts: each request's id reaches its subtasks, and only them", async () => {
  const lines: string[] = [];
  const served = await vrun(() => requestId((l) => lines.push(l)));
  assert.deepEqual(served, ["req-1 /users/1", "req-2 /orders?user=2", "req-3 /health"]);
  assert.equal(lines[0], "[-] server started");
  assert.equal(lines.at(-1), "[-] all requests served");
  for (
    const [id, path, total] of [["req-1", "/users/1", 90], ["req-2", "/orders?user=2", 30], [
      "req-3",
      "/health",
      60,
    ]]
  ) {
    const mine = lines.filter((l) => l.startsWith(`[${id}]`));
    assert.deepEqual(mine, [
      `[${id}] GET ${path}`,
      `[${id}] SELECT * FROM users`,
      `[${id}] SELECT * FROM orders`,
      `[${id}] users: done`,
      `[${id}] orders: done`,
      `[${id}] 200 OK after ${total} ms of queries`,
    ]);
  }
  assert.equal(lines.length, 2 + 3 * 6);
});

Deno.test("the examples run as scripts", async () => {
  for (
    const [file, expect] of [
      ["producer_consumer.ts", "all 8 jobs processed"],
      ["rate_limited_fanout.ts", "at most 3 fetches ran at once"],
      ["request_id.ts", "[-] all requests served"],
    ]
  ) {
    const url = new URL(`../examples/${file}`, import.meta.url);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-check", url.pathname],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.ok(text.includes(expect), `${file} printed:\n${text}`);
  }
});
