// aio's own workloads on Deno, Node 22+ and Bun (issue 14, "Speed"): the same
// bench/compare/aio.ts under each runtime, on both scheduler cores, each
// workload in its own process, interleaved (W1 on every runtime and core, then
// W2, ...), one run each. W7 is the executor (pools.ts, `aio submit`), which
// runs on Deno only until issue 14 part 2: its row has Deno's figure alone.
// A runtime that is not installed is "not available", not a failure. Prints a
// Markdown table for bench/RESULTS.md; writes nothing.
//
// Node is `--node PATH`, else `node` on PATH (22 or later: it needs
// --experimental-strip-types); Bun is `--bun PATH`, else `bun` on PATH, else
// the `bun` package from npm's global root (`npm install -g bun`).
// Run: deno run -A bench/compare/runtimes.ts [--quick] [--only W1,W3] [--node PATH] [--bun PATH]
import { arg, QUICK, SIZES, TITLES, type WorkloadId } from "./workloads.ts";

const HERE = new URL(".", import.meta.url);
const path = (f: string) => new URL(f, HERE).pathname;

/** Stdout of a command, or undefined if it cannot run or fails. */
async function output(cmd: string, ...args: string[]): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

interface Runtime {
  label: string;
  /** The command that runs a TypeScript file, or why there is none. */
  cmd: string[] | { unavailable: string };
}

async function findNode(): Promise<Runtime> {
  const bin = arg("--node") ?? "node";
  const v = await output(bin, "--version");
  if (v === undefined) return { label: "Node", cmd: { unavailable: `no ${bin}` } };
  if (Number(v.slice(1).split(".")[0]) < 22) {
    return { label: `Node ${v.slice(1)}`, cmd: { unavailable: `${bin} is ${v}, not 22+` } };
  }
  return { label: `Node ${v.slice(1)}`, cmd: [bin, "--experimental-strip-types"] };
}

async function findBun(): Promise<Runtime> {
  const given = arg("--bun");
  const root = given === undefined ? await output("npm", "root", "-g") : undefined;
  const bins = given !== undefined
    ? [given]
    : ["bun", ...(root ? [`${root}/bun/bin/bun.exe`] : [])];
  for (const bin of bins) {
    const v = await output(bin, "--version");
    if (v !== undefined) return { label: `Bun ${v}`, cmd: [bin] };
  }
  return { label: "Bun", cmd: { unavailable: `none of ${bins.join(", ")}` } };
}

interface Config {
  label: string;
  cmd: string[] | { unavailable: string };
  core: "wasm" | "ts";
}

const runtimes: Runtime[] = [
  { label: `Deno ${Deno.version.deno}`, cmd: [Deno.execPath(), "run", "-A"] },
  await findNode(),
  await findBun(),
];
const configs: Config[] = runtimes.flatMap((r) =>
  (["wasm", "ts"] as const).map((core) => ({ label: r.label, cmd: r.cmd, core }))
);

interface Result {
  n: number;
  ns_per_op: number;
}

/** One workload in a fresh process: its JSON line, or why it failed. */
async function runOne(cmd: string[], file: string, args: string[]): Promise<Result | string> {
  try {
    const out = await new Deno.Command(cmd[0], {
      args: [...cmd.slice(1), path(file), ...args, ...(QUICK ? ["--quick"] : [])],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(QUICK ? 60_000 : 180_000),
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    if (!out.success || text === "") {
      const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" | ");
      return `exit ${out.code}: ${err}`;
    }
    return JSON.parse(text.split("\n").at(-1)!) as Result;
  } catch (e) {
    return String(e);
  }
}

function fmtNs(ns: number): string {
  if (ns < 1e3) return `${ns.toPrecision(3)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toPrecision(3)} µs`;
  return `${(ns / 1e6).toPrecision(3)} ms`;
}

const ONLY = arg("--only")?.split(",");
const LOOP: WorkloadId[] = ["W1", "W2", "W3", "W3e", "W4", "W5", "W6", "W8"];
const loop = LOOP.filter((w) => !ONLY || ONLY.includes(w));
const withW7 = !ONLY || ONLY.includes("W7");
const loadAtStart = Deno.loadavg()[0];
const started = new Date();
const cells = new Map<string, Result>(); // `${config index} ${workload}`
const failures: string[] = [];

for (const w of loop) {
  for (const [i, c] of configs.entries()) {
    const head = `${w.padEnd(3)} ${c.label} ${c.core}`;
    if (!Array.isArray(c.cmd)) {
      console.error(`${head}: not available (${c.cmd.unavailable})`);
      continue;
    }
    const r = await runOne(c.cmd, "aio.ts", ["--workload", w, "--core", c.core]);
    if (typeof r === "string") {
      failures.push(`${head}: ${r}`);
      console.error(`${head}: FAILED ${r}`);
    } else {
      cells.set(`${i} ${w}`, r);
      console.error(`${head}: ${fmtNs(r.ns_per_op)}/op`);
    }
  }
}
let w7: Result | string | undefined;
if (withW7) {
  w7 = await runOne(runtimes[0].cmd as string[], "pools.ts", ["--pool", "aio-submit"]);
  if (typeof w7 === "string") failures.push(`W7 Deno: ${w7}`);
  console.error(`W7  Deno aio-submit: ${typeof w7 === "string" ? w7 : fmtNs(w7.ns_per_op)}`);
}

// ---- report: the Deno WASM column is the reference of each row ---------------------------------

const cols = configs.map((c) => `${c.label}, ${c.core === "wasm" ? "WASM" : "TS"} core`);
const lines = [
  `| workload | n | ${cols.join(" | ")} |`,
  `| --- | --: | ${cols.map(() => "--:").join(" | ")} |`,
];
const shrunk: string[] = [];
for (const w of loop) {
  const ref = cells.get(`0 ${w}`);
  const row = configs.map((c, i) => {
    if (!Array.isArray(c.cmd)) return "not available";
    const r = cells.get(`${i} ${w}`);
    if (r === undefined) return "failed";
    if (r.n < SIZES[w]) shrunk.push(`${cols[i]} on ${w} at n = ${r.n}`);
    const ratio = ref ? ` (${(r.ns_per_op / ref.ns_per_op).toPrecision(2)}×)` : "";
    return `${fmtNs(r.ns_per_op)}${r.n < SIZES[w] ? "†" : ""}${ratio}`;
  });
  lines.push(
    `| **${w}** ${TITLES[w]} | ${SIZES[w].toLocaleString("en-US")} | ${row.join(" | ")} |`,
  );
}
if (withW7) {
  const deno = w7 === undefined || typeof w7 === "string" ? "failed" : `${fmtNs(w7.ns_per_op)}`;
  const rest = configs.slice(1).map((c) => c.label.startsWith("Deno") ? "—" : "Deno only");
  lines.push(
    `| **W7** ${TITLES.W7} (aio submit) | ${SIZES.W7.toLocaleString("en-US")} | ${deno} | ${
      rest.join(" | ")
    } |`,
  );
}
const cpu = (await Deno.readTextFile("/proc/cpuinfo").catch(() => ""))
  .match(/^model name\s*:\s*(.+)$/m)?.[1] ?? Deno.build.arch;
console.log(
  [
    `\`deno run -A bench/compare/runtimes.ts${QUICK ? " --quick" : ""}\`, ` +
    `${started.toISOString().replace(/\.\d+Z$/, "Z")}: one run per runtime and core, each ` +
    "workload in its own process; time per operation, in brackets over Deno's on the WASM core.",
    ...(QUICK
      ? ["", "**Quick smoke run: a hundredth of the sizes; these numbers mean nothing.**"]
      : []),
    "",
    `- Machine: ${cpu}, ${navigator.hardwareConcurrency} cores; 1-minute load average ` +
    `${loadAtStart.toFixed(2)} at the start, ${Deno.loadavg()[0].toFixed(2)} at the end`,
    `- Runtimes: ${
      runtimes.map((r) =>
        Array.isArray(r.cmd) ? r.label : `${r.label} (not available: ${r.cmd.unavailable})`
      ).join(", ")
    }`,
    ...(shrunk.length
      ? [`- † over the time budget at full size, ran at: ${shrunk.join("; ")}`]
      : []),
    ...(failures.length ? [`- Failed: ${failures.join("; ")}`] : []),
    "",
    ...lines,
  ].join("\n"),
);
if (failures.length) Deno.exitCode = 1;
