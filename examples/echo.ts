// A TCP echo server and a client talking to it (asyncio's "TCP echo server
// using streams"): each connection is its own task; the client sends lines
// and reads each one back.
//
//   deno run --allow-net examples/echo.ts
import { type Coroutine, openConnection, run, startServer } from "../mod.ts";
import type { StreamReader, StreamWriter } from "../mod.ts";

const decoder = new TextDecoder();

/** Echoes every line back until the client closes its side. */
export function* handleEcho(reader: StreamReader, writer: StreamWriter): Coroutine<void> {
  for (const next of reader.lines()) {
    const line = yield* next;
    if (line === null) break;
    writer.write(line);
    yield* writer.drain();
  }
  // The client closed its side: returning closes this connection.
}

/** Starts the server on a free port, sends three lines, prints the echoes. */
export function* main(log: (line: string) => void = console.log): Coroutine<void> {
  const server = yield* startServer(handleEcho, "127.0.0.1", 0);
  const { port } = server.addrs[0] as Deno.NetAddr;
  log(`serving on 127.0.0.1 (port ${port > 0 ? "chosen by the OS" : "?"})`);
  const [reader, writer] = yield* openConnection("127.0.0.1", port);
  for (const text of ["hello", "asyncio", "from Deno"]) {
    writer.write(`${text}\n`);
    const echoed = decoder.decode(yield* reader.readline()).trimEnd();
    log(`sent ${JSON.stringify(text)}, got ${JSON.stringify(echoed)}`);
  }
  writer.close();
  yield* writer.waitClosed();
  server.close();
  yield* server.waitClosed();
  log("server closed");
}

if (import.meta.main) await run(main);
