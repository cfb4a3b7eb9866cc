// Concurrent downloads with fetch: a Semaphore lets two run at a time, and
// waitFor gives the slow one 300 ms. fetch gets taskSignal(), so when
// waitFor cancels the task the request itself is aborted (the server sees
// its response stream cancelled), not just the wait for it.
//
//   deno run --allow-net examples/concurrent_downloads.ts
import {
  type Coroutine,
  fromPromise,
  gather,
  run,
  Semaphore,
  taskSignal,
  TimeoutError,
  waitFor,
} from "../mod.ts";

/** A local server: /fast/N answers N bytes at once, /slow trickles forever. */
function startServer(onSlowAborted: () => void): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path.startsWith("/fast/")) return new Response(new Uint8Array(Number(path.slice(6))));
    let timer: ReturnType<typeof setInterval> | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        timer = setInterval(() => controller.enqueue(new Uint8Array(16)), 20);
      },
      cancel() {
        clearInterval(timer);
        onSlowAborted();
      },
    });
    return new Response(body);
  });
}

/** Downloads `url` to the end; at most `slots` downloads run at once. */
function* download(url: string, slots: Semaphore): Coroutine<number> {
  return yield* slots.with(function* () {
    // taskSignal() aborts when this task is cancelled: the request, and the
    // reading of its body, stop with it.
    const res = yield* fromPromise(fetch(url, { signal: taskSignal() }));
    const body = yield* fromPromise(res.arrayBuffer());
    return body.byteLength;
  });
}

/** Three downloads, two at a time; the slow one is given 300 ms. */
export function* main(log: (line: string) => void = console.log): Coroutine<void> {
  let markAborted!: () => void;
  const slowAborted = new Promise<void>((resolve) => (markAborted = resolve));
  const server = startServer(() => markAborted());
  const base = `http://127.0.0.1:${server.addr.port}`;
  const slots = new Semaphore(2);
  try {
    const [a, b, slow] = yield* gather([
      download(`${base}/fast/1000`, slots),
      download(`${base}/fast/2000`, slots),
      waitFor(download(`${base}/slow`, slots), 300),
    ], { returnExceptions: true });
    log(`fast downloads: ${a} and ${b} bytes`);
    log(`slow download: ${slow instanceof TimeoutError ? "timed out after 300 ms" : slow}`);
    yield* fromPromise(slowAborted);
    log("the server saw the slow request aborted");
  } finally {
    yield* fromPromise(server.shutdown());
  }
}

if (import.meta.main) await run(main);
