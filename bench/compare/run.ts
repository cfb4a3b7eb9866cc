// The cross-system benchmark of issue 6: every system file in its own
// subprocess (no shared heap or JIT state), interleaved (round 1: W1 on each
// system, W2 on each system, ...; then rounds 2 and 3), medians of the rounds.
// Writes the section of bench/RESULTS.md between the compare markers and
// bench/results.svg. `--quick` is a smoke run at a hundredth of the sizes that
// writes to a temporary directory instead, so CI cannot clobber real results.
// Run: deno task bench:compare [--quick] [--rounds 3] [--only W1,W7 (prints, writes nothing)]
import { chartSvg } from "./chart.ts";
import { runIo } from "../echo/compare.ts";
import {
  arg,
  BUDGET_MS,
  PINNED,
  QUICK,
  SIZES,
  TITLES,
  W7_CHUNK,
  type WorkloadId,
} from "./workloads.ts";

const HERE = new URL(".", import.meta.url);
const path = (f: string) => new URL(f, HERE).pathname;
const deno = (f: string, ...a: string[]) => [Deno.execPath(), "run", "-A", path(f), ...a];
const python = (f: string, ...a: string[]) => ["python3", path(f), ...a];

const LOOP: WorkloadId[] = ["W1", "W2", "W3", "W4", "W5", "W6", "W8"];
// W3 again with eager tasks: aio on both cores and native (where W3 is already eager).
const EAGER: WorkloadId[] = [...LOOP, "W3e"];
interface System {
  name: string;
  label: string;
  cmd: string[];
  workloads: WorkloadId[];
}
// Column order of the tables; aio (default WASM core) is the reference of each table.
const SYSTEMS: System[] = [
  { name: "aio", label: "aio", cmd: deno("aio.ts"), workloads: EAGER },
  { name: "aio-ts", label: "aio (TS core)", cmd: deno("aio.ts", "--core", "ts"), workloads: EAGER },
  { name: "asyncio", label: "CPython asyncio", cmd: python("asyncio_bench.py"), workloads: LOOP },
  {
    name: "effection3",
    label: `Effection ${PINNED.effection3}`,
    cmd: deno("effection.ts", "--version", "3"),
    workloads: LOOP,
  },
  {
    name: "effection4",
    label: `Effection ${PINNED.effection4}`,
    cmd: deno("effection.ts", "--version", "4"),
    workloads: LOOP,
  },
  { name: "effect", label: `Effect ${PINNED.effect}`, cmd: deno("effect.ts"), workloads: LOOP },
  { name: "native", label: "native Deno", cmd: deno("native.ts"), workloads: EAGER },
  {
    name: "aio-submit",
    label: "aio submit",
    cmd: deno("pools.ts", "--pool", "aio-submit"),
    workloads: ["W7"],
  },
  {
    name: "aio-map",
    label: `aio map (chunks of ${W7_CHUNK})`,
    cmd: deno("pools.ts", "--pool", "aio-map"),
    workloads: ["W7"],
  },
  {
    name: "postMessage",
    label: "one-in-flight postMessage",
    cmd: deno("pools.ts", "--pool", "postMessage"),
    workloads: ["W7"],
  },
  {
    name: "piscina",
    label: `piscina ${PINNED.piscina} (in Deno)`,
    cmd: deno("pools.ts", "--pool", "piscina"),
    workloads: ["W7"],
  },
  {
    name: "py-process",
    label: "ProcessPoolExecutor(2)",
    cmd: python("pools_py.py", "--pool", "process"),
    workloads: ["W7"],
  },
  {
    name: "py-thread",
    label: "ThreadPoolExecutor(2)",
    cmd: python("pools_py.py", "--pool", "thread"),
    workloads: ["W7"],
  },
];
// The reference column of each table.
const REF: Record<string, string> = { loop: "aio", pool: "aio-submit" };

// Goals of issues 6 and 12: `other`'s ns/op over `ref`'s must be at least
// `min`, or without `other`, `ref`'s ns/op at most `maxNs`.
type Goal =
  & { workload: WorkloadId; ref: string; text: string }
  & ({ other: string; min: number } | { other?: undefined; maxNs: number });
const GOALS: Goal[] = [];
for (const w of ["W1", "W2"] as const) {
  GOALS.push({ workload: w, ref: "aio", other: "asyncio", min: 50, text: "≥ 50× faster" });
  GOALS.push({ workload: w, ref: "aio", other: "effection3", min: 20, text: "≥ 20× faster" });
  GOALS.push({ workload: w, ref: "aio", other: "effection4", min: 20, text: "≥ 20× faster" });
  GOALS.push({ workload: w, ref: "aio", other: "native", min: 1 / 1.5, text: "within 1.5×" });
}
GOALS.push(
  { workload: "W3", ref: "aio", other: "asyncio", min: 20, text: "≥ 20× faster" },
  { workload: "W3", ref: "aio", other: "effection3", min: 100, text: "≥ 100× faster" },
  { workload: "W3", ref: "aio", other: "effection4", min: 100, text: "≥ 100× faster" },
  { workload: "W3", ref: "aio", other: "native", min: 1 / 1.5, text: "within 1.5×" },
  { workload: "W3", ref: "aio", maxNs: 980, text: "≤ 0.98 µs per task (1.3× under 1.27 µs)" },
  { workload: "W3e", ref: "aio", other: "native", min: 1 / 1.5, text: "eager within 1.5×" },
  { workload: "W4", ref: "aio", other: "native", min: 10, text: "≥ 10× faster" },
  { workload: "W5", ref: "aio", other: "native", min: 10, text: "≥ 10× faster" },
  { workload: "W6", ref: "aio", other: "asyncio", min: 15, text: "≥ 15× faster" },
  { workload: "W6", ref: "aio", other: "native", min: 2, text: "≥ 2× faster" },
  { workload: "W7", ref: "aio-submit", other: "piscina", min: 3, text: "≥ 3× faster" },
  { workload: "W7", ref: "aio-submit", other: "py-thread", min: 10, text: "≥ 10× faster" },
  { workload: "W7", ref: "aio-map", other: "postMessage", min: 20, text: "≥ 20× faster" },
  { workload: "W8", ref: "aio", other: "asyncio", min: 10, text: "≥ 10× faster" },
);
// Issue 12: Effect, the most used fiber runtime for TypeScript.
for (const w of LOOP) {
  GOALS.push({ workload: w, ref: "aio", other: "effect", min: 10, text: "≥ 10× faster" });
}

interface Result {
  system: string;
  workload: WorkloadId;
  n: number;
  ms: number;
  ns_per_op: number;
}

const ROUNDS = Number(arg("--rounds") ?? 3);
const ONLY = arg("--only")?.split(",");
const TIMEOUT_MS = QUICK ? 60_000 : 180_000;

/** One system on one workload in a fresh process; its JSON line, or why it failed. */
async function runOne(s: System, w: WorkloadId, n?: number): Promise<Result | string> {
  const args = [...s.cmd.slice(1), "--workload", w, ...(QUICK ? ["--quick"] : [])];
  if (n !== undefined) args.push("--n", String(n));
  try {
    const out = await new Deno.Command(s.cmd[0], {
      args,
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    if (!out.success || text === "") {
      const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" | ");
      return `exit ${out.code}${out.signal ? ` (${out.signal})` : ""}: ${err}`;
    }
    return JSON.parse(text.split("\n").at(-1)!) as Result;
  } catch (e) {
    return String(e);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function fmtNs(ns: number): string {
  if (ns < 1e3) return `${ns.toPrecision(3)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toPrecision(3)} µs`;
  return `${(ns / 1e6).toPrecision(3)} ms`;
}
const fmtRatio = (r: number) => `${r >= 100 ? r.toFixed(0) : r.toPrecision(2)}×`;
const rounds = `${ROUNDS} round${ROUNDS === 1 ? "" : "s"}`;
const fmtInt = (n: number) => n.toLocaleString("en-US");
const fmtDuration = (ms: number) => `${Math.floor(ms / 60000)}m${Math.round((ms % 60000) / 1000)}s`;

// ---- run ---------------------------------------------------------------------------------------

const workloads = (Object.keys(TITLES) as WorkloadId[]).filter((w) => !ONLY || ONLY.includes(w));
const plan: [System, WorkloadId][] = [];
for (const w of workloads) for (const s of SYSTEMS) if (s.workloads.includes(w)) plan.push([s, w]);
const total = plan.length * ROUNDS;
const results = new Map<string, Result[]>(); // `${system} ${workload}` → one per round
const failures: string[] = [];
const started = performance.now();
// Load from other work on the machine makes the numbers noisy: recorded with them.
const loadAtStart = Deno.loadavg()[0];
let done = 0;
console.error(`bench:compare${QUICK ? " --quick" : ""}: ${total} runs (${rounds})`);
for (let round = 1; round <= ROUNDS; round++) {
  for (const [s, w] of plan) {
    // Later rounds run at the n the first one chose, so the median compares like with like.
    const r = await runOne(s, w, results.get(`${s.name} ${w}`)?.[0].n);
    done++;
    const head = `[${String(done).padStart(3)}/${total}] round ${round} ${w} ${s.name.padEnd(11)}`;
    if (typeof r === "string") {
      failures.push(`${s.name} ${w} round ${round}: ${r}`);
      console.error(`${head} FAILED ${r}`);
      continue;
    }
    const key = `${s.name} ${w}`;
    results.set(key, [...(results.get(key) ?? []), r]);
    const capped = r.n < SIZES[w] ? ` (n=${fmtInt(r.n)})` : "";
    const elapsed = performance.now() - started;
    const eta = fmtDuration((elapsed / done) * (total - done));
    console.error(`${head} ${fmtNs(r.ns_per_op).padStart(9)}/op${capped}  (${eta} left)`);
  }
}

// W9 (TCP echo) and W10 (subprocesses) of issue 11: bench/echo/compare.ts, its own rounds.
const io = await runIo({ quick: QUICK, rounds: ROUNDS, only: ONLY });
failures.push(...io.failures);

// ---- report ------------------------------------------------------------------------------------

/** Median ns/op of a system on a workload, and the smallest n it ran at. */
function cell(system: string, w: WorkloadId): { ns: number; n: number } | undefined {
  const rs = results.get(`${system} ${w}`);
  if (!rs?.length) return undefined;
  return { ns: median(rs.map((r) => r.ns_per_op)), n: Math.min(...rs.map((r) => r.n)) };
}

const shrunk: string[] = [];
function table(kind: "loop" | "pool", ws: WorkloadId[]): string {
  const cols = SYSTEMS.filter((s) => s.workloads.some((w) => ws.includes(w)));
  const lines = [
    `| workload | n | ${cols.map((s) => s.label).join(" | ")} |`,
    `| --- | --: | ${cols.map(() => "--:").join(" | ")} |`,
  ];
  for (const w of ws) {
    const ref = cell(REF[kind], w);
    const cells = cols.map((s) => {
      if (!s.workloads.includes(w)) return "—";
      const c = cell(s.name, w);
      if (c === undefined) return "failed";
      let mark = "";
      if (c.n < SIZES[w]) {
        mark = "†";
        shrunk.push(`${s.label} on ${w} at n = ${fmtInt(c.n)}`);
      }
      return `${fmtNs(c.ns)}${mark} (${ref ? fmtRatio(c.ns / ref.ns) : "?"})`;
    });
    lines.push(`| **${w}** ${TITLES[w]} | ${fmtInt(SIZES[w])} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

function goalsTable(): string {
  const label = (name: string) => SYSTEMS.find((s) => s.name === name)!.label;
  const lines = [
    "| workload | aio | vs | goal | measured | |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const g of GOALS) {
    if (!workloads.includes(g.workload)) continue;
    const vs = g.other === undefined ? "—" : label(g.other);
    const head = `| ${g.workload} | ${label(g.ref)} | ${vs} | ${g.text}`;
    const ref = cell(g.ref, g.workload);
    const other = g.other === undefined ? undefined : cell(g.other, g.workload);
    if (ref && "maxNs" in g) {
      const met = ref.ns <= g.maxNs ? "✅ met" : "❌ missed";
      lines.push(`${head} | ${fmtNs(ref.ns)} per task | ${met} |`);
      continue;
    }
    if (!ref || !other || !("min" in g)) {
      lines.push(`${head} | no data | ❔ |`);
      continue;
    }
    const r = other.ns / ref.ns;
    // Three digits, so 19.6× is not printed as a missed "20×".
    const x = (v: number) => (v >= 100 ? v.toFixed(0) : v.toPrecision(3));
    const measured = r >= 1 ? `${x(r)}× faster` : `${x(1 / r)}× slower`;
    lines.push(`${head} | ${measured} | ${r >= g.min ? "✅ met" : "❌ missed"} |`);
  }
  return lines.join("\n");
}

async function version(cmd: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "piped" }).output();
    return new TextDecoder().decode(out.stdout).trim();
  } catch {
    return "unknown";
  }
}

/** `text` as `deno fmt` would write it, so `deno task check` stays clean. */
async function denoFmt(text: string, ext: "md" | "svg"): Promise<string> {
  const p = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext", ext, "-"],
    cwd: path("../.."), // the project's fmt options (line width)
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const w = p.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  const out = await p.output();
  return out.success ? new TextDecoder().decode(out.stdout) : text;
}

async function machine(): Promise<string> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const cpu = cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1] ?? Deno.build.arch;
  const gib = (Deno.systemMemoryInfo().total / 2 ** 30).toFixed(1);
  return `${cpu}, ${navigator.hardwareConcurrency} cores, ${gib} GiB RAM, ${Deno.build.os}`;
}

const loopWorkloads = workloads.filter((w) => w !== "W7");
const loopTable = loopWorkloads.length ? table("loop", loopWorkloads) : "";
const poolTable = workloads.includes("W7") ? table("pool", ["W7"]) : "";
const shrunkList = shrunk.join("; ");
const date = new Date().toISOString().replace(/\.\d+Z$/, "Z");
const command = `deno task bench:compare${QUICK ? " --quick" : ""}`;
const section = [
  "<!-- compare:start -->",
  "## aio against CPython asyncio, Effection, Effect, native Deno and piscina",
  "",
  QUICK
    ? "**Quick smoke run: sizes are a hundredth of the real ones and these numbers mean nothing.**\n"
    : "",
  `\`${command}\`, ${date}: each system in its own process per run, ${rounds} interleaved, ` +
  "medians. Each cell: time per operation, and in brackets that time over aio's " +
  "(above 1×, aio is faster).",
  "",
  `- Machine: ${await machine()}; 1-minute load average ${loadAtStart.toFixed(2)} at the start, ` +
  `${Deno.loadavg()[0].toFixed(2)} at the end (this run's own processes count for about 1)`,
  `- Versions: Deno ${Deno.version.deno} (V8 ${Deno.version.v8}), ` +
  `${await version([
    "python3",
    "--version",
  ])}, Effection ${PINNED.effection3} and ${PINNED.effection4}, Effect ${PINNED.effect}, ` +
  `piscina ${PINNED.piscina} (run in Deno)`,
  "",
  loopTable,
  "",
  poolTable,
  "",
  io.tables,
  "",
  "### Goals of issues 6, 11 and 12 (aio on its default WASM core)",
  "",
  [goalsTable(), ...io.goalRows].join("\n"),
  "",
  "![time per operation over aio's, per workload](results.svg)",
  "",
  "Notes:",
  "",
  "- Every system does the same work on the same seeded random delays; sources in `bench/compare/`.",
  "  A switch is a bare `yield` in aio, `await asyncio.sleep(0)` in CPython, `await null` natively",
  "  (a microtask: unlike the others, it lets no timer or I/O run), `yield* until(resolved)` in",
  "  Effection and `yield* Effect.yieldNow` in Effect. Each run warms up at a tenth of its size",
  "  first; pools start before the clock.",
  "- W2 and W3 in Effect fork with `Effect.forkChild` and join with `Fiber.joinAll` (spawn, then",
  "  gather). W3e is W3 with aio's tasks made by `createTask(coro, { eagerStart: true })`; natively",
  "  it is W3 again (an async function already runs up to its first `await` when called).",
  "- W4 reports the time beyond the 100 ms the last timer is due at (real clock everywhere). W5",
  "  is schedule + cancel per timer; Effection and Effect have no raw timers, so they fork `sleep`s",
  "  and halt them (Effect: `Fiber.interruptAll`; its forks take over 1 s, so some of its timers",
  "  fire first). aio's timers enter its scheduler core when the iteration that made them ends, so",
  "  W5's, made and cancelled in one step, never do; `bench/loop.bench.ts` times timers cancelled",
  "  one turn later. W6: Effection has no bounded channel; it is two `createQueue`s with",
  "  acknowledgements; Effect's is `Queue.bounded`. W8 natively is an `AbortSignal` rejecting the",
  "  promise at the bottom of 10 async functions, in Effect a `Fiber.interrupt` of a fiber 10",
  "  `Effect.gen`s deep in `Effect.never`.",
  ...(shrunk.length
    ? [
      `- † Too slow to run at full size in the time budget (${BUDGET_MS} ms per timed run, judged`,
      `  by a probe at n/100 in round 1), so ran at a tenth or a hundredth of n: ${shrunkList}.`,
      "  Their cost per operation is flat or grows with n, so this flatters them, not aio.",
    ]
    : []),
  ...io.notes,
  ...(failures.length ? ["- Failed runs: " + failures.join("; ")] : []),
  "<!-- compare:end -->",
].join("\n").replace(/\n{3,}/g, "\n\n");
const formatted = (await denoFmt(section, "md")).trimEnd();

console.log(formatted);

const bars = [];
for (const w of workloads) {
  for (const s of SYSTEMS) {
    const kind = w === "W7" ? "pool" : "loop";
    const c = cell(s.name, w), ref = cell(REF[kind], w);
    if (c && ref && s.name !== REF[kind]) {
      const workload = w === "W7" ? "W7 ÷ aio submit" : w;
      bars.push({
        workload,
        system: s.label,
        ratio: c.ns / ref.ns,
        note: c.n < SIZES[w] ? "†" : "",
      });
    }
  }
}
const svg = await chartSvg(
  bars,
  `aio vs others, ${date.slice(0, 10)}${QUICK ? " (quick run)" : ""}` +
    (shrunk.length ? " († ran at a reduced n)" : ""),
);

if (ONLY) {
  console.error("--only: nothing written");
} else {
  const dir = QUICK ? await Deno.makeTempDir({ prefix: "bench_compare_" }) : path("..");
  const md = `${dir}/RESULTS.md`;
  const old = await Deno.readTextFile(md).catch(() => "");
  const start = old.indexOf("<!-- compare:start -->"), end = old.indexOf("<!-- compare:end -->");
  const next = start >= 0 && end > start
    ? old.slice(0, start) + formatted + old.slice(end + "<!-- compare:end -->".length)
    : (old ? old.trimEnd() + "\n\n" : "") + formatted + "\n";
  await Deno.writeTextFile(md, next);
  await Deno.writeTextFile(`${dir}/results.svg`, await denoFmt(svg, "svg"));
  console.error(
    `wrote ${md} and ${dir}/results.svg in ${fmtDuration(performance.now() - started)}`,
  );
}
if (failures.length) Deno.exitCode = 1;
