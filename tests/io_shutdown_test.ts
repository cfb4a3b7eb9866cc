// examples/graceful_shutdown.ts in a child Deno, interrupted with a real
// SIGINT while a request is in progress: the request is answered, the
// server stops, run() rejects with KeyboardInterrupt, the process exits 0.
import { assert } from "../deps.ts";
import { Child } from "./fixtures/_child.ts";

const example = new URL("../examples/graceful_shutdown.ts", import.meta.url);

Deno.test("examples/graceful_shutdown.ts: Ctrl-C lets the request in progress finish, then stops", async () => {
  const child = new Child(example, [], ["--allow-net=127.0.0.1", "--allow-env=AIO_CORE"]);
  const listening = await child.waitLine(/^listening on \d+$/);
  const port = Number(listening.split(" ").at(-1));
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode("report\n"));
  await child.waitLine("working on report");
  child.process.kill("SIGINT");
  const reply = new Uint8Array(64);
  const n = await conn.read(reply);
  assert.equal(new TextDecoder().decode(reply.subarray(0, n ?? 0)), "done: report\n");
  conn.close(); // the client hangs up: its handler ends
  const { status, lines, stderr } = await child.finish();
  assert.equal(status.code, 0, stderr);
  assert.deepEqual(lines.slice(1), [
    "working on report",
    "shutting down: no new connections",
    "every request in progress finished",
    "bye",
  ]);
});
