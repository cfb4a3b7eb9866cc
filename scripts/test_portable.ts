// The test suite on Node 22+ and Bun, through the Deno.test shim in
// tests/_shim.ts:
//
//   node --experimental-strip-types scripts/test_portable.ts [tests/x_test.ts ...]
//   bun scripts/test_portable.ts [tests/x_test.ts ...]
//
// (AIO_CORE=ts picks the TypeScript scheduler core, as for `deno task test`.)
// With no arguments it runs every tests/*_test.ts except the Deno-only files
// listed below, each with the reason; a new test file runs on every runtime
// unless it is listed here (or its name starts with a prefix listed here).
// A test inside a portable file that needs Deno takes the options DENO_ONLY
// (tests/_util.ts) and counts as ignored. Exits 1 if a test fails or a test
// file cannot be loaded.

import { readdirSync } from "node:fs";
import process from "node:process";
import { runTests, runtimeLabel } from "../tests/_shim.ts";

/**
 * Test files that need Deno, and why: a name, or a prefix ending in `*` for
 * a family of files (the Redis executor's, whose new test files need Deno too).
 */
const DENO_ONLY: Record<string, string> = {
  // The I/O layer is built on Deno's APIs (its entry points refuse other runtimes).
  "http_test.ts": "I/O: Deno.serve",
  "io_examples_test.ts": "I/O: the examples open sockets",
  "io_shutdown_test.ts": "I/O: a Deno child process and Deno.connect",
  "server_test.ts": "I/O: Deno.listen",
  "streams_test.ts": "I/O: Deno.connect",
  "subprocess_test.ts": "I/O: Deno.Command",
  "signals_test.ts": "I/O: Deno.addSignalListener, Deno.kill",
  "run_sigint_test.ts": "a Deno child process receives SIGINT",
  "task_signal_test.ts":
    "taskSignal is portable, but these tests drive Deno.serve and Deno.Command",
  "sync_examples_test.ts": "runs the examples as Deno child processes",
  // The executor runs everywhere (Bun's Web Workers, Node's worker_threads);
  // its tests that need Deno itself take DENO_ONLY, or the options in
  // tests/_executor_runtime.ts where a runtime's workers differ.
  "executor_chaos_test.ts":
    "45 s of hostile jobs written for Deno's workers (Deno.exit, self); the same failures " +
    "on Node and Bun are in executor_failure_test.ts and executor_runtimes_test.ts",
  "redis_*": "Redis executor: Deno child processes (redis-server, workers)",
};

function denoOnly(file: string): boolean {
  return Object.keys(DENO_ONLY).some((k) =>
    k.endsWith("*") ? file.startsWith(k.slice(0, -1)) : file === k
  );
}

// Node 22 parses no `using` declarations, which some test files use: there
// the test modules (not src/) go through esbuild's transform (AIO_ESBUILD:
// the path of the esbuild package from npm), see scripts/_lower_using.mjs.
if (!parsesUsing()) {
  const esbuild = process.env.AIO_ESBUILD;
  if (!esbuild) {
    console.error(
      "this runtime cannot parse `using` declarations: install esbuild from npm and set " +
        "AIO_ESBUILD to its package directory (node_modules/esbuild)",
    );
    process.exit(2);
  }
  const { register } = await import("node:module");
  const src = new URL("../src/", import.meta.url).href;
  register("./_lower_using.mjs", import.meta.url, { data: { esbuild, src } });
}

function parsesUsing(): boolean {
  try {
    new Function("{ using x = null; }");
    return true;
  } catch {
    return false;
  }
}

const dir = new URL("../tests/", import.meta.url);
const args = process.argv.slice(2);
const files = args.length > 0
  ? args.map((a) => a.replace(/^(\.\/)?tests\//, ""))
  : readdirSync(dir).filter((f) => f.endsWith("_test.ts") && !denoOnly(f)).sort();

const all = readdirSync(dir).filter((f) => f.endsWith("_test.ts")).length;
console.log(
  `${runtimeLabel()}, ${process.env.AIO_CORE ?? "wasm"} core: ${files.length} test files` +
    (args.length > 0 ? "" : ` (${all - files.length} Deno-only files left out)`),
);
let broken = 0;
for (const f of files) {
  try {
    await import(new URL(f, dir).href);
  } catch (e) {
    broken++;
    console.log(`${f}: cannot load: ${e instanceof Error ? e.stack : e}`);
  }
}
const counts = await runTests();
if (broken > 0) console.log(`${broken} test file(s) could not be loaded`);
process.exit(counts.failed > 0 || broken > 0 ? 1 : 0);
