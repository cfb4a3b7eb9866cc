/**
 * Subprocesses: asyncio's `create_subprocess_exec` and
 * `create_subprocess_shell`, and the `Process` they return, on
 * `Deno.Command(...).spawn()`. A child's pipes are aio streams: `stdin` a
 * {@linkcode StreamWriter}, `stdout` and `stderr` {@linkcode StreamReader}s.
 *
 * @module
 */
import { ValueError } from "./errors.ts";
import type { Future } from "./future.ts";
import { gather } from "./gather.ts";
import type { EventLoop, LoopResource } from "./loop.ts";
import { PipeReadTransport, PipeWriteSink, StdoutPump } from "./pipe_transport.ts";
import { StreamReader } from "./stream_reader.ts";
import { streamLoop, StreamWriter } from "./stream_writer.ts";
import type { Coroutine } from "./task.ts";
import { describe } from "./util.ts";
import { requireDeno } from "./_runtime.ts";

// ---- A process's life, and the module's invariants ---------------------------
//
// `spawn()` is synchronous in Deno: a Process exists, running, as soon as
// createSubprocessExec's first step has run, and a spawn that fails (no such
// program, no --allow-run) throws in that step, in the calling task. There is
// no half-made state to cancel (asyncio's `_connect_pipes` phase).
//
// A Process then waits for two kinds of events, all outside completions of
// the loop (the virtual clock does not jump past them):
// - its exit: `child.status` settles once, from spawn on (the loop counts it
//   in flight the whole time). It sets `returncode` and wakes `wait()`.
// - its pipes' release: each pipe group (stdin; the stdout reader's pipes;
//   stderr's) reports once when Deno holds nothing of it any more (read to
//   EOF, failed, or closed).
//
// States, and what each allows:
//   running   `_exited` false. `sendSignal` signals it.
//   exited    `_exited` true (`returncode` set, unless `child.status`
//             rejected without a signal number: see "Return codes"), pipes
//             still held. `sendSignal` does nothing: asyncio's
//             Popen.send_signal skips a process it knows has died.
//   finished  exited and every pipe released (asyncio's transport after
//             `_call_connection_lost`, whose `_proc` is None then).
//             `sendSignal` throws `Deno.errors.NotFound`, what Deno's own
//             kill throws for ESRCH: asyncio's ProcessLookupError.
// A Process is in its loop's resource registry from spawn until finished;
// the loop closing (the end of `run()`) kills one still running (and
// reports it), closes its pipes and waits until it is finished, so no child
// and no pipe outlives `run()`. (One exception: a write to stdin that a
// grandchild holding the pipe never reads cannot be waited for; see
// `_closeForLoop`.)
//
// `wait()` returns at the exit, not at the pipes' release. CPython 3.12 and
// 3.13 also wait for the pipes (the waiters are woken in
// `_call_connection_lost`), so a child whose output nobody reads past the
// reader's pause, or whose grandchild keeps a pipe open, makes `wait()` hang
// after it has exited (python/cpython#119710, since fixed upstream that way);
// aio does what `subprocess.Popen.wait`, trio and uvloop do.
//
// `stderr: STDOUT`. asyncio has the OS give the child one pipe for both
// (dup2 in the child). `Deno.Command` cannot: each stream is "piped",
// "inherit" or "null" on its own. So aio pipes stderr too and delivers it
// where stdout goes, in arrival order:
// - stdout PIPE: stdout's and stderr's pipes feed one StreamReader (one
//   flow control for both). Each stream's bytes keep their order and a chunk
//   (what one OS read returns: for a pipe, usually what one write put in)
//   never splits, but the relative order of writes the child makes to both
//   streams close together is that in which the reads land, not necessarily
//   the child's. Spawning through `/bin/sh -c 'exec "$@" 2>&1'` would be
//   exact, but a missing program would become a shell exiting 127 instead of
//   `Deno.errors.NotFound` in the caller, cost a shell per spawn and need a
//   shell; a user who needs the exact order can write that shell command.
// - stdout inherited: stderr's pipe is copied into this process's stdout.
// - stdout DEVNULL: stderr goes to /dev/null too.
// createSubprocessShell gets the exact merge for free: the command runs after
// `exec 2>&1` in the same shell, so the shell itself points stderr at stdout
// before the command starts; the Deno-level merge above then only carries
// what the shell writes to its own stderr while parsing that first line.
//
// Return codes: `returncode` is the exit code, or `-N` when signal N ended
// the child (asyncio's convention). Deno reports the signal by name
// (`status.signal`), so the tables below map names to this OS's numbers;
// Deno's `status.code` is then 128 + N, a cross-check, and the fallback for
// a name not in the table. For a signal Deno has no name for (a realtime
// signal on Linux), `child.status` rejects with "Invalid signal: N": aio
// reads N from that message.

/**
 * Stream option: connect the child's stream to a pipe, read or written
 * through the Process (`proc.stdin`, `proc.stdout`, `proc.stderr`).
 * asyncio's `subprocess.PIPE`; the value is Deno.Command's own word for it.
 *
 * @example
 * ```ts
 * import { createSubprocessExec, PIPE, run } from "@aio/aio";
 * await run(function* () {
 *   const proc = yield* createSubprocessExec("echo", ["hi"], { stdout: PIPE });
 *   console.log(new TextDecoder().decode(yield* proc.stdout!.read())); // "hi\n"
 *   yield* proc.wait();
 * });
 * ```
 *
 * @category I/O
 */
export const PIPE = "piped" as const;

/**
 * Stream option: connect the child's stream to `/dev/null` (stdin reads EOF,
 * output is dropped). asyncio's `subprocess.DEVNULL`; the value is
 * Deno.Command's own word for it.
 *
 * @example
 * ```ts
 * import { createSubprocessExec, DEVNULL, run } from "@aio/aio";
 * await run(function* () {
 *   const proc = yield* createSubprocessExec("cat", [], { stdin: DEVNULL, stdout: DEVNULL });
 *   console.log(yield* proc.wait()); // 0: cat read EOF at once
 * });
 * ```
 *
 * @category I/O
 */
export const DEVNULL = "null" as const;

/**
 * `stderr` option: send the child's stderr where its stdout goes
 * (asyncio's `subprocess.STDOUT`). With `stdout: PIPE` both arrive in
 * `proc.stdout`, in arrival order: each stream keeps its order, and with
 * `createSubprocessExec` writes made to both close together may arrive in
 * either order (with `createSubprocessShell` the shell merges them exactly).
 *
 * @example
 * ```ts
 * import { createSubprocessShell, PIPE, run, STDOUT } from "@aio/aio";
 * await run(function* () {
 *   const proc = yield* createSubprocessShell("echo out; echo err >&2", {
 *     stdout: PIPE,
 *     stderr: STDOUT,
 *   });
 *   const [out, err] = yield* proc.communicate();
 *   console.log(new TextDecoder().decode(out!), err); // "out\nerr\n" null
 * });
 * ```
 *
 * @category I/O
 */
export const STDOUT = "stdout" as const;

/**
 * Where a child's stdin, stdout or stderr goes: {@linkcode PIPE},
 * {@linkcode DEVNULL}, or `"inherit"` (this process's own stream: the
 * default, asyncio's `None`; `null` and `undefined` mean it too).
 *
 * @example
 * ```ts
 * import { DEVNULL, PIPE, type SubprocessStdio } from "@aio/aio";
 * const quiet: SubprocessStdio = DEVNULL;
 * const captured: SubprocessStdio = PIPE;
 * console.log(quiet, captured); // "null" "piped"
 * ```
 *
 * @category I/O
 */
export type SubprocessStdio = typeof PIPE | typeof DEVNULL | "inherit";

/**
 * Options of {@linkcode createSubprocessExec} and
 * {@linkcode createSubprocessShell}.
 *
 * @example
 * ```ts
 * import { PIPE, STDOUT, type SubprocessOptions } from "@aio/aio";
 * const options: SubprocessOptions = {
 *   stdout: PIPE,
 *   stderr: STDOUT, // both in proc.stdout
 *   cwd: "/tmp",
 *   env: { LC_ALL: "C" }, // added to this process's environment
 *   limit: 1 << 20, // lines up to 1 MiB
 * };
 * console.log(options.stderr); // "stdout"
 * ```
 *
 * @category I/O
 */
export interface SubprocessOptions {
  /** The child's stdin: `PIPE` gives `proc.stdin`. Default `"inherit"`. */
  stdin?: SubprocessStdio | null;
  /** The child's stdout: `PIPE` gives `proc.stdout`. Default `"inherit"`. */
  stdout?: SubprocessStdio | null;
  /** The child's stderr: `PIPE` gives `proc.stderr`; `STDOUT` sends it with stdout. Default `"inherit"`. */
  stderr?: SubprocessStdio | typeof STDOUT | null;
  /** The child's working directory; default this process's. */
  cwd?: string | URL;
  /** Environment variables to set for the child, on top of this process's (see `clearEnv`). */
  env?: Record<string, string>;
  /** Start from an empty environment instead of this process's: only `env` is set. */
  clearEnv?: boolean;
  /** The readers' buffer limit in bytes (longest line; pause above twice it). Default 65,536. */
  limit?: number;
}

/** What the option checks leave: every field set and valid. */
interface SpawnOptions {
  stdin: "piped" | "null" | "inherit";
  stdout: "piped" | "null" | "inherit";
  stderr: "piped" | "null" | "inherit" | "stdout";
  cwd: string | URL | undefined;
  env: Record<string, string> | undefined;
  clearEnv: boolean;
  limit: number | undefined;
}

const OPTION_NAMES: ReadonlySet<string> = new Set([
  "stdin",
  "stdout",
  "stderr",
  "cwd",
  "env",
  "clearEnv",
  "limit",
]);

/** Options asyncio's functions reject or ignore here, and what to do instead. */
const OPTION_HINTS: Readonly<Record<string, string>> = {
  text: "aio's pipes carry bytes: decode them with TextDecoder",
  encoding: "aio's pipes carry bytes: decode them with TextDecoder",
  errors: "aio's pipes carry bytes: decode them with TextDecoder",
  universal_newlines: "aio's pipes carry bytes: decode them with TextDecoder",
  shell: "use createSubprocessShell for a shell command",
  bufsize: "aio's pipes are buffered by their readers and writers (see limit)",
};

function checkStdio(what: string, name: string, v: unknown): "piped" | "null" | "inherit" {
  if (v === undefined || v === null || v === "inherit") return "inherit";
  if (v === PIPE || v === DEVNULL) return v;
  const stdoutOnly = v === STDOUT ? ": STDOUT is only for stderr" : "";
  throw new TypeError(
    `${what}: option ${name} must be PIPE, DEVNULL or "inherit", got ${describe(v)}${stdoutOnly}`,
  );
}

function checkOptions(what: string, options: unknown): SpawnOptions {
  if (options === undefined || options === null) options = {};
  if (typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError(`${what}: options must be an object, got ${describe(options)}`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!OPTION_NAMES.has(key)) {
      const hint = OPTION_HINTS[key];
      throw new TypeError(
        `${what}: unknown option ${JSON.stringify(key)}${hint ? `: ${hint}` : ""}`,
      );
    }
  }
  const stdin = checkStdio(what, "stdin", o.stdin);
  const stdout = checkStdio(what, "stdout", o.stdout);
  const stderr = o.stderr === STDOUT ? STDOUT : checkStdio(what, "stderr", o.stderr);
  const cwd = o.cwd;
  if (cwd !== undefined && typeof cwd !== "string" && !(cwd instanceof URL)) {
    throw new TypeError(
      `${what}: option cwd must be a path string or a file URL, got ${describe(cwd)}`,
    );
  }
  const env = o.env;
  if (env !== undefined) {
    if (typeof env !== "object" || env === null || Array.isArray(env)) {
      throw new TypeError(`${what}: option env must be an object of strings, got ${describe(env)}`);
    }
    for (const [k, v] of Object.entries(env)) {
      if (typeof v !== "string") {
        throw new TypeError(`${what}: option env.${k} must be a string, got ${describe(v)}`);
      }
    }
  }
  const clearEnv = o.clearEnv;
  if (clearEnv !== undefined && typeof clearEnv !== "boolean") {
    throw new TypeError(`${what}: option clearEnv must be a boolean, got ${describe(clearEnv)}`);
  }
  const limit = o.limit;
  if (limit !== undefined) {
    if (typeof limit !== "number") {
      throw new TypeError(
        `${what}: option limit must be a number of bytes, got ${describe(limit)}`,
      );
    }
    if (!Number.isInteger(limit) || limit <= 0) {
      throw new ValueError(
        `${what}: option limit must be a positive integer (bytes), got ${limit}`,
      );
    }
  }
  return {
    stdin,
    stdout,
    stderr,
    cwd: cwd as string | URL | undefined,
    env: env as Record<string, string> | undefined,
    clearEnv: clearEnv === true,
    limit: limit as number | undefined,
  };
}

// ---- signal names and numbers --------------------------------------------------

// Linux (x86, ARM, RISC-V: the generic numbering).
const LINUX_SIGNALS: readonly (readonly [Deno.Signal, number])[] = [
  ["SIGHUP", 1],
  ["SIGINT", 2],
  ["SIGQUIT", 3],
  ["SIGILL", 4],
  ["SIGTRAP", 5],
  ["SIGABRT", 6],
  ["SIGBUS", 7],
  ["SIGFPE", 8],
  ["SIGKILL", 9],
  ["SIGUSR1", 10],
  ["SIGSEGV", 11],
  ["SIGUSR2", 12],
  ["SIGPIPE", 13],
  ["SIGALRM", 14],
  ["SIGTERM", 15],
  ["SIGSTKFLT", 16],
  ["SIGCHLD", 17],
  ["SIGCONT", 18],
  ["SIGSTOP", 19],
  ["SIGTSTP", 20],
  ["SIGTTIN", 21],
  ["SIGTTOU", 22],
  ["SIGURG", 23],
  ["SIGXCPU", 24],
  ["SIGXFSZ", 25],
  ["SIGVTALRM", 26],
  ["SIGPROF", 27],
  ["SIGWINCH", 28],
  ["SIGIO", 29],
  ["SIGPOLL", 29],
  ["SIGPWR", 30],
  ["SIGSYS", 31],
  ["SIGUNUSED", 31],
];

// macOS and the BSDs.
const BSD_SIGNALS: readonly (readonly [Deno.Signal, number])[] = [
  ["SIGHUP", 1],
  ["SIGINT", 2],
  ["SIGQUIT", 3],
  ["SIGILL", 4],
  ["SIGTRAP", 5],
  ["SIGABRT", 6],
  ["SIGEMT", 7],
  ["SIGFPE", 8],
  ["SIGKILL", 9],
  ["SIGBUS", 10],
  ["SIGSEGV", 11],
  ["SIGSYS", 12],
  ["SIGPIPE", 13],
  ["SIGALRM", 14],
  ["SIGTERM", 15],
  ["SIGURG", 16],
  ["SIGSTOP", 17],
  ["SIGTSTP", 18],
  ["SIGCONT", 19],
  ["SIGCHLD", 20],
  ["SIGTTIN", 21],
  ["SIGTTOU", 22],
  ["SIGIO", 23],
  ["SIGXCPU", 24],
  ["SIGXFSZ", 25],
  ["SIGVTALRM", 26],
  ["SIGPROF", 27],
  ["SIGWINCH", 28],
  ["SIGINFO", 29],
  ["SIGUSR1", 30],
  ["SIGUSR2", 31],
];

// Windows has no signals; Deno's kill() ends the process for these two.
const WINDOWS_SIGNALS: readonly (readonly [Deno.Signal, number])[] = [
  ["SIGKILL", 9],
  ["SIGTERM", 15],
];

function signalTable(): readonly (readonly [Deno.Signal, number])[] {
  switch (Deno.build.os) {
    case "linux":
    case "android":
      return LINUX_SIGNALS;
    case "windows":
      return WINDOWS_SIGNALS;
    default:
      return BSD_SIGNALS;
  }
}

/** Signal name → number on this OS; built on first use (importing reads no Deno API). */
let SIGNAL_NUMBERS_: ReadonlyMap<string, number> | undefined;
function signalNumbers(): ReadonlyMap<string, number> {
  return SIGNAL_NUMBERS_ ??= new Map(signalTable());
}
/** Signal number → name on this OS (the first name listed for a number). */
let SIGNAL_NAMES_: ReadonlyMap<number, Deno.Signal> | undefined;
function signalNames(): ReadonlyMap<number, Deno.Signal> {
  return SIGNAL_NAMES_ ??= new Map([...signalTable()].reverse().map(([name, n]) => [n, name]));
}

/**
 * @internal The number of signal `name` on this OS, or `undefined` if this
 * OS has no such signal.
 */
export function signalNumber(name: string): number | undefined {
  return signalNumbers().get(name);
}

function checkSignal(sig: unknown): Deno.Signal {
  if (typeof sig === "string" && signalNumbers().has(sig)) return sig as Deno.Signal;
  if (typeof sig === "number") {
    const name = signalNames().get(sig);
    if (name !== undefined) return name;
  }
  throw new TypeError(
    `sendSignal(): unknown signal ${describe(sig)} on ${Deno.build.os}; expected a name such as ` +
      `"SIGTERM" or its number`,
  );
}

/** asyncio's returncode for a status: the exit code, or minus the signal's number. */
function returncodeOf(status: Deno.CommandStatus): number {
  if (status.signal === null) return status.code;
  const n = signalNumbers().get(status.signal) ?? status.code - 128;
  return -n;
}

// ---- Process -------------------------------------------------------------------

/**
 * A child process started by {@linkcode createSubprocessExec} or
 * {@linkcode createSubprocessShell} (asyncio's `asyncio.subprocess.Process`).
 * Its piped streams are `stdin` (a {@linkcode StreamWriter}), `stdout` and
 * `stderr` ({@linkcode StreamReader}s, read in the background with flow
 * control: reading from the pipe pauses while more than twice `limit` bytes
 * wait to be read); a stream that is not `PIPE` is `null`.
 *
 * `wait()` waits for the exit; `communicate()` writes input, closes stdin and
 * reads both outputs to the end at once, which never deadlocks however much
 * the child writes. `wait()` alone does not read the pipes: a child that
 * writes more than the pipe and the reader's buffer hold blocks until you
 * read, as in asyncio.
 *
 * Nothing outlives the loop: a child still running when its `run()` ends is
 * killed (and reported through the loop's exception handler), and its pipes
 * are closed. `using proc = …` kills it at the end of the scope instead.
 *
 * @example
 * ```ts
 * import { createSubprocessExec, PIPE, run } from "@aio/aio";
 * await run(function* () {
 *   const proc = yield* createSubprocessExec("tr", ["a-z", "A-Z"], { stdin: PIPE, stdout: PIPE });
 *   const [out] = yield* proc.communicate("shout\n");
 *   console.log(new TextDecoder().decode(out!), proc.returncode); // "SHOUT\n" 0
 * });
 * ```
 *
 * @category I/O
 */
export class Process implements Disposable, LoopResource {
  /**
   * The child's process id.
   *
   * @example
   * ```ts
   * import { createSubprocessExec, run } from "@aio/aio";
   * await run(function* () {
   *   const proc = yield* createSubprocessExec("true");
   *   console.log(proc.pid > 0); // true
   *   yield* proc.wait();
   * });
   * ```
   */
  readonly pid: number;
  /**
   * The child's stdin with `stdin: PIPE` (else `null`): `write()`,
   * `drain()`, and `close()` (or `writeEof()`) to let the child read EOF.
   * `drain()` throws `Deno.errors.BrokenPipe` once the child has closed it.
   *
   * @example
   * ```ts
   * import { createSubprocessExec, PIPE, run } from "@aio/aio";
   * await run(function* () {
   *   const proc = yield* createSubprocessExec("wc", ["-c"], { stdin: PIPE, stdout: PIPE });
   *   proc.stdin!.write("12345");
   *   yield* proc.stdin!.drain();
   *   proc.stdin!.close();
   *   console.log(new TextDecoder().decode(yield* proc.stdout!.read()).trim()); // "5"
   *   yield* proc.wait();
   * });
   * ```
   */
  readonly stdin: StreamWriter | null;
  /**
   * The child's stdout with `stdout: PIPE` (else `null`), with its stderr
   * too under `stderr: STDOUT`.
   *
   * @example
   * ```ts
   * import { createSubprocessExec, PIPE, run } from "@aio/aio";
   * await run(function* () {
   *   const proc = yield* createSubprocessExec("printf", ["a\\nb\\n"], { stdout: PIPE });
   *   for (const next of proc.stdout!.lines()) {
   *     const line = yield* next;
   *     if (line === null) break;
   *     console.log(new TextDecoder().decode(line).trimEnd()); // "a", then "b"
   *   }
   *   yield* proc.wait();
   * });
   * ```
   */
  readonly stdout: StreamReader | null;
  /**
   * The child's stderr with `stderr: PIPE` (else `null`).
   *
   * @example
   * ```ts
   * import { createSubprocessShell, PIPE, run } from "@aio/aio";
   * await run(function* () {
   *   const proc = yield* createSubprocessShell("echo oops >&2", { stderr: PIPE });
   *   console.log(new TextDecoder().decode(yield* proc.stderr!.read())); // "oops\n"
   *   yield* proc.wait();
   * });
   * ```
   */
  readonly stderr: StreamReader | null;

  /** @ignore */
  _loop: EventLoop;
  /** @ignore */
  _child: Deno.ChildProcess;
  /** @ignore The program (or shell command), for messages. */
  _program: string;
  /** @ignore */
  _returncode: number | null = null;
  /** @ignore The status arrived (see the header's states). */
  _exited = false;
  /** @ignore What `child.status` rejected with, if it did and no signal number could be read. */
  _statusError: unknown = undefined;
  /** @ignore Pending `wait()` futures. */
  _waiters: Future<number>[] = [];
  /** @ignore Deno still holds the stdin pipe. */
  _stdinHeld = false;
  /** @ignore Output pipe groups Deno still holds (stdout's reader; stderr's reader or pump). */
  _readersHeld = 0;
  /** @ignore Exited and every pipe released. */
  _finished = false;
  /** @ignore Who waits for a state (`_closeForLoop`): woken by `_stateChanged()`. */
  _stateWaiters: { until: () => boolean; resolve: () => void }[] = [];
  /** @ignore `[Symbol.dispose]()` ran (it killed the child if it was running). */
  _disposed = false;
  /** @ignore */
  _stdinSink: PipeWriteSink | null = null;
  /** @ignore */
  _readers: (PipeReadTransport | StdoutPump)[] = [];

  /** @ignore Made by createSubprocessExec and createSubprocessShell. */
  constructor(
    loop: EventLoop,
    child: Deno.ChildProcess,
    program: string,
    options: SpawnOptions,
  ) {
    this._loop = loop;
    this._child = child;
    this._program = program;
    this.pid = child.pid;
    loop._resources.add(this);
    loop._beginExternal();
    child.status.then((s) => this._onExit(s, undefined), (e) => this._onExit(null, e));

    const released = () => {
      this._readersHeld--;
      this._stateChanged();
    };
    const limit = options.limit;
    let stdin: StreamWriter | null = null;
    let stdout: StreamReader | null = null;
    let stderr: StreamReader | null = null;
    const merge = options.stderr === STDOUT;
    if (options.stdin === PIPE) {
      this._stdinHeld = true;
      this._stdinSink = new PipeWriteSink(child.stdin, () => {
        this._stdinHeld = false;
        this._stateChanged();
      });
      stdin = new StreamWriter(this._stdinSink, null, loop);
    }
    if (options.stdout === PIPE) {
      this._readersHeld++;
      stdout = new StreamReader({ limit });
      const streams = merge ? [child.stdout, child.stderr] : [child.stdout];
      this._readers.push(new PipeReadTransport(loop, streams, stdout, released));
    }
    if (options.stderr === PIPE) {
      this._readersHeld++;
      stderr = new StreamReader({ limit });
      this._readers.push(new PipeReadTransport(loop, [child.stderr], stderr, released));
    } else if (merge && options.stdout === "inherit") {
      this._readersHeld++;
      this._readers.push(new StdoutPump(loop, child.stderr, released));
    }
    this.stdin = stdin;
    this.stdout = stdout;
    this.stderr = stderr;
  }

  /**
   * The exit code once the child has exited, `-N` if signal N ended it (as
   * asyncio), `null` while it runs.
   *
   * @example
   * ```ts
   * import { createSubprocessExec, run } from "@aio/aio";
   * await run(function* () {
   *   const proc = yield* createSubprocessExec("sleep", ["30"]);
   *   console.log(proc.returncode); // null
   *   proc.kill();
   *   yield* proc.wait();
   *   console.log(proc.returncode); // -9
   * });
   * ```
   */
  get returncode(): number | null {
    return this._returncode;
  }

  /**
   * Waits until the child exits and evaluates to its `returncode`. Any
   * number of tasks may wait; cancelling a wait leaves the child running
   * (wait again later). It does not read the pipes: a child writing more
   * than they hold waits for a reader (use `communicate()`).
   *
   * Unlike asyncio 3.12 and 3.13, whose `wait()` also waits until the
   * child's pipes are closed (python/cpython#119710), this returns when the
   * child exits, as `subprocess.Popen.wait()` does: a grandchild holding a
   * pipe open, or output nobody reads, cannot keep it waiting.
   *
   * @example
   * ```ts
   * import { createSubprocessShell, run } from "@aio/aio";
   * await run(function* () {
   *   const proc = yield* createSubprocessShell("exit 7");
   *   console.log(yield* proc.wait()); // 7
   * });
   * ```
   */
  *wait(): Coroutine<number> {
    if (this._exited) {
      if (this._returncode !== null) return this._returncode;
      throw this._statusError;
    }
    const fut = this._loop.createFuture<number>();
    this._waiters.push(fut);
    try {
      return yield* fut;
    } finally {
      const i = this._waiters.indexOf(fut);
      if (i >= 0) this._waiters.splice(i, 1);
    }
  }

  /**
   * Interacts with the child: writes `input` (a string is sent as UTF-8) to
   * its stdin and closes it, reads its stdout and stderr to the end at the
   * same time (so a child that writes a lot to both never blocks), waits for
   * it to exit, and evaluates to `[stdout, stderr]`: the bytes read, or
   * `null` for a stream that is not `PIPE`. A child that closes its stdin
   * early is no error (`BrokenPipe` while writing is ignored, as asyncio);
   * one killed midway gives what it wrote before, and a negative
   * `returncode`.
   *
   * Cancelling it leaves the child running and loses no output: what was
   * read stays in the readers for the next `communicate()` or read. Input
   * without `stdin: PIPE` is a `ValueError` (asyncio drops it silently; the
   * child would never see it); input that is not a string or bytes is a
   * `TypeError`.
   *
   * @example
   * ```ts
   * import { createSubprocessExec, PIPE, run } from "@aio/aio";
   * await run(function* () {
   *   const proc = yield* createSubprocessExec("sort", [], { stdin: PIPE, stdout: PIPE });
   *   const [out, err] = yield* proc.communicate("b\na\n");
   *   console.log(new TextDecoder().decode(out!), err, proc.returncode); // "a\nb\n" null 0
   * });
   * ```
   */
  *communicate(
    input?: Uint8Array | string | null,
  ): Coroutine<[Uint8Array | null, Uint8Array | null]> {
    if (input !== undefined && input !== null) {
      if (typeof input !== "string" && !(input instanceof Uint8Array)) {
        throw new TypeError(
          `communicate() expects input as a Uint8Array or a string, got ${describe(input)}`,
        );
      }
      if (this.stdin === null) {
        throw new ValueError(
          "communicate(input): the process has no stdin pipe; create it with stdin: PIPE",
        );
      }
    }
    const { stdin, stdout, stderr } = this;
    let out: Uint8Array | null = null;
    let err: Uint8Array | null = null;
    const jobs = (stdin !== null ? 1 : 0) + (stdout !== null ? 1 : 0) + (stderr !== null ? 1 : 0);
    if (jobs > 1) {
      // Each in its own task, so that no pipe waits on another (asyncio's gather).
      const [, o, e] = yield* gather([
        stdin !== null ? feedStdin(stdin, input) : nothing(),
        stdout !== null ? stdout.read() : nothing(),
        stderr !== null ? stderr.read() : nothing(),
      ]);
      out = o;
      err = e;
    } else if (stdin !== null) {
      yield* feedStdin(stdin, input);
    } else if (stdout !== null) {
      out = yield* stdout.read(); // one pipe: no task needed
    } else if (stderr !== null) {
      err = yield* stderr.read();
    }
    yield* this.wait();
    return [out, err];
  }

  /**
   * Sends signal `sig` (a name such as `"SIGHUP"`, or its number on this
   * OS) to the child. Once the child has exited it does nothing, as asyncio;
   * once the Process is also done with its pipes (after `communicate()`,
   * say) it throws `Deno.errors.NotFound`, what Deno throws for a process
   * that does not exist (asyncio's ProcessLookupError). An unknown signal
   * is a `TypeError`.
   *
   * @example
   * ```ts
   * import { createSubprocessExec, run } from "@aio/aio";
   * await run(function* () {
   *   const proc = yield* createSubprocessExec("sleep", ["30"]);
   *   proc.sendSignal("SIGHUP");
   *   console.log(yield* proc.wait()); // -1
   * });
   * ```
   */
  sendSignal(sig: Deno.Signal | number): void {
    const name = checkSignal(sig);
    if (this._finished) {
      throw new Deno.errors.NotFound(
        `process ${this.pid} has exited and its pipes are closed: there is nothing to signal`,
      );
    }
    if (this._exited) return;
    try {
      this._child.kill(name);
    } catch (e) {
      // Deno reaped it and the status is on its way to us: it has exited.
      if (e instanceof TypeError && /terminated/i.test(e.message)) return;
      throw e;
    }
  }

  /**
   * Sends SIGTERM: asks the child to end (it may clean up first, or ignore
   * it). As `sendSignal("SIGTERM")`.
   *
   * @example
   * ```ts
   * import { createSubprocessExec, run } from "@aio/aio";
   * await run(function* () {
   *   const proc = yield* createSubprocessExec("sleep", ["30"]);
   *   proc.terminate();
   *   console.log(yield* proc.wait()); // -15
   * });
   * ```
   */
  terminate(): void {
    this.sendSignal("SIGTERM");
  }

  /**
   * Sends SIGKILL: ends the child at once. As `sendSignal("SIGKILL")`.
   *
   * @example
   * ```ts
   * import { createSubprocessExec, run } from "@aio/aio";
   * await run(function* () {
   *   const proc = yield* createSubprocessExec("sleep", ["30"]);
   *   proc.kill();
   *   console.log(yield* proc.wait()); // -9
   * });
   * ```
   */
  kill(): void {
    this.sendSignal("SIGKILL");
  }

  /**
   * `using proc = …`: at the end of the scope, kills the child if it is
   * still running (SIGKILL) and closes its pipes (what the readers hold
   * stays readable). Never throws; the loop reaps the child.
   *
   * @example
   * ```ts
   * import { createSubprocessExec, run } from "@aio/aio";
   * await run(function* () {
   *   using proc = yield* createSubprocessExec("sleep", ["30"]);
   *   console.log(proc.returncode); // null: killed when the block ends
   * });
   * ```
   */
  [Symbol.dispose](): void {
    if (this._disposed) return;
    this._disposed = true;
    this._killQuietly();
    this._closePipes();
  }

  /**
   * `<Process 1234 running>`, or with its `returncode` once it exited.
   *
   * @example
   * ```ts
   * import { createSubprocessShell, run } from "@aio/aio";
   * await run(function* () {
   *   const proc = yield* createSubprocessShell("exit 3");
   *   yield* proc.wait();
   *   console.log(String(proc).endsWith("returncode=3>")); // true
   * });
   * ```
   */
  toString(): string {
    const state = this._returncode !== null
      ? `returncode=${this._returncode}`
      : this._exited
      ? "exited"
      : "running";
    return `<Process ${this.pid} ${state}>`;
  }

  /** @ignore */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  // ---- internals ---------------------------------------------------------------

  /** @ignore The status arrived (or `child.status` rejected). */
  _onExit(status: Deno.CommandStatus | null, error: unknown): void {
    this._loop._endExternal();
    this._exited = true;
    if (status !== null) this._returncode = returncodeOf(status);
    else {
      // A signal Deno has no name for: "Invalid signal: 34".
      const m = /signal:?\s*(\d+)/i.exec(String((error as Error)?.message ?? error));
      if (m !== null) this._returncode = -Number(m[1]);
      else this._statusError = error;
    }
    const waiters = this._waiters;
    this._waiters = [];
    if (!this._loop.isClosed()) {
      for (const w of waiters) {
        if (w.done()) continue;
        if (this._returncode !== null) w.setResult(this._returncode);
        else w.setException(this._statusError);
      }
    }
    this._stateChanged();
  }

  /** @ignore The child exited or a pipe was released: maybe finished; wake who waits. */
  _stateChanged(): void {
    if (!this._finished && this._exited && !this._stdinHeld && this._readersHeld === 0) {
      this._finished = true;
      this._loop._resources.delete(this);
    }
    const waiters = this._stateWaiters;
    if (waiters.length === 0) return;
    this._stateWaiters = waiters.filter((w) => !w.until());
    for (const w of waiters) if (w.until()) w.resolve();
  }

  /** @ignore Resolves once `until()` holds (checked at each state change). */
  _when(until: () => boolean): Promise<void> {
    if (until()) return Promise.resolve();
    return new Promise((resolve) => this._stateWaiters.push({ until, resolve }));
  }

  /** @ignore SIGKILL unless it has exited; never throws. */
  _killQuietly(): void {
    if (this._exited) return;
    try {
      this._child.kill("SIGKILL");
    } catch {
      // Exited under us: nothing to kill.
    }
  }

  /** @ignore Closes every pipe now: stdin dropping what is buffered, the readers keeping theirs. */
  _closePipes(): void {
    this.stdin?._abort();
    for (const r of this._readers) void r.close();
  }

  /**
   * @ignore The loop is closing: a child still running is killed (and
   * reported), every pipe closed; resolves once the child is reaped and its
   * pipes released. Never rejects.
   */
  async _closeForLoop(): Promise<void> {
    if (!this._exited && !this._disposed) {
      this._killQuietly();
      this._loop.callExceptionHandler({
        message:
          `child process still running when the loop closed: pid ${this.pid} (${this._program}) ` +
          "was killed",
        process: this,
      });
    }
    this._disposed = true;
    this._closePipes();
    await this._when(() => this._exited && this._readersHeld === 0);
    // stdin: closing it waits for a write in flight. Once the child is gone
    // that write fails at once (EPIPE: Deno delivers it within a host turn
    // of the exit status, measured), unless a grandchild holds the pipe
    // and does not read: then it may never land, and the loop must not wait
    // for it. Deno offers no way to close the pipe under the write.
    for (let turn = 0; turn < STDIN_CLOSE_TURNS && this._stdinHeld; turn++) {
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    if (this._stdinHeld) {
      this._stdinHeld = false; // given up: the grandchild has it
      this._stateChanged();
    }
  }
}

/** Host turns `_closeForLoop` gives a reaped child's stdin to close (see there). */
const STDIN_CLOSE_TURNS = 10;

/** `communicate()`'s stdin part: write, drain (a closed pipe is no error), close. */
function* feedStdin(stdin: StreamWriter, input: Uint8Array | string | null | undefined) {
  if (input !== undefined && input !== null) stdin.write(input);
  try {
    yield* stdin.drain();
  } catch (e) {
    // asyncio's communicate() ignores BrokenPipeError and ConnectionResetError.
    if (!(e instanceof Deno.errors.BrokenPipe || e instanceof Deno.errors.ConnectionReset)) {
      throw e;
    }
  }
  stdin.close();
}

function* nothing(): Coroutine<null> {
  return null;
}

// ---- creating processes ----------------------------------------------------------

function spawn(
  loop: EventLoop,
  command: string | URL,
  args: string[],
  options: SpawnOptions,
  label: string,
): Process {
  const { stdout, stderr } = options;
  // stderr: STDOUT (see the header): piped and delivered where stdout goes.
  const stderrMode = stderr !== STDOUT ? stderr : stdout === DEVNULL ? DEVNULL : PIPE;
  const child = new Deno.Command(command, {
    args,
    cwd: options.cwd,
    env: options.env,
    clearEnv: options.clearEnv,
    stdin: options.stdin,
    stdout,
    stderr: stderrMode,
  }).spawn();
  return new Process(loop, child, label, options);
}

/**
 * Starts `program` with `args` (no shell: the arguments reach it as they
 * are) and evaluates to its {@linkcode Process}
 * (`asyncio.create_subprocess_exec`). `program` is found on `PATH` unless it
 * is a path. `stdin`, `stdout` and `stderr` are each {@linkcode PIPE},
 * {@linkcode DEVNULL} or `"inherit"` (the default); `stderr` may also be
 * {@linkcode STDOUT}. `env` adds to this process's environment (all of it,
 * with `clearEnv`); `limit` is the readers' buffer limit.
 *
 * The child runs from this call on; nothing of it outlives the loop (see
 * {@linkcode Process}). Needs `--allow-run`. A program that does not exist
 * throws `Deno.errors.NotFound`, one that is not executable
 * `Deno.errors.PermissionDenied`, and without permission Deno's
 * `Deno.errors.NotCapable`, all in the calling task. A bad argument or
 * option is a `TypeError` naming it (`limit` that is not a positive integer:
 * `ValueError`).
 *
 * @example
 * ```ts
 * import { createSubprocessExec, PIPE, run } from "@aio/aio";
 * await run(function* () {
 *   const proc = yield* createSubprocessExec("ls", ["-1", "/"], { stdout: PIPE });
 *   const [out] = yield* proc.communicate();
 *   console.log(new TextDecoder().decode(out!).split("\n").includes("tmp")); // true
 *   console.log(proc.returncode); // 0
 * });
 * ```
 *
 * @category I/O
 */
export function* createSubprocessExec(
  program: string | URL,
  args: readonly string[] = [],
  options: SubprocessOptions = {},
): Coroutine<Process> {
  const what = "createSubprocessExec()";
  requireDeno(what);
  const loop = streamLoop(what);
  if (!(program instanceof URL) && (typeof program !== "string" || program === "")) {
    throw new TypeError(
      `${what} expects the program as a non-empty string or a file URL, got ${describe(program)}` +
        (Array.isArray(program) ? ": pass the program, then its arguments as an array" : ""),
    );
  }
  if (!Array.isArray(args)) {
    throw new TypeError(
      `${what} expects the arguments as an array of strings, got ${describe(args)}`,
    );
  }
  for (let i = 0; i < args.length; i++) {
    if (typeof args[i] !== "string") {
      throw new TypeError(`${what}: argument ${i} must be a string, got ${describe(args[i])}`);
    }
  }
  const opts = checkOptions(what, options);
  const label = program instanceof URL ? program.href : program;
  return spawn(loop, program, [...args], opts, label);
}

/**
 * Runs `command` with the system shell (`/bin/sh -c command`; `cmd.exe` on
 * Windows) and evaluates to its {@linkcode Process}
 * (`asyncio.create_subprocess_shell`). Options as
 * {@linkcode createSubprocessExec}; with `stderr: STDOUT` the shell itself
 * points stderr at stdout before the command runs, so the two are merged
 * exactly. `returncode` is the shell's (that of the command it ran last).
 * Quote what you interpolate: the shell interprets the whole string. A
 * command that is not a string is a `TypeError`.
 *
 * @example
 * ```ts
 * import { createSubprocessShell, PIPE, run } from "@aio/aio";
 * await run(function* () {
 *   const proc = yield* createSubprocessShell("printf '%s\\n' one two | wc -l", { stdout: PIPE });
 *   const [out] = yield* proc.communicate();
 *   console.log(new TextDecoder().decode(out!).trim()); // "2"
 * });
 * ```
 *
 * @category I/O
 */
export function* createSubprocessShell(
  command: string,
  options: SubprocessOptions = {},
): Coroutine<Process> {
  const what = "createSubprocessShell()";
  requireDeno(what);
  const loop = streamLoop(what);
  if (typeof command !== "string") {
    throw new TypeError(
      `${what} expects the command as a string, got ${describe(command)}` +
        (Array.isArray(command)
          ? ": use createSubprocessExec for a program and its arguments"
          : ""),
    );
  }
  const opts = checkOptions(what, options);
  if (Deno.build.os === "windows") {
    return spawn(loop, "cmd.exe", ["/d", "/s", "/c", command], opts, command);
  }
  // stderr: STDOUT: the shell redirects its own stderr first (see the header).
  const script = opts.stderr === STDOUT ? `exec 2>&1; ${command}` : command;
  return spawn(loop, "/bin/sh", ["-c", script], opts, command);
}
