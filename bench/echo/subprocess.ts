// W10 on Deno: spawn `true` with its stdout piped and wait for it and its
// output, one at a time. `--system aio`: aio's createSubprocessExec +
// communicate() in one run() (API.md "I/O"; the same program as
// subprocess_asyncio.py); `--system deno`: `new Deno.Command(...).output()`,
// the native floor. A warm-up at n/10, then one timed run of n; prints
// {"system","workload","n","ms","ns_per_op"}.
//
// aio has no createSubprocessExec yet: it is looked up on the module at run
// time so this file type-checks either way, and while it is missing the aio
// system exits with code 3 (bench/echo/compare.ts reports it as not available).
// Run: deno run -A bench/echo/subprocess.ts --system aio|deno [--quick] [--n 1000] [--core wasm|ts]
import * as aio from "../../mod.ts";
import type { CoreKind, Coroutine } from "../../mod.ts";

/** The parts of API.md's createSubprocessExec and Process used here. */
interface Process {
  returncode: number | null;
  communicate(input?: Uint8Array): Coroutine<[Uint8Array | null, Uint8Array | null]>;
}
type CreateSubprocessExec = (
  program: string,
  args?: string[],
  options?: { stdout?: unknown },
) => Coroutine<Process>;

/** Spawns per run of W10 (quick: a fiftieth). */
export const W10_N = 1000;

function arg(name: string): string | undefined {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

const system = arg("--system") ?? "aio";
const n = Number(arg("--n") ?? (Deno.args.includes("--quick") ? W10_N / 50 : W10_N));
const core = (arg("--core") ?? "wasm") as CoreKind;

function check(code: number | null, out: Uint8Array | null) {
  if (code !== 0 || (out !== null && out.length !== 0)) {
    throw new Error(`\`true\` exited ${code} with ${out?.length} bytes of output`);
  }
}

let spawnAll: (n: number) => Promise<void>;
if (system === "aio") {
  const api = aio as Record<string, unknown>;
  const createSubprocessExec = api.createSubprocessExec as CreateSubprocessExec | undefined;
  if (typeof createSubprocessExec !== "function" || api.PIPE === undefined) {
    console.error("subprocess: mod.ts does not export createSubprocessExec and PIPE yet");
    Deno.exit(3);
  }
  spawnAll = (n) =>
    aio.run(function* () {
      for (let i = 0; i < n; i++) {
        const p = yield* createSubprocessExec("true", [], { stdout: api.PIPE });
        const [out] = yield* p.communicate();
        check(p.returncode, out);
      }
    }, { core });
} else if (system === "deno") {
  spawnAll = async (n) => {
    for (let i = 0; i < n; i++) {
      const out = await new Deno.Command("true", { stdout: "piped", stderr: "inherit" }).output();
      check(out.code, out.stdout);
    }
  };
} else {
  throw new Error(`unknown --system ${system} (aio or deno)`);
}

async function timedMs(n: number): Promise<number> {
  const t0 = performance.now();
  await spawnAll(n);
  return performance.now() - t0;
}

await timedMs(Math.max(1, Math.floor(n / 10)));
const ms = await timedMs(n);
const name = system === "aio" && core === "ts" ? "aio-ts" : system;
console.log(JSON.stringify({ system: name, workload: "W10", n, ms, ns_per_op: (ms * 1e6) / n }));
