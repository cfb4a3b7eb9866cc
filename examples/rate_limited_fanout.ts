// A rate-limited fan-out: fetch ten URLs concurrently, but never more than
// three at a time. A Semaphore(3) holds the limit; sem.with() releases the
// slot however the fetch ends (result, error, or cancellation).
//
//   deno run examples/rate_limited_fanout.ts
import { type Coroutine, gather, getRunningLoop, run, Semaphore, sleep } from "../mod.ts";

/** A stand-in for a network call: takes a while, sometimes fails. */
function* fakeFetch(url: string, ms: number): Coroutine<string> {
  yield* sleep(ms);
  if (url.endsWith("/7")) throw new Error(`${url}: 503 Service Unavailable`);
  return `${url}: 200 OK`;
}

/** Fetches every URL with at most `limit` in flight; returns one line per URL. */
export function* main(
  log: (line: string) => void = console.log,
  limit = 3,
): Coroutine<{ lines: string[]; peak: number }> {
  const loop = getRunningLoop();
  const t0 = loop.time();
  const at = () => `${String(Math.round(loop.time() - t0)).padStart(4)} ms`;
  const sem = new Semaphore(limit);
  let inFlight = 0;
  let peak = 0;

  function* fetchLimited(url: string, ms: number): Coroutine<string> {
    return yield* sem.with(function* () {
      inFlight++;
      peak = Math.max(peak, inFlight);
      log(`${at()}  start ${url} (${inFlight} in flight)`);
      try {
        return yield* fakeFetch(url, ms);
      } finally {
        inFlight--;
      }
    });
  }

  const urls = Array.from({ length: 10 }, (_, i) => `https://example.com/${i}`);
  const outcomes = yield* gather(
    urls.map((url, i) => fetchLimited(url, 40 + ((i * 37) % 5) * 20)),
    { returnExceptions: true },
  );
  const lines = outcomes.map((r) => r instanceof Error ? `failed: ${r.message}` : r);
  for (const line of lines) log(line);
  log(`${at()}  done; at most ${peak} fetches ran at once`);
  return { lines, peak };
}

if (import.meta.main) await run(() => main());
