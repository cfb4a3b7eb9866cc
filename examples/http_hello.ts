// serve: a tiny HTTP server on Deno's own. Each request is its own task; the
// handler thinks for 100 ms with aio's sleep (cancelled if the client goes
// away) and greets whoever `?name=` says. The server shuts down after a few
// requests, or when the timeout passes with fewer, waiting for the handlers
// still running.
//
//   deno run --allow-net examples/http_hello.ts
//   curl 'http://127.0.0.1:8000/?name=Ada'   (three times)
import {
  type Coroutine,
  Event,
  getRunningLoop,
  run,
  serve,
  sleep,
  TimeoutError,
  waitFor,
} from "../mod.ts";

/** How many requests to serve, how long to wait for them, where to listen. */
export interface HelloOptions {
  /** Port on 127.0.0.1; 0 picks a free one. Default 8000. */
  port?: number;
  /** Shut down after this many requests. Default 3. */
  requests?: number;
  /** Or after this many milliseconds. Default 60,000. */
  timeoutMs?: number;
}

/** Serves greetings until enough requests were answered or the time is up. */
export function* main(
  log: (line: string) => void = console.log,
  options: HelloOptions = {},
): Coroutine<void> {
  const { port = 8000, requests = 3, timeoutMs = 60_000 } = options;
  const loop = getRunningLoop();
  const t0 = loop.time();
  let served = 0;
  const enough = new Event();

  const server = yield* serve(function* (req) {
    const name = new URL(req.url).searchParams.get("name") ?? "world";
    yield* sleep(100); // thinking
    if (++served >= requests) enough.set();
    return new Response(`Hello, ${name}!\n`);
  }, { hostname: "127.0.0.1", port });
  log(`listening on http://127.0.0.1:${server.addr.port}/`);

  try {
    yield* waitFor(enough.wait(), timeoutMs);
    log(`served ${served} requests, shutting down`);
  } catch (e) {
    if (!(e instanceof TimeoutError)) throw e;
    const s = ((loop.time() - t0) / 1000).toFixed(1);
    log(`no more requests after ${s} s (served ${served}), shutting down`);
  }
  yield* server.shutdown(); // waits for the handlers in flight
  log("bye");
}

if (import.meta.main) await run(main);
