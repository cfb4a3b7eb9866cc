// A server that shuts down gracefully on Ctrl-C: the first SIGINT cancels
// the main task (run() handles it as asyncio.Runner does); main's finally
// stops accepting and gives the connections up to two seconds to finish
// what they are doing and hang up, then cancels the rest; run() then
// rejects with KeyboardInterrupt. A second Ctrl-C exits at once (code 130).
//
//   deno run --allow-net examples/graceful_shutdown.ts    (then: nc 127.0.0.1 <port>, Ctrl-C)
import {
  type Coroutine,
  Event,
  KeyboardInterrupt,
  run,
  type Server,
  sleep,
  startServer,
  type StreamReader,
  type StreamWriter,
  TimeoutError,
  waitFor,
} from "../mod.ts";

const decoder = new TextDecoder();

/** Answers each line after 300 ms of "work", like a slow request handler. */
function* handler(reader: StreamReader, writer: StreamWriter): Coroutine<void> {
  for (const next of reader.lines()) {
    const line = yield* next;
    if (line === null) break;
    console.log(`working on ${decoder.decode(line).trim()}`);
    yield* sleep(300);
    writer.write(`done: ${decoder.decode(line)}`);
    yield* writer.drain();
  }
}

/** Stops accepting, waits up to `graceMs` for the connections to end, then cancels them. */
function* shutDown(server: Server, graceMs: number): Coroutine<void> {
  console.log("shutting down: no new connections");
  server.close();
  try {
    yield* waitFor(server.waitClosed(), graceMs);
    console.log("every request in progress finished");
  } catch (e) {
    if (!(e instanceof TimeoutError)) throw e;
    console.log("grace period over: cancelling the rest");
    server.abortClients();
    yield* server.waitClosed();
  }
}

/** Serves until cancelled (Ctrl-C), then shuts down gracefully. */
export function* main(port = 0, graceMs = 2000): Coroutine<void> {
  const server = yield* startServer(handler, "127.0.0.1", port);
  console.log(`listening on ${(server.addrs[0] as Deno.NetAddr).port}`);
  try {
    yield* new Event().wait(); // forever: only a cancellation ends it
  } finally {
    yield* shutDown(server, graceMs);
  }
}

if (import.meta.main) {
  try {
    await run(() => main(Number(Deno.args[0] ?? 0)));
  } catch (e) {
    if (!(e instanceof KeyboardInterrupt)) throw e;
    console.log("bye");
  }
}
