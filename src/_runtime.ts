// Which JavaScript runtime aio runs on. The core (loop, tasks, combinators,
// sync, queues, context, both scheduler cores) runs on Deno, Node 22+, Bun
// and browsers, and none of its modules touches a runtime API at import. The
// I/O layer is built on Deno's own APIs (Deno.connect, Deno.listen,
// Deno.serve, Deno.Command, Deno.addSignalListener): each of its entry points
// calls `requireDeno` first, so elsewhere it fails at once with an error that
// names the runtime, not with "Deno is not defined" from deep inside.

import { RuntimeError } from "./errors.ts";

interface RuntimeGlobals {
  Deno?: { version?: { deno?: unknown } };
  Bun?: { version?: unknown };
  process?: { versions?: { node?: unknown } };
  navigator?: { userAgent?: unknown };
}

const G = globalThis as RuntimeGlobals;

/**
 * Deno itself, not a test shim or a polyfill that defines a partial `Deno`
 * global: only Deno sets `Deno.version.deno`. Read once; the check per I/O
 * call is this boolean.
 */
const IS_DENO: boolean = typeof G.Deno?.version?.deno === "string";

/** @internal The runtime's name and version, for error messages: "Node.js 22.6.0". */
export function runtimeName(): string {
  if (IS_DENO) return `Deno ${G.Deno!.version!.deno}`;
  if (typeof G.Bun?.version === "string") return `Bun ${G.Bun.version}`;
  if (typeof G.process?.versions?.node === "string") return `Node.js ${G.process.versions.node}`;
  if (typeof G.navigator?.userAgent === "string") return `a browser (${G.navigator.userAgent})`;
  return "an unknown JavaScript runtime";
}

/**
 * @internal Throws a `RuntimeError` naming `what` and the runtime unless
 * this is Deno: `what` needs Deno's I/O APIs.
 */
export function requireDeno(what: string): void {
  if (IS_DENO) return;
  throw new RuntimeError(
    `${what} needs Deno: aio's I/O layer (streams, servers, HTTP, subprocesses, signal ` +
      `handlers) is built on Deno's APIs, and this is ${runtimeName()}; the rest of aio ` +
      `(the loop, tasks, combinators, locks, queues) runs here`,
  );
}
