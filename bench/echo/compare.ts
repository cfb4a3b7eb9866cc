// W9 (TCP echo) and W10 (subprocesses) of issue 11 inside `deno task
// bench:compare` (bench/compare/run.ts calls runIo after its own rounds):
// interleaved rounds, medians, the markdown tables for bench/RESULTS.md and
// the goal rows, in run.ts's format. A system that is not available (aio's
// server before startServer exists, uvloop not installed) is reported as such,
// not as a failure.
import {
  buildClient,
  CONNECTIONS,
  type EchoOutcome,
  type EchoResult,
  fmtSize,
  isResult,
  isUnavailable,
  leftoverChildren,
  NODE,
  runEcho,
  RUSTC,
  SECONDS,
  SIZES,
  systems,
  versionOf,
  WARMUP,
} from "./echo.ts";

const HERE = new URL(".", import.meta.url);
const path = (f: string) => new URL(f, HERE).pathname;

export const IO_TITLES = {
  W9: `TCP echo, ${CONNECTIONS} connections, each waiting for its whole echo (req/s)`,
  W10: "spawn `true`, stdout piped, wait + read it (communicate), one at a time",
} as const;
export type IoWorkload = keyof typeof IO_TITLES;

export interface IoOptions {
  quick: boolean;
  rounds: number;
  /** Workload ids to run (bench:compare's --only); all when undefined. */
  only?: string[];
}

export interface IoReport {
  /** Markdown: one table per workload that ran. */
  tables: string;
  /** Rows for run.ts's goals table (`| workload | aio | vs | goal | measured | |`). */
  goalRows: string[];
  /** Markdown bullets for the notes. */
  notes: string[];
  /** Runs that failed (not: systems that are not available). */
  failures: string[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmtInt = (n: number) => Math.round(n).toLocaleString("en-US");
function fmtNs(ns: number): string {
  // Three digits, in the unit where they stay below 1000 after rounding (999.6 µs is 1.00 ms).
  if (Number(ns.toPrecision(3)) < 1e3) return `${ns.toPrecision(3)} ns`;
  if (Number(ns.toPrecision(3)) < 1e6) return `${(ns / 1e3).toPrecision(3)} µs`;
  return `${(ns / 1e6).toPrecision(3)} ms`;
}
const x3 = (v: number) => (v >= 100 ? v.toFixed(0) : v.toPrecision(3));

// ---- W9 -------------------------------------------------------------------------------------

interface W9Data {
  sizes: number[];
  labels: Map<string, string>;
  /** `${system} ${size}` → one result per round. */
  results: Map<string, EchoResult[]>;
  /** system → why it is not available. */
  unavailable: Map<string, string>;
}

async function runW9(o: IoOptions, failures: string[]): Promise<W9Data | undefined> {
  let client: string;
  try {
    client = await buildClient();
  } catch (e) {
    failures.push(`W9: ${e instanceof Error ? e.message : e}`);
    return undefined;
  }
  const all = systems("wasm");
  const sizes = o.quick ? [SIZES[0]] : SIZES;
  const opts = o.quick
    ? { seconds: SECONDS.quick, warmup: WARMUP.quick }
    : { seconds: SECONDS.full, warmup: WARMUP.full };
  const data: W9Data = {
    sizes,
    labels: new Map(all.map((s) => [s.name, s.label])),
    results: new Map(),
    unavailable: new Map(),
  };
  const total = o.rounds * sizes.length * all.length;
  let done = 0;
  for (let round = 1; round <= o.rounds; round++) {
    for (const size of sizes) {
      for (const s of all) {
        done++;
        const head = `[${String(done).padStart(3)}/${total}] round ${round} W9 ${
          fmtSize(size).padStart(7)
        } ${s.name.padEnd(16)}`;
        const why = data.unavailable.get(s.name);
        if (why !== undefined) continue; // once is enough to know
        const r: EchoOutcome = await runEcho(s, size, opts, client);
        if (isResult(r)) {
          const key = `${s.name} ${size}`;
          data.results.set(key, [...(data.results.get(key) ?? []), r]);
          console.error(`${head} ${fmtInt(r.req_per_s).padStart(9)} req/s`);
        } else if (isUnavailable(r)) {
          data.unavailable.set(s.name, r.unavailable);
          console.error(`${head} not available: ${r.unavailable}`);
        } else {
          failures.push(`W9 ${s.name} ${fmtSize(size)} round ${round}: ${r.error}`);
          console.error(`${head} FAILED ${r.error}`);
        }
      }
    }
  }
  return data;
}

const w9Median = (d: W9Data, system: string, size: number) => {
  const rs = d.results.get(`${system} ${size}`);
  return rs?.length ? median(rs.map((r) => r.req_per_s)) : undefined;
};

function w9Table(d: W9Data): string {
  const names = [...d.labels.keys()];
  const lines = [
    `| workload | message | ${names.map((n) => d.labels.get(n)).join(" | ")} |`,
    `| --- | --: | ${names.map(() => "--:").join(" | ")} |`,
  ];
  for (const size of d.sizes) {
    const cells = names.map((n) => {
      const v = w9Median(d, n, size);
      return v !== undefined ? fmtInt(v) : d.unavailable.has(n) ? "n.a." : "failed";
    });
    lines.push(`| **W9** ${IO_TITLES.W9} | ${fmtSize(size)} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

/** aio streams' req/s over `other`'s must be at least `min` at every size. */
function w9Goal(d: W9Data, other: string, min: number, text: string): string {
  const head = `| W9 | ${d.labels.get("aio")} | ${d.labels.get(other)} | ${text}`;
  if (d.unavailable.has("aio")) {
    return `${head} | n.a.: aio's server is not available | ❌ missed |`;
  }
  if (d.unavailable.has(other)) return `${head} | n.a.: ${other} is not available | ❔ |`;
  let worst: { r: number; size: number } | undefined;
  for (const size of d.sizes) {
    const a = w9Median(d, "aio", size), b = w9Median(d, other, size);
    if (a === undefined || b === undefined) return `${head} | no data at ${fmtSize(size)} | ❔ |`;
    if (!worst || a / b < worst.r) worst = { r: a / b, size };
  }
  if (!worst) return `${head} | no data | ❔ |`;
  const where = d.sizes.length > 1 ? `, lowest at ${fmtSize(worst.size)}` : "";
  return `${head} | ${x3(worst.r)}×${where} | ${worst.r >= min ? "✅ met" : "❌ missed"} |`;
}

/**
 * The floor under the 0.85× native goal: the native loop made to own each
 * read's bytes, as a read() returning bytes the caller keeps must.
 */
function w9Floor(d: W9Data): string | undefined {
  const rows: string[] = [];
  for (const size of d.sizes) {
    const a = w9Median(d, "aio", size);
    const n = w9Median(d, "deno", size);
    const o = w9Median(d, "deno-owned", size);
    if (a === undefined || n === undefined || o === undefined) return undefined;
    rows.push(`${fmtSize(size)}: ${x3(o / n)}× native, aio ${x3(a / o)}× of it`);
  }
  return "- W9 floor: native Deno owning its reads (`server_deno.ts --owned`: each read's bytes " +
    "an array of their own, as asyncio's and aio's `read()` return) reaches " + rows.join("; ") +
    ".";
}

// ---- W10 ------------------------------------------------------------------------------------

interface W10System {
  name: string;
  label: string;
  cmd: string[];
}
const W10_SYSTEMS: W10System[] = [
  {
    name: "aio",
    label: "aio",
    cmd: [Deno.execPath(), "run", "-A", path("subprocess.ts"), "--system", "aio"],
  },
  { name: "asyncio", label: "CPython asyncio", cmd: ["python3", path("subprocess_asyncio.py")] },
  {
    name: "uvloop",
    label: "uvloop",
    cmd: ["python3", path("subprocess_asyncio.py"), "--uvloop"],
  },
  {
    name: "deno",
    label: "native Deno (`Deno.Command.output`)",
    cmd: [Deno.execPath(), "run", "-A", path("subprocess.ts"), "--system", "deno"],
  },
];

interface W10Data {
  ns: Map<string, number[]>;
  n: Map<string, number>;
  unavailable: Map<string, string>;
}

async function runW10(o: IoOptions, failures: string[]): Promise<W10Data> {
  const data: W10Data = { ns: new Map(), n: new Map(), unavailable: new Map() };
  const total = o.rounds * W10_SYSTEMS.length;
  let done = 0;
  for (let round = 1; round <= o.rounds; round++) {
    for (const s of W10_SYSTEMS) {
      done++;
      const head = `[${String(done).padStart(3)}/${total}] round ${round} W10 ${s.name.padEnd(8)}`;
      if (data.unavailable.has(s.name)) continue;
      let out: Deno.CommandOutput;
      try {
        out = await new Deno.Command(s.cmd[0], {
          args: [...s.cmd.slice(1), ...(o.quick ? ["--quick"] : [])],
          env: { NO_COLOR: "1" },
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
          signal: AbortSignal.timeout(120_000),
        }).output();
      } catch (e) {
        failures.push(`W10 ${s.name} round ${round}: ${e}`);
        console.error(`${head} FAILED ${e}`);
        continue;
      }
      const text = new TextDecoder().decode(out.stdout).trim();
      const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" | ");
      if (out.success && text !== "") {
        const r = JSON.parse(text.split("\n").at(-1)!) as { n: number; ns_per_op: number };
        data.ns.set(s.name, [...(data.ns.get(s.name) ?? []), r.ns_per_op]);
        data.n.set(s.name, r.n);
        console.error(`${head} ${fmtNs(r.ns_per_op).padStart(9)}/op`);
      } else if (out.code === 3 || /No module named/.test(err)) {
        // Exit code 3: the aio API it needs is not there yet (see subprocess.ts).
        data.unavailable.set(s.name, err);
        console.error(`${head} not available: ${err}`);
      } else {
        failures.push(`W10 ${s.name} round ${round}: exit ${out.code}: ${err}`);
        console.error(`${head} FAILED exit ${out.code}: ${err}`);
      }
    }
  }
  return data;
}

function w10Table(d: W10Data): string {
  const cell = (name: string) => {
    const xs = d.ns.get(name);
    return xs?.length ? median(xs) : undefined;
  };
  const ref = cell("aio");
  const n = Math.max(0, ...d.n.values());
  const cells = W10_SYSTEMS.map((s) => {
    const c = cell(s.name);
    if (c === undefined) return d.unavailable.has(s.name) ? "n.a." : "failed";
    return ref === undefined ? fmtNs(c) : `${fmtNs(c)} (${(c / ref).toPrecision(2)}×)`;
  });
  return [
    `| workload | n | ${W10_SYSTEMS.map((s) => s.label).join(" | ")} |`,
    `| --- | --: | ${W10_SYSTEMS.map(() => "--:").join(" | ")} |`,
    `| **W10** ${IO_TITLES.W10} | ${fmtInt(n)} | ${cells.join(" | ")} |`,
  ].join("\n");
}

function w10Goal(d: W10Data): string {
  const head = "| W10 | aio | CPython asyncio | ≥ 2× faster";
  if (d.unavailable.has("aio")) {
    return `${head} | n.a.: aio's createSubprocessExec is not available | ❌ missed |`;
  }
  const a = d.ns.get("aio"), b = d.ns.get("asyncio");
  if (!a?.length || !b?.length) return `${head} | no data | ❔ |`;
  const r = median(b) / median(a);
  const measured = r >= 1 ? `${x3(r)}× faster` : `${x3(1 / r)}× slower`;
  return `${head} | ${measured} | ${r >= 2 ? "✅ met" : "❌ missed"} |`;
}

// ---- both -----------------------------------------------------------------------------------

/** Runs W9 and W10 (those `only` names), `rounds` interleaved rounds each, and reports. */
export async function runIo(o: IoOptions): Promise<IoReport> {
  const want = (w: IoWorkload) => !o.only || o.only.includes(w);
  const failures: string[] = [];
  const tables: string[] = [], goalRows: string[] = [], notes: string[] = [];
  if (want("W9")) {
    const d = await runW9(o, failures);
    if (d) {
      tables.push(w9Table(d));
      goalRows.push(
        w9Goal(d, "uvloop-streams", 1, "≥ 1× the req/s at every size"),
        w9Goal(d, "deno", 0.85, "≥ 0.85× the req/s at every size"),
      );
      const [rustc, node, uvloop] = await Promise.all([
        versionOf([RUSTC, "--version"]),
        versionOf([NODE, "--version"]),
        versionOf(["python3", "-c", "import uvloop; print(uvloop.__version__)"]),
      ]);
      const secs = o.quick ? SECONDS.quick : SECONDS.full;
      const warm = o.quick ? WARMUP.quick : WARMUP.full;
      notes.push(
        `- W9: every server in its own process on 127.0.0.1, measured by one load generator ` +
          `(\`bench/echo/client\`, Rust std, ${rustc}): ${CONNECTIONS} connections on ` +
          "threads of their own, TCP_NODELAY, each sending a message and reading its whole echo " +
          "(checked byte for byte) before the next; " +
          `${warm} s of warm-up, then ${secs} s counted, per server and size. Cells: requests ` +
          "per second (higher is better). The client shares the machine's cores with the server. " +
          "Streams: read(65536) / write / drain; protocol: `data_received` → `transport.write`; " +
          "native Deno: a `conn.read` / `conn.write` loop on a 64 KiB buffer; Node: " +
          `\`socket.pipe(socket)\` (Node ${node}); uvloop ${uvloop}. ` +
          "Per-run figures (p50/p99 latency too): `deno run -A bench/echo/run.ts`.",
      );
      const floor = w9Floor(d);
      if (floor) notes.push(floor);
      for (const [name, why] of d.unavailable) {
        notes.push(`- W9: ${d.labels.get(name)} not available: ${why}`);
      }
    }
  }
  if (want("W10")) {
    const d = await runW10(o, failures);
    tables.push(w10Table(d));
    goalRows.push(w10Goal(d));
    notes.push(
      "- W10: per operation, spawn `true` with stdout piped, then wait for it and read its " +
        "output: `create_subprocess_exec` + `communicate()` in CPython, `createSubprocessExec` + " +
        "`communicate()` in aio, `new Deno.Command(...).output()` natively; sequential, one " +
        "`run()` per timed run, warm-up at n/10 (`bench/echo/subprocess*.{ts,py}`).",
    );
    for (const [name, why] of d.unavailable) {
      notes.push(`- W10: ${W10_SYSTEMS.find((s) => s.name === name)!.label} not available: ${why}`);
    }
  }
  const left = await leftoverChildren();
  if (left.length) failures.push(`W9/W10 left processes behind: ${left.join("; ")}`);
  return { tables: tables.join("\n\n"), goalRows, notes, failures };
}
