// W9, the TCP echo benchmark of issue 11, from the command line: for each
// message size, each server in its own process, measured by the one Rust load
// generator in client/ (10 connections, each sending a message and waiting for
// its whole echo before the next). Prints one JSON line per server and size on
// stdout ({system, size, req_per_s, mib_per_s, p50_us, p99_us, n, ...}, or
// {system, size, unavailable} for a server that did not start, or {system,
// size, error}), and a table on stderr. Exit code 1 if any run failed or a
// process was left behind; a server that is not available is not a failure.
// Run: deno run -A bench/echo/run.ts [--quick] [--only aio,deno] [--sizes 1k,10k,100k]
//        [--seconds 3] [--warmup 0.5] [--connections 10] [--core wasm|ts]
import {
  buildClient,
  CONNECTIONS,
  type EchoOutcome,
  fmtSize,
  isResult,
  isUnavailable,
  leftoverChildren,
  parseSize,
  runEcho,
  SECONDS,
  SIZES,
  systems,
  WARMUP,
} from "./echo.ts";

function arg(name: string): string | undefined {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

const QUICK = Deno.args.includes("--quick");
const core = arg("--core") ?? "wasm";
if (core !== "wasm" && core !== "ts") throw new Error(`--core must be wasm or ts, got ${core}`);
const all = systems(core);
const only = arg("--only")?.split(",").map((s) => s.trim());
for (const name of only ?? []) {
  if (!all.some((s) => s.name === name)) {
    throw new Error(`--only: unknown system ${name} (have ${all.map((s) => s.name).join(", ")})`);
  }
}
const chosen = all.filter((s) => !only || only.includes(s.name));
const sizes = arg("--sizes")?.split(",").map(parseSize) ?? (QUICK ? [SIZES[0]] : SIZES);
const seconds = Number(arg("--seconds") ?? (QUICK ? SECONDS.quick : SECONDS.full));
const warmup = Number(arg("--warmup") ?? (QUICK ? WARMUP.quick : WARMUP.full));
const connections = Number(arg("--connections") ?? CONNECTIONS);

const started = performance.now();
const client = await buildClient();
const outcomes: EchoOutcome[] = [];
for (const size of sizes) {
  for (const s of chosen) {
    const o = await runEcho(s, size, { seconds, warmup, connections }, client);
    outcomes.push(o);
    console.log(JSON.stringify(o));
    const head = `${fmtSize(size).padStart(7)} ${s.name.padEnd(17)}`;
    if (isResult(o)) {
      console.error(
        `${head} ${Math.round(o.req_per_s).toLocaleString("en-US").padStart(8)} req/s ` +
          `${o.mib_per_s.toFixed(1).padStart(7)} MiB/s  p50 ${o.p50_us.toFixed(0)} µs  ` +
          `p99 ${o.p99_us.toFixed(0)} µs  (n=${o.n})`,
      );
    } else if (isUnavailable(o)) {
      console.error(`${head} not available: ${o.unavailable}`);
    } else {
      console.error(`${head} FAILED: ${o.error}`);
    }
  }
}

const left = await leftoverChildren();
if (left.length) console.error(`echo: processes left behind: ${left.join("; ")}`);
const failed = outcomes.filter((o) => !isResult(o) && !isUnavailable(o)).length;
console.error(
  `echo: ${outcomes.length} runs (${failed} failed) in ` +
    `${((performance.now() - started) / 1000).toFixed(1)} s, ` +
    `${connections} connections, ${seconds} s each after ${warmup} s of warm-up; ` +
    `no process left behind: ${left.length === 0 ? "yes" : "NO"}`,
);
if (failed || left.length) Deno.exitCode = 1;
