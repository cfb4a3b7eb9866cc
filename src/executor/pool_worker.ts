// The pool's handle on one worker: it spawns the worker, sends it batches of
// jobs, receives its replies, and holds the slot table the replies are
// matched against. It decides nothing: job states belong to job.ts, which
// alone calls `hold` and `release`; the timers belong to dispatch.ts (idle)
// and failure.ts (grace, initializer).
//
// Every message the worker's entry sends carries `k`, a random key the pool
// gave it in M_INIT and that the entry keeps in a module variable: a job can
// call `self.postMessage` (the entry intercepts that too, and reports it),
// but it cannot produce a message with the key, so it cannot speak the
// protocol (forge a result, or crash the parent with a malformed message).
// A message without the key, or malformed, is the worker's fault: before the
// worker is ready that is its initializer's doing, later a job's. One channel
// keeps the order: nothing a job posts can overtake the worker's M_READY.

import type { FnDef, FromWorker, ToWorker } from "./protocol.ts";
import {
  J_CHUNK,
  M_CANCEL,
  M_INIT,
  M_JOBS,
  M_WITHDRAW,
  RING,
  S_CANCELLED,
  S_QUEUED,
  S_RUNNING,
  S_STOP,
  SEQ_WRAP,
} from "./protocol.ts";
import type { JobFuture } from "./job.ts";
import { canShareMemory, defaultWorkerUrl, startWorker, type WorkerHandle } from "./spawn.ts";

/** What a worker handle reports to its pool. */
export interface WorkerOwner {
  /** A well-formed protocol message. Throwing from here counts as the worker's fault. */
  _onMessage(w: PoolWorker, m: FromWorker): void;
  /** The worker died, failed to start, or broke the protocol. */
  _onWorkerError(w: PoolWorker, message: string, cause?: unknown): void;
}

/** Options of one worker. */
export interface WorkerSetup {
  name: string;
  init: FnDef | null;
  initArgs: unknown[];
  /** Heap limit of the worker's isolate (MB), or 0 for the runtime's default. */
  maxHeapMb: number;
  /** The worker entry module, when not the one beside this file (a bundle). */
  workerUrl: URL | null;
}

let workerCounter = 0;

/** One worker of a pool. */
export class PoolWorker {
  readonly id: number = ++workerCounter;
  /** A Web Worker or a node:worker_threads Worker (spawn.ts). */
  readonly worker: WorkerHandle;
  /** The key the worker's messages carry (see the header). */
  readonly #key: number = crypto.getRandomValues(new Uint32Array(1))[0] + 1;
  /**
   * One state word per job slot (see protocol.ts), shared with the worker;
   * where memory cannot be shared (`shared` false), the pool's own copy,
   * which decides nothing: `withdraw` is then always false.
   */
  readonly slots: Int32Array;
  readonly shared: boolean;
  /** Jobs sent and not released, by `seq % RING`; written by `hold` and `release` only. */
  readonly jobs: (JobFuture<unknown> | undefined)[] = new Array(RING).fill(undefined);
  /** How many entries of `jobs` are in use. */
  inflight = 0;
  /** How many of them are ABANDONED (job.ts counts them). */
  abandoned = 0;
  /** Function ids this worker has been sent. */
  readonly defined: Set<number> = new Set();
  /** The worker said it is ready: its initializer (if any) has run. */
  ready = false;
  dead = false;
  /** No new jobs: it runs an abandoned job, or is about to be terminated (dispatch.ts). */
  draining = false;
  /** dispatch.ts: stops the worker once it has been idle long enough. */
  idleTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** failure.ts: terminates the worker if an abandoned job does not stop. */
  graceTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** failure.ts: breaks the pool if the initializer does not finish in time. */
  initTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** Sequence number of the next job sent. */
  seq = 0;

  constructor(owner: WorkerOwner, setup: WorkerSetup) {
    this.shared = canShareMemory();
    const sab = this.shared ? new SharedArrayBuffer(RING * 4) : null;
    this.slots = sab !== null ? new Int32Array(sab) : new Int32Array(RING);
    // No job has this slot value: the worker claims nothing by accident.
    this.slots.fill(-1);
    const url = setup.workerUrl ?? defaultWorkerUrl();
    const onMessage = (m: FromWorker) => {
      if (this.dead) return;
      if (typeof m !== "object" || m === null || m.k !== this.#key) {
        owner._onWorkerError(
          this,
          "a job posted a message to the pool (self.postMessage): jobs must return their results",
        );
        return;
      }
      try {
        owner._onMessage(this, m);
      } catch (err) {
        owner._onWorkerError(this, "it sent the pool a message that could not be read", err);
      }
    };
    this.worker = startWorker(url, `${setup.name}-${this.id}`, setup.maxHeapMb, {
      message: onMessage,
      messageerror: () => {
        if (!this.dead) {
          owner._onWorkerError(this, "a message from the worker could not be deserialized");
        }
      },
      failed: (message, cause) => {
        if (!this.dead) owner._onWorkerError(this, message, cause);
      },
    });
    const msg: ToWorker = {
      t: M_INIT,
      k: this.#key,
      slots: sab,
      init: setup.init,
      initArgs: setup.initArgs,
      maxHeapMb: setup.maxHeapMb,
    };
    this.worker.postMessage(msg);
  }

  /** Gives `job` the next sequence number and its slot; returns the sequence number. */
  hold(job: JobFuture<unknown>): number {
    const seq = this.seq;
    this.seq = seq + 1 === SEQ_WRAP ? 0 : seq + 1;
    const slot = seq & (RING - 1);
    Atomics.store(this.slots, slot, seq * 4 + S_QUEUED);
    this.jobs[slot] = job;
    this.inflight++;
    return seq;
  }

  /** Frees the slot of `job`. */
  release(job: JobFuture<unknown>): void {
    const slot = job._seq & (RING - 1);
    if (this.jobs[slot] === job) {
      this.jobs[slot] = undefined;
      this.inflight--;
    }
  }

  /** The job in the slot of `seq`, if `seq` is still its sequence number. */
  jobAt(seq: number): JobFuture<unknown> | undefined {
    const job = this.jobs[seq & (RING - 1)];
    return job !== undefined && job._seq === seq ? job : undefined;
  }

  /**
   * Marks a job the worker has not started as never to run; false if the
   * worker started it first.
   */
  withdraw(job: JobFuture<unknown>): boolean {
    // Without shared memory only the worker knows; it answers a cancelled
    // job that it had not started R_CANCELLED (see worker.ts, `cancel`).
    if (!this.shared) return false;
    const base = job._seq * 4;
    return Atomics.compareExchange(
      this.slots,
      job._seq & (RING - 1),
      base + S_QUEUED,
      base + S_CANCELLED,
    ) === base;
  }

  /**
   * Posts `batch` (jobs just given consecutive slots by `hold`) in one
   * message, with the definitions of functions this worker has not seen.
   * Returns the jobs whose arguments could not be sent, with the error, so
   * that only they fail: after a failed batch, jobs are sent one by one.
   */
  send(batch: JobFuture<unknown>[], defOf: (id: number) => FnDef): [JobFuture<unknown>, unknown][] {
    let defs: FnDef[] | null = null;
    // Consecutive seqs from the first job's; runs of jobs sharing fnId,
    // flags and argc (see protocol.ts): no per-job header for like jobs.
    const flat: unknown[] = [batch[0]._seq];
    let xfer: Transferable[] | null = null;
    let runFn = -1;
    let runFlags = -1;
    let runArgc = -1;
    let countAt = 0;
    for (let i = 0; i < batch.length; i++) {
      const job = batch[i];
      const spec = job._spec;
      const fnId = spec.fnId;
      const flags = spec.flags;
      const args = job._args;
      const chunk = (flags & J_CHUNK) !== 0;
      const argc = chunk ? 1 : args.length;
      if (fnId !== runFn || flags !== runFlags || argc !== runArgc) {
        if (fnId !== runFn && !this.defined.has(fnId)) {
          this.defined.add(fnId);
          (defs ??= []).push(defOf(fnId));
        }
        runFn = fnId;
        runFlags = flags;
        runArgc = argc;
        countAt = flat.length + 3;
        flat.push(fnId, flags, argc, 0);
      }
      flat[countAt] = (flat[countAt] as number) + 1;
      if (chunk) flat.push(args);
      else if (argc === 1) flat.push(args[0]);
      else for (let k = 0; k < argc; k++) flat.push(args[k]);
      const more = job._more;
      if (more !== null && more.xfer !== null) (xfer ??= []).push(...more.xfer);
    }
    try {
      this.worker.postMessage({ t: M_JOBS, defs, jobs: flat } as ToWorker, xfer ?? []);
      return NONE_FAILED;
    } catch {
      return this._sendOneByOne(batch, defs);
    }
  }

  /** @internal Nothing of the batch arrived: the same jobs, one message each. */
  _sendOneByOne(
    batch: JobFuture<unknown>[],
    defs: FnDef[] | null,
  ): [JobFuture<unknown>, unknown][] {
    const failed: [JobFuture<unknown>, unknown][] = [];
    if (defs !== null) this.worker.postMessage({ t: M_JOBS, defs, jobs: [] } as ToWorker);
    for (const job of batch) {
      try {
        this.worker.postMessage(
          { t: M_JOBS, defs: null, jobs: encodeOne(job) } as ToWorker,
          job._more?.xfer ?? [],
        );
      } catch (e) {
        // The worker never sees this seq: its slot word stays unclaimed.
        failed.push([job, e]);
      }
    }
    return failed;
  }

  /**
   * Asks a running job to stop: flags its slot, which the job can read while
   * it blocks the thread, and sends the message that aborts its signal.
   */
  requestStop(job: JobFuture<unknown>): void {
    const base = job._seq * 4;
    Atomics.compareExchange(this.slots, job._seq & (RING - 1), base + S_RUNNING, base + S_STOP);
    if (!this.dead) this.worker.postMessage({ t: M_CANCEL, seqs: [job._seq] } as ToWorker);
  }

  /**
   * Without shared memory: asks the worker not to start `jobs` (it answers
   * R_CANCELLED for those it had not started; the others run on).
   */
  withdrawLater(jobs: JobFuture<unknown>[]): void {
    if (!this.dead && jobs.length > 0) {
      this.worker.postMessage({ t: M_WITHDRAW, seqs: jobs.map((j) => j._seq) } as ToWorker);
    }
  }

  /** Stops the worker now and clears its timers. Idempotent. */
  terminate(): void {
    if (this.dead) return;
    this.dead = true;
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    if (this.graceTimer !== undefined) clearTimeout(this.graceTimer);
    if (this.initTimer !== undefined) clearTimeout(this.initTimer);
    this.idleTimer = this.graceTimer = this.initTimer = undefined;
    this.worker.terminate();
  }
}

const NONE_FAILED: [JobFuture<unknown>, unknown][] = [];

/** One job in the layout of `ToWorker.jobs`. */
function encodeOne(job: JobFuture<unknown>): unknown[] {
  const args = job._args;
  const { fnId, flags } = job._spec;
  if (flags & J_CHUNK) return [job._seq, fnId, flags, 1, 1, args];
  return [job._seq, fnId, flags, args.length, 1, ...args];
}
