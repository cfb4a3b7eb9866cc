// How a pool starts one worker on each runtime, and where the worker entry
// module is. The pool sees one shape whatever runs underneath: a handle that
// posts and terminates, and three callbacks (a message, a message that could
// not be read, and a failure told in words).
//
//   Deno     Web Worker (module); node:worker_threads when maxHeapMb is set
//            (its resourceLimits are honoured, a Web Worker takes none).
//   Bun      Web Worker (module). Its worker_threads ignore resourceLimits:
//            maxHeapMb is refused. A "close" event tells of an exit.
//   Node     node:worker_threads (no Web Worker); resourceLimits for maxHeapMb.
//   Browser  Web Worker (module). A worker whose module cannot load gets a
//            bare error event: the module's URL is fetched to say why.
//
// The entry module is `worker.ts` beside this file, or `worker.js` where this
// file is JavaScript (JSR's npm packages transpile every module and keep the
// names). In a bundle this file is part of the bundle, whose URL says nothing
// of where the entry is: the pool then needs `workerUrl`, and says so.

import type { FromWorker } from "./protocol.ts";
import { errorEventMessage } from "./remote_error.ts";

/** What the pool uses of a worker: a Web Worker and a node:worker_threads Worker both have it. */
export interface WorkerHandle {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  terminate(): void;
}

/** What a started worker reports. */
export interface WorkerEvents {
  message(m: FromWorker): void;
  messageerror(): void;
  /** It failed, could not start, or exited: why, in words, with the error when there is one. */
  failed(message: string, cause?: unknown): void;
}

interface NodeWorker extends WorkerHandle {
  on(event: string, fn: (x: never) => void): void;
}
type NodeWorkerCtor = new (url: URL, options: object) => NodeWorker;

interface Host {
  Deno?: { version?: { deno?: string } };
  process?: {
    versions?: { node?: string; bun?: string };
    getBuiltinModule?(id: string): unknown;
  };
  crossOriginIsolated?: boolean;
}
const host = globalThis as unknown as Host;

/**
 * Where this module runs, for choosing a worker kind and for messages. By
 * version strings, not by globals: a test shim may define a `Deno` global
 * elsewhere, and Deno and Bun define `process` too.
 */
export const RUNTIME: "deno" | "bun" | "node" | "browser" =
  typeof host.Deno?.version?.deno === "string"
    ? "deno"
    : typeof host.process?.versions?.bun === "string"
    ? "bun"
    : typeof host.process?.versions?.node === "string"
    ? "node"
    : "browser";

/**
 * Whether workers can share the pool's slot array: SharedArrayBuffer exists
 * and, in a browser, the page is cross-origin isolated (without isolation
 * Chromium and Firefox have no SharedArrayBuffer, or refuse to post one).
 */
export function canShareMemory(): boolean {
  return memory.share && typeof SharedArrayBuffer === "function" &&
    host.crossOriginIsolated !== false;
}

/** @internal Tests turn sharing off to run the message path on any runtime. */
export const memory: { share: boolean } = { share: true };

let defaultUrl: URL | undefined;

/** The worker entry module beside this one; a RuntimeError-worthy message if aio was bundled. */
export function defaultWorkerUrl(): URL {
  if (defaultUrl !== undefined) return defaultUrl;
  // A classic-script bundle has no import.meta.url.
  const here: string | undefined = import.meta.url;
  const m = typeof here === "string" ? /\/executor\/spawn\.(ts|js|mjs)$/.exec(here) : null;
  if (m === null) {
    throw new TypeError(
      "cannot find the worker entry module: aio was bundled (this code runs from " +
        `${typeof here === "string" ? here : "a script without a module URL"}). Build aio's ` +
        "src/executor/worker.ts as a module of its own and pass its URL: " +
        "new WorkerPoolExecutor({ workerUrl }) (README, Runtimes)",
    );
  }
  defaultUrl = new URL(`./worker.${m[1]}`, here);
  return defaultUrl;
}

/** Starts a worker running the entry module at `url`. Throws if this runtime cannot. */
export function startWorker(
  url: URL,
  name: string,
  maxHeapMb: number,
  on: WorkerEvents,
): WorkerHandle {
  if (maxHeapMb > 0) {
    if (RUNTIME === "bun" || RUNTIME === "browser") {
      throw new TypeError(
        `maxHeapMb is not supported ${RUNTIME === "bun" ? "on Bun" : "in a browser"}: ` +
          "its workers take no heap limit",
      );
    }
    return startNodeWorker(url, name, maxHeapMb, on);
  }
  if (RUNTIME === "node") return startNodeWorker(url, name, 0, on);
  const worker = new Worker(url, { type: "module", name });
  let heard = false;
  worker.onmessage = (e: MessageEvent<FromWorker>) => {
    heard = true;
    on.message(e.data);
  };
  worker.onerror = (e: ErrorEvent) => {
    // Without this, a worker's uncaught error would end the whole process.
    e.preventDefault();
    if (RUNTIME === "browser" && !e.message && !heard) whyNoStart(url, on);
    else on.failed(errorEventMessage(e));
  };
  worker.onmessageerror = () => on.messageerror();
  if (RUNTIME === "bun") {
    // Bun's workers end on process.exit() (the entry says why first) and
    // after an uncaught error: "close" tells of both.
    worker.addEventListener("close", (e) => {
      on.failed(`it exited with code ${(e as Event & { code?: number }).code}`);
    });
  }
  return worker;
}

/**
 * A node:worker_threads worker: Node's only kind, and Deno's when a heap
 * limit is asked for (`resourceLimits` are honoured; such a worker ends
 * alone with ERR_WORKER_OUT_OF_MEMORY). The same entry module runs in it.
 */
function startNodeWorker(url: URL, name: string, mb: number, on: WorkerEvents): WorkerHandle {
  const mod = host.process?.getBuiltinModule?.("node:worker_threads") as
    | { Worker: NodeWorkerCtor }
    | undefined;
  if (mod === undefined) {
    throw new TypeError(
      mb > 0
        ? "maxHeapMb needs node:worker_threads, which this runtime does not offer"
        : "this runtime offers neither Web Workers nor node:worker_threads " +
          "(process.getBuiltinModule, Node 22.3 or later)",
    );
  }
  const w = new mod.Worker(
    url,
    mb > 0 ? { name, resourceLimits: { maxOldGenerationSizeMb: mb } } : { name },
  );
  w.on("message", (m: FromWorker) => on.message(m));
  w.on("messageerror", () => on.messageerror());
  w.on("error", (e: Error & { code?: string }) => {
    on.failed(
      e?.code === "ERR_WORKER_OUT_OF_MEMORY"
        ? `it ran out of memory (maxHeapMb=${mb})`
        : `${e?.name}: ${e?.message}`,
      e,
    );
  });
  // node:worker_threads tells of an exit that the entry could not announce.
  w.on("exit", (code: number) => on.failed(`it exited with code ${code}`));
  return w;
}

/**
 * A browser's error event for a module worker that did not load says
 * nothing: fetch the module to tell a missing file, a wrong MIME type or a
 * blocked request from a module that loaded and threw.
 */
function whyNoStart(url: URL, on: WorkerEvents): void {
  const head = `its module ${url.href} did not load`;
  const hint = " (in a bundle, workerUrl must point at aio's worker entry built as a module)";
  fetch(url).then(
    (res) => {
      const type = res.headers.get("content-type") ?? "";
      if (!res.ok) on.failed(`${head}: HTTP ${res.status} ${res.statusText}${hint}`);
      else if (!/javascript|ecmascript/i.test(type)) {
        on.failed(`${head}: it is served as ${JSON.stringify(type)}, not as JavaScript${hint}`);
      } else {
        on.failed(
          `${head}: it was fetched but failed to run (a syntax error, an import that did not ` +
            "load, or a policy such as CSP or COEP blocked it; the console says which)",
        );
      }
    },
    (e) => on.failed(`${head}: fetching it failed (${(e as Error)?.message ?? e})${hint}`, e),
  );
}
