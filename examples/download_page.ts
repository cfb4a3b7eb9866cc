// Downloading a web page over a raw connection (the asyncio tutorial's
// "TCP client fetching HTTP headers"): an HTTP/1.1 request written by hand,
// the status line and headers read line by line, then the body by its
// Content-Length. A local server stands in for the web so it runs anywhere.
//
//   deno run --allow-net examples/download_page.ts
import { type Coroutine, openConnection, run, type Server, startServer } from "../mod.ts";

const decoder = new TextDecoder();

/** A tiny HTTP/1.1 server: one page, then close. */
function* startWebServer(): Coroutine<Server> {
  return yield* startServer(
    function* (reader, writer) {
      const requestLine = decoder.decode(yield* reader.readline()).trimEnd();
      // Skip the headers: they end at an empty line.
      for (;;) {
        const line = yield* reader.readline();
        if (line.length <= 2) break;
      }
      const body = `<html><body><h1>It works</h1><p>${requestLine}</p></body></html>\n`;
      writer.write(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n" +
          `Content-Length: ${new TextEncoder().encode(body).length}\r\nConnection: close\r\n\r\n` +
          body,
      );
    },
    "127.0.0.1",
    0,
  );
}

/** Fetches `path` from `host:port` and returns the status, headers and body. */
export function* download(
  host: string,
  port: number,
  path: string,
): Coroutine<{ status: string; headers: Map<string, string>; body: string }> {
  const [reader, writer] = yield* openConnection(host, port);
  try {
    writer.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    yield* writer.drain();
    const status = decoder.decode(yield* reader.readline()).trimEnd();
    const headers = new Map<string, string>();
    for (;;) {
      const line = decoder.decode(yield* reader.readline()).trimEnd();
      if (line === "") break;
      const colon = line.indexOf(":");
      headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
    }
    const length = Number(headers.get("content-length"));
    const body = decoder.decode(yield* reader.readexactly(length));
    return { status, headers, body };
  } finally {
    writer.close();
    yield* writer.waitClosed();
  }
}

/** Serves a page locally and downloads it. */
export function* main(log: (line: string) => void = console.log): Coroutine<void> {
  const server = yield* startWebServer();
  const { port } = server.addrs[0] as Deno.NetAddr;
  const page = yield* download("127.0.0.1", port, "/index.html");
  log(page.status);
  log(`content-type: ${page.headers.get("content-type")}`);
  log(page.body.trimEnd());
  server.close();
  yield* server.waitClosed();
}

if (import.meta.main) await run(main);
