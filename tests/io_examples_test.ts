// The I/O examples in examples/, run for real on 127.0.0.1 (the real clock:
// an OS read in flight holds the virtual clock) with their output checked.
import { assert } from "../deps.ts";
import { type Coroutine, run } from "../mod.ts";
import { CORE } from "./_util.ts";
import { main as chat } from "../examples/chat.ts";
import { main as concurrentDownloads } from "../examples/concurrent_downloads.ts";
import { main as downloadPage } from "../examples/download_page.ts";
import { main as echo } from "../examples/echo.ts";

async function output(main: (log: (line: string) => void) => Coroutine<void>): Promise<string[]> {
  const lines: string[] = [];
  await run(() => main((line) => lines.push(line)), { core: CORE });
  return lines;
}

Deno.test("examples/echo.ts: three lines echoed by a startServer handler, then closed", async () => {
  assert.deepEqual(await output(echo), [
    "serving on 127.0.0.1 (port chosen by the OS)",
    'sent "hello", got "hello"',
    'sent "asyncio", got "asyncio"',
    'sent "from Deno", got "from Deno"',
    "server closed",
  ]);
});

Deno.test("examples/download_page.ts: an HTTP/1.1 request by hand; status, header and body", async () => {
  assert.deepEqual(await output(downloadPage), [
    "HTTP/1.1 200 OK",
    "content-type: text/html",
    "<html><body><h1>It works</h1><p>GET /index.html HTTP/1.1</p></body></html>",
  ]);
});

Deno.test("examples/chat.ts: broadcasts reach the others; a client vanishing mid-line is dropped", async () => {
  assert.deepEqual(await output(chat), [
    "alice heard: bob: hello alice",
    "carol heard: alice: hi all | bob: hello alice",
    "members: alice, bob, carol",
    "members left: 0",
  ]);
});

Deno.test("examples/concurrent_downloads.ts: waitFor cancels the slow download and fetch really aborts it", async () => {
  assert.deepEqual(await output(concurrentDownloads), [
    "fast downloads: 1000 and 2000 bytes",
    "slow download: timed out after 300 ms",
    "the server saw the slow request aborted",
  ]);
});
