// W9, the TCP echo benchmark of issue 11: the servers under test, and one run
// of one server at one message size. Every server runs in its own process and
// is measured by the same load generator (client/, Rust, std only), so no
// server is timed by a client in its own runtime. bench/echo/run.ts is the
// command line; bench/echo/compare.ts puts W9 into `deno task bench:compare`.
// All traffic is on 127.0.0.1, and every process started here is killed and
// reaped before a run returns.

const HERE = new URL(".", import.meta.url);
const path = (f: string) => new URL(f, HERE).pathname;

/** Connections the client keeps open, each with one message in flight. */
export const CONNECTIONS = 10;
/** Message sizes of a full run (bytes). */
export const SIZES = [1024, 10 * 1024, 100 * 1024];
/** Seconds measured per server and size (after the warm-up), full and quick. */
export const SECONDS = { full: 3, quick: 0.3 };
/** Seconds of traffic before the measurement starts (JITs warm, buffers grown). */
export const WARMUP = { full: 0.5, quick: 0.1 };
/** How long a server may take to print its port before it counts as not available. */
const START_TIMEOUT_MS = 15_000;
/** After SIGTERM, how long before SIGKILL. */
const KILL_GRACE_MS = 2_000;

/** The Node binary: `AIO_BENCH_NODE`, else `node` on the PATH. */
export const NODE = Deno.env.get("AIO_BENCH_NODE") ?? "node";

export interface EchoSystem {
  name: string;
  label: string;
  /** The server's command line, listening on a free port (argument 0). */
  cmd: string[];
  env?: Record<string, string>;
}

const py = (...a: string[]) => ["python3", path("server_asyncio.py"), "0", ...a];
const deno = (f: string) => [Deno.execPath(), "run", "-A", path(f), "0"];

/** The servers, in table order; `core` goes to aio's server as AIO_CORE. */
export function systems(core: "wasm" | "ts" = "wasm"): EchoSystem[] {
  return [
    {
      name: "aio",
      label: core === "wasm" ? "aio streams" : "aio streams (TS core)",
      cmd: deno("server_aio.ts"),
      env: { AIO_CORE: core },
    },
    { name: "asyncio-streams", label: "asyncio streams", cmd: py("--mode", "streams") },
    { name: "asyncio-protocol", label: "asyncio protocol", cmd: py("--mode", "protocol") },
    {
      name: "uvloop-streams",
      label: "uvloop streams",
      cmd: py("--mode", "streams", "--uvloop"),
    },
    {
      name: "uvloop-protocol",
      label: "uvloop protocol",
      cmd: py("--mode", "protocol", "--uvloop"),
    },
    { name: "deno", label: "native Deno", cmd: deno("server_deno.ts") },
    {
      name: "deno-owned",
      label: "native Deno, owning its reads",
      cmd: [...deno("server_deno.ts"), "--owned"],
    },
    { name: "node", label: "Node net", cmd: [NODE, path("server_node.mjs"), "0"] },
  ];
}

export interface EchoOptions {
  seconds: number;
  warmup: number;
  connections?: number;
}

/** What the client measured, with the system and size. */
export interface EchoResult {
  system: string;
  size: number;
  req_per_s: number;
  mib_per_s: number;
  p50_us: number;
  p99_us: number;
  n: number;
  seconds: number;
  connections: number;
}
/** The server did not start (exited, or printed no port in time): not a failure of the run. */
export interface EchoUnavailable {
  system: string;
  size: number;
  unavailable: string;
}
/** The server started but the run failed (a wrong echo, a crash, a timeout). */
export interface EchoFailure {
  system: string;
  size: number;
  error: string;
}
export type EchoOutcome = EchoResult | EchoUnavailable | EchoFailure;

// ---- the client ----------------------------------------------------------------------------

const CLIENT_DIR = path("client/");
export const CLIENT = `${CLIENT_DIR}target/release/echo_client`;

const exists = (f: string) => {
  try {
    Deno.statSync(f);
    return true;
  } catch {
    return false;
  }
};
/** Debian's cargo and rustc (std only, as the brief of issue 11 names them), else the PATH's. */
const CARGO = Deno.env.get("CARGO") ?? (exists("/usr/bin/cargo") ? "/usr/bin/cargo" : "cargo");
export const RUSTC = Deno.env.get("RUSTC") ??
  (CARGO === "/usr/bin/cargo" && exists("/usr/bin/rustc") ? "/usr/bin/rustc" : "rustc");

/**
 * Builds the client (a no-op when it is up to date) and returns its path.
 * Throws with cargo's output if there is no client to run.
 */
export async function buildClient(): Promise<string> {
  let why = "";
  try {
    const out = await new Deno.Command(CARGO, {
      args: ["build", "--release", "--quiet", "--manifest-path", `${CLIENT_DIR}Cargo.toml`],
      env: { RUSTC },
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(300_000),
    }).output();
    if (out.success) return CLIENT;
    why = new TextDecoder().decode(out.stderr).trim();
  } catch (e) {
    why = String(e);
  }
  if (!exists(CLIENT)) {
    throw new Error(`echo: cannot build the load generator (bench/echo/client): ${why}`);
  }
  console.error(`echo: cargo build failed, using the existing client: ${why}`);
  return CLIENT;
}

// ---- child processes -------------------------------------------------------------------------

/** Live server processes, killed on SIGINT/SIGTERM of this process too. */
const live = new Set<Deno.ChildProcess>();
let handlersInstalled = false;
function installSignalHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(sig, () => {
      for (const p of live) {
        try {
          p.kill("SIGKILL");
        } catch {
          // Already gone.
        }
      }
      Deno.exit(130);
    });
  }
}

/** Reads a byte stream to its end in the background, keeping the last `keep` characters. */
function drain(
  stream: ReadableStream<Uint8Array>,
  keep = 4000,
): { text: () => string; done: Promise<void> } {
  let text = "";
  const dec = new TextDecoder();
  const done = (async () => {
    try {
      for await (const chunk of stream) {
        text = (text + dec.decode(chunk, { stream: true })).slice(-keep);
      }
    } catch {
      // The pipe broke with the process.
    }
  })();
  return { text: () => text, done };
}

/** Deno's "error: ..." line if there is one, else the last lines (a Python traceback's end). */
function tail(s: string, lines = 3): string {
  const all = s.trim().split("\n");
  return all.find((l) => l.startsWith("error: ")) ?? all.slice(-lines).join(" | ");
}

/** Resolves with the first line of `stream` (the port), or undefined at EOF; the rest is drained. */
function firstLine(stream: ReadableStream<Uint8Array>): {
  line: Promise<string | undefined>;
  done: Promise<void>;
} {
  let resolve!: (s: string | undefined) => void;
  const line = new Promise<string | undefined>((r) => resolve = r);
  const done = (async () => {
    const dec = new TextDecoder();
    let buf = "";
    let sent = false;
    try {
      for await (const chunk of stream) {
        if (sent) continue;
        buf += dec.decode(chunk, { stream: true });
        const nl = buf.indexOf("\n");
        if (nl >= 0) {
          sent = true;
          resolve(buf.slice(0, nl).trim());
        }
      }
    } catch {
      // The pipe broke with the process.
    }
    if (!sent) resolve(undefined);
  })();
  return { line, done };
}

async function stop(p: Deno.ChildProcess): Promise<void> {
  try {
    p.kill("SIGTERM");
  } catch {
    // Already exited.
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((r) => timer = setTimeout(() => r("late"), KILL_GRACE_MS));
  if (await Promise.race([p.status, late]) === "late") {
    try {
      p.kill("SIGKILL");
    } catch {
      // Exited meanwhile.
    }
  }
  clearTimeout(timer);
  await p.status;
  live.delete(p);
}

/** One server at one size: start it, wait for its port, run the client, kill and reap it. */
export async function runEcho(
  system: EchoSystem,
  size: number,
  opts: EchoOptions,
  client = CLIENT,
): Promise<EchoOutcome> {
  installSignalHandlers();
  const connections = opts.connections ?? CONNECTIONS;
  let server: Deno.ChildProcess;
  try {
    server = new Deno.Command(system.cmd[0], {
      args: system.cmd.slice(1),
      env: { NO_COLOR: "1", ...system.env }, // plain error messages in the report
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    return { system: system.name, size, unavailable: `cannot start ${system.cmd[0]}: ${e}` };
  }
  live.add(server);
  const out = firstLine(server.stdout);
  const err = drain(server.stderr);
  try {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((r) => {
      timer = setTimeout(() => r("timeout"), START_TIMEOUT_MS);
    });
    const first = await Promise.race([out.line, server.status, timeout]);
    clearTimeout(timer);
    const port = typeof first === "string" ? Number(first) : NaN;
    if (!(Number.isInteger(port) && port > 0 && port < 65536)) {
      await stop(server);
      await err.done;
      const why = first === "timeout"
        ? `printed no port within ${START_TIMEOUT_MS} ms`
        : typeof first === "string"
        ? `printed ${JSON.stringify(first)} instead of a port`
        : `exited (code ${(await server.status).code}) before listening`;
      return { system: system.name, size, unavailable: `${why}: ${tail(err.text())}` };
    }
    const budgetMs = (opts.warmup + opts.seconds + 10 + 5) * 1000;
    const res = await new Deno.Command(client, {
      args: [
        "127.0.0.1",
        String(port),
        String(connections),
        String(size),
        String(opts.seconds),
        "--warmup",
        String(opts.warmup),
        "--timeout",
        "10",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(budgetMs),
    }).output();
    const text = new TextDecoder().decode(res.stdout).trim();
    if (!res.success || text === "") {
      const why = tail(new TextDecoder().decode(res.stderr)) || `client exit ${res.code}`;
      return { system: system.name, size, error: `${why}; server stderr: ${tail(err.text())}` };
    }
    const m = JSON.parse(text.split("\n").at(-1)!);
    return { system: system.name, size, ...m };
  } catch (e) {
    return { system: system.name, size, error: String(e) };
  } finally {
    if (live.has(server)) await stop(server);
    await Promise.all([out.done, err.done]);
  }
}

/** Child processes of this process still alive (excluding the `ps` that looks). */
export async function leftoverChildren(): Promise<string[]> {
  const out = await new Deno.Command("ps", {
    args: ["-o", "pid=,args=", "--ppid", String(Deno.pid)],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n").map((l) => l.trim())
    .filter((l) => l !== "" && !/^\d+\s+\S*ps -o pid=,args= --ppid /.test(l));
}

/** First line of `cmd --version` (or "unknown"). */
export async function versionOf(cmd: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.success ? out.stdout : out.stderr).trim();
    return out.success ? text.split("\n")[0] : "unknown";
  } catch {
    return "unknown";
  }
}

export const isResult = (o: EchoOutcome): o is EchoResult => "req_per_s" in o;
export const isUnavailable = (o: EchoOutcome): o is EchoUnavailable => "unavailable" in o;

/** "1 KiB", "10 KiB", "100 KiB", or bytes. */
export function fmtSize(bytes: number): string {
  return bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} B`;
}

/** "1k", "10KiB", "102400" → bytes. */
export function parseSize(s: string): number {
  const m = s.trim().match(/^(\d+(?:\.\d+)?)\s*(k|kib|kb|m|mib|mb)?$/i);
  if (!m) throw new Error(`bad size ${JSON.stringify(s)} (try 1k, 10k, 100k or bytes)`);
  const unit = (m[2] ?? "").toLowerCase();
  const mult = unit.startsWith("k") ? 1024 : unit.startsWith("m") ? 1024 * 1024 : 1;
  return Math.round(Number(m[1]) * mult);
}
