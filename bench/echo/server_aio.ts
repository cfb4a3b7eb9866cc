// W9's aio echo server: startServer, and per connection a handler looping on
// reader.read(65536) / writer.write / yield* writer.drain(), as the asyncio
// streams server in server_asyncio.py. Listens on 127.0.0.1 at PORT (0: a free
// port), prints the port as its first stdout line, and echoes until killed.
// AIO_CORE=wasm|ts picks the scheduler core (default wasm). If it cannot start
// (an import or API error), it exits before printing a port and bench/echo
// reports aio as not available.
// Run: deno run -A bench/echo/server_aio.ts PORT
import {
  type CoreKind,
  type Coroutine,
  run,
  startServer,
  type StreamReader,
  type StreamWriter,
} from "../../mod.ts";

const core = (Deno.env.get("AIO_CORE") ?? "wasm") as CoreKind;
const port = Number(Deno.args[0] ?? 0);

function* echo(reader: StreamReader, writer: StreamWriter): Coroutine<void> {
  try {
    for (;;) {
      const data = yield* reader.read(65536);
      if (data.length === 0) break; // EOF
      writer.write(data);
      yield* writer.drain();
    }
  } finally {
    writer.close();
  }
}

await run(function* () {
  const server = yield* startServer(echo, "127.0.0.1", port);
  console.log((server.addrs[0] as Deno.NetAddr).port);
  yield* server.serveForever();
}, { core });
