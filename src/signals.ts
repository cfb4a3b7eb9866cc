/**
 * Signal handlers on an event loop: asyncio's `loop.add_signal_handler()` and
 * `loop.remove_signal_handler()`, built on `Deno.addSignalListener`. The
 * `EventLoop` methods of the same names delegate here.
 *
 * Each loop that ever had a handler owns one {@linkcode LoopSignals}: one
 * entry per signal (asyncio's one handler per signal per loop; a new add
 * replaces the old) holding the Deno listener that schedules the callback.
 * While it has an entry the registry is in the loop's resource set, so
 * closing the loop removes every listener; it is also what keeps the process
 * alive while a handler waits (see `keepAlive`).
 *
 * A delivered signal schedules the callback with `callSoon`, in the context
 * captured when the handler was added: it runs in a loop iteration, an
 * exception it throws goes to the exception handler, and scheduling it wakes
 * an idle driver. A handler is not an operation in flight: the virtual clock
 * jumps past a loop that only waits for signals, as it does for any timer.
 *
 * @module
 */
import { captureData, type ContextData, enterData, swapContext } from "./context.ts";
import type { EventLoop } from "./loop.ts";
import { describe, isCoroutine } from "./util.ts";
import { requireDeno } from "./_runtime.ts";

/** Every name of `Deno.Signal`; the OS decides which of them can be caught. */
const SIGNALS: ReadonlySet<string> = new Set<Deno.Signal>([
  "SIGABRT",
  "SIGALRM",
  "SIGBREAK",
  "SIGBUS",
  "SIGCHLD",
  "SIGCONT",
  "SIGEMT",
  "SIGFPE",
  "SIGHUP",
  "SIGILL",
  "SIGINFO",
  "SIGINT",
  "SIGIO",
  "SIGPOLL",
  "SIGUNUSED",
  "SIGKILL",
  "SIGPIPE",
  "SIGPROF",
  "SIGPWR",
  "SIGQUIT",
  "SIGSEGV",
  "SIGSTKFLT",
  "SIGSTOP",
  "SIGSYS",
  "SIGTERM",
  "SIGTRAP",
  "SIGTSTP",
  "SIGTTIN",
  "SIGTTOU",
  "SIGURG",
  "SIGUSR1",
  "SIGUSR2",
  "SIGVTALRM",
  "SIGWINCH",
  "SIGXCPU",
  "SIGXFSZ",
]);

// Longest delay a host timer takes (about 24.8 days).
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The signal handlers of one loop; a loop resource while it has any. */
class LoopSignals {
  readonly loop: EventLoop;
  /** The Deno listener installed for each signal that has a handler. */
  readonly listeners: Map<Deno.Signal, () => void> = new Map();
  /**
   * Deno's signal listeners do not keep the process alive, but a loop
   * waiting for a signal must not end the program (asyncio's loop waits for
   * it too): a host timer that never fires holds the process while any
   * handler is registered, as an open server would.
   */
  keepAlive: ReturnType<typeof setInterval> | undefined = undefined;

  constructor(loop: EventLoop) {
    this.loop = loop;
  }

  add(sig: Deno.Signal, listener: () => void): void {
    // Deno validates the name for this OS and refuses SIGKILL and SIGSTOP;
    // on failure the old handler, if any, stays.
    Deno.addSignalListener(sig, listener);
    const old = this.listeners.get(sig);
    if (old !== undefined) Deno.removeSignalListener(sig, old);
    this.listeners.set(sig, listener);
    if (this.keepAlive === undefined) {
      this.keepAlive = setInterval(() => {}, MAX_TIMER_MS);
      this.loop._resources.add(this);
    }
  }

  remove(sig: Deno.Signal): boolean {
    const listener = this.listeners.get(sig);
    if (listener === undefined) return false;
    this.listeners.delete(sig);
    Deno.removeSignalListener(sig, listener);
    if (this.listeners.size === 0) this.release();
    return true;
  }

  release(): void {
    if (this.keepAlive !== undefined) {
      clearInterval(this.keepAlive);
      this.keepAlive = undefined;
    }
    this.loop._resources.delete(this);
  }

  /** The loop is closing: every listener goes. */
  _closeForLoop(): void {
    for (const [sig, listener] of this.listeners) Deno.removeSignalListener(sig, listener);
    this.listeners.clear();
    this.release();
  }
}

const registries = new WeakMap<EventLoop, LoopSignals>();

function checkSignal(sig: unknown, what: string): asserts sig is Deno.Signal {
  if (typeof sig !== "string" || !SIGNALS.has(sig)) {
    throw new TypeError(
      `${what}: unknown signal ${describe(sig)}; expected a Deno.Signal name such as "SIGINT"`,
    );
  }
}

function checkHandler(cb: unknown): void {
  const kind = typeof cb === "function"
    ? (cb as { constructor?: { name?: string } }).constructor?.name
    : undefined;
  if (
    isCoroutine(cb) || kind === "GeneratorFunction" || kind === "AsyncFunction" ||
    kind === "AsyncGeneratorFunction"
  ) {
    throw new TypeError(
      `coroutines cannot be used with addSignalHandler(), got ${
        describe(cb)
      }: pass a plain function, which may start a task with createTask()`,
    );
  }
  if (typeof cb !== "function") {
    throw new TypeError(`addSignalHandler() expects a function, got ${describe(cb)}`);
  }
}

/** @internal `EventLoop.addSignalHandler`. */
export function addSignalHandler(
  loop: EventLoop,
  sig: Deno.Signal,
  cb: (...args: unknown[]) => void,
  args: unknown[],
): void {
  requireDeno("addSignalHandler()");
  checkHandler(cb);
  checkSignal(sig, "addSignalHandler()");
  loop._checkClosed();
  let reg = registries.get(loop);
  if (reg === undefined) registries.set(loop, reg = new LoopSignals(loop));
  const data: ContextData = captureData();
  reg.add(sig, () => {
    // Deno calls listeners outside any loop iteration; close() removes this
    // one, so the loop is open here.
    const prev = enterData(data);
    try {
      loop.callSoon(cb, ...args);
    } finally {
      swapContext(prev);
    }
  });
}

/** @internal `EventLoop.removeSignalHandler`. */
export function removeSignalHandler(loop: EventLoop, sig: Deno.Signal): boolean {
  checkSignal(sig, "removeSignalHandler()");
  return registries.get(loop)?.remove(sig) ?? false;
}

/** @internal Whether `loop` has a handler for `sig` (`run()` defers SIGINT to one). */
export function hasSignalHandler(loop: EventLoop, sig: Deno.Signal): boolean {
  return registries.get(loop)?.listeners.has(sig) ?? false;
}
