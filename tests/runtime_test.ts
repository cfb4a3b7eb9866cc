// Which runtime aio runs on (src/_runtime.ts). This file runs on Deno and,
// through scripts/test_portable.ts, on Node and Bun: there every I/O entry
// point must refuse at once with a RuntimeError naming itself and the
// runtime, before touching anything of Deno's.
import { assert } from "../deps.ts";
import {
  createSubprocessExec,
  createSubprocessShell,
  getRunningLoop,
  openConnection,
  openUnixConnection,
  RuntimeError,
  serve,
  startServer,
  startUnixServer,
} from "../mod.ts";
import { requireDeno, runtimeName } from "../src/_runtime.ts";
import type { Coroutine } from "../src/task.ts";
import { DENO_ONLY, vrun } from "./_util.ts";

Deno.test(
  "runtime: on Deno, runtimeName is Deno and its version, and requireDeno passes",
  DENO_ONLY,
  () => {
    assert.equal(runtimeName(), `Deno ${Deno.version.deno}`);
    requireDeno("openConnection()");
  },
);

const entryPoints: [string, () => Coroutine<unknown>][] = [
  ["openConnection()", () => openConnection("127.0.0.1", 9)],
  ["openUnixConnection()", () => openUnixConnection("/tmp/aio-none.sock")],
  ["startServer()", () => startServer(function* () {}, "127.0.0.1", 0)],
  ["startUnixServer()", () => startUnixServer(function* () {}, "/tmp/aio-none.sock")],
  ["serve()", () =>
    serve(function* () {
      return new Response("");
    })],
  ["createSubprocessExec()", () => createSubprocessExec("true")],
  ["createSubprocessShell()", () => createSubprocessShell("true")],
  ["addSignalHandler()", function* () {
    getRunningLoop().addSignalHandler("SIGINT", () => {});
  }],
];

Deno.test(
  "runtime: elsewhere, each I/O entry point throws a RuntimeError naming itself and the runtime",
  {
    ignore: !DENO_ONLY.ignore,
  },
  async () => {
    const name = runtimeName();
    assert.match(name, /^(Node\.js|Bun) \d+\.\d+\.\d+$/);
    for (const [what, call] of entryPoints) {
      const e = await vrun(function* () {
        try {
          yield* call();
        } catch (e) {
          return e;
        }
        return undefined;
      });
      assert.ok(e instanceof RuntimeError, `${what}: ${e}`);
      assert.ok(e.message.startsWith(`${what} needs Deno`), e.message);
      assert.ok(e.message.includes(name), e.message);
    }
  },
);
