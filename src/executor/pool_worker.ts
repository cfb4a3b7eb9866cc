// The pool's handle on one worker: spawning it, sending batches of jobs,
// and the per-worker job table the replies are matched against.

import type { FnDef, FromWorker, ToWorker } from "./protocol.ts";
import {
  J_CHUNK,
  M_CANCEL,
  M_INIT,
  M_JOBS,
  RING,
  S_CANCELLED,
  S_QUEUED,
  S_RUNNING,
  S_STOP,
  SEQ_WRAP,
} from "./protocol.ts";
import { JOB_SENT, type JobFuture } from "./job_future.ts";

/** What a worker handle reports to its pool. */
export interface WorkerOwner {
  _onMessage(w: PoolWorker, m: FromWorker): void;
  _onWorkerError(w: PoolWorker, message: string): void;
  /** A job could not be sent (its arguments do not clone). */
  _onSendFailed(job: JobFuture<unknown>, error: unknown): void;
}

const WORKER_URL = new URL("./worker.ts", import.meta.url);

let workerCounter = 0;

/** One worker of a pool. */
export class PoolWorker {
  readonly id: number = ++workerCounter;
  readonly worker: Worker;
  /** Shared with the worker: one state word per job slot (see protocol.ts). */
  readonly slots: Int32Array;
  /** Jobs sent and not answered, by `seq % RING`. */
  readonly jobs: (JobFuture<unknown> | undefined)[] = new Array(RING).fill(undefined);
  /** How many entries of `jobs` are in use. */
  inflight = 0;
  /** Jobs whose futures are done but which still run here (cancelled or timed out). */
  abandoned = 0;
  /** Function ids this worker has been sent. */
  readonly defined: Set<number> = new Set();
  ready = false;
  dead = false;
  /** No new jobs: it is about to be terminated. */
  draining = false;
  idleTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  graceTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** Sequence number of the next job sent. */
  seq = 0;

  constructor(owner: WorkerOwner, name: string, init: FnDef | null, initArgs: unknown[]) {
    const sab = new SharedArrayBuffer(RING * 4);
    this.slots = new Int32Array(sab);
    // No job has this slot value: the worker claims nothing by accident.
    this.slots.fill(-1);
    this.worker = new Worker(WORKER_URL, { type: "module", name: `${name}-${this.id}` });
    this.worker.onmessage = (e: MessageEvent<FromWorker>) => owner._onMessage(this, e.data);
    this.worker.onerror = (e: ErrorEvent) => {
      // Without this, a worker's uncaught error would end the whole process.
      e.preventDefault();
      owner._onWorkerError(this, `${e.message} (${e.filename}:${e.lineno})`);
    };
    this.worker.onmessageerror = () => {
      owner._onWorkerError(this, "a message from the worker could not be deserialized");
    };
    const msg: ToWorker = { t: M_INIT, slots: sab, init, initArgs };
    this.worker.postMessage(msg);
  }

  /**
   * Sends `batch` in one message (plus the definitions of functions this
   * worker has not seen). A job whose arguments do not clone fails alone:
   * the batch is resent job by job.
   */
  send(owner: WorkerOwner, batch: JobFuture<unknown>[], defsById: (id: number) => FnDef): void {
    let defs: FnDef[] | null = null;
    const startSeq = this.seq;
    // Consecutive seqs from startSeq; runs of jobs sharing fnId, flags and
    // argc (see protocol.ts): no per-job header for a batch of like jobs.
    const flat: unknown[] = [startSeq];
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
          (defs ??= []).push(defsById(fnId));
        }
        runFn = fnId;
        runFlags = flags;
        runArgc = argc;
        countAt = flat.length + 3;
        flat.push(fnId, flags, argc, 0);
      }
      flat[countAt] = (flat[countAt] as number) + 1;
      this._claim(job);
      if (chunk) flat.push(args);
      else if (argc === 1) flat.push(args[0]);
      else for (let k = 0; k < argc; k++) flat.push(args[k]);
      const more = job._more;
      if (more !== null && more.xfer !== null) (xfer ??= []).push(...more.xfer);
    }
    const msg: ToWorker = { t: M_JOBS, defs, jobs: flat };
    try {
      this.worker.postMessage(msg, xfer ?? []);
    } catch {
      this._resendOneByOne(owner, batch, defs, startSeq);
    }
  }

  /** Gives `job` the next sequence number and its slot. */
  _claim(job: JobFuture<unknown>): number {
    const seq = this.seq;
    this.seq = seq + 1 === SEQ_WRAP ? 0 : seq + 1;
    const slot = seq & (RING - 1);
    Atomics.store(this.slots, slot, seq * 4 + S_QUEUED);
    this.jobs[slot] = job;
    this.inflight++;
    job._worker = this;
    job._seq = seq;
    job._jstate = JOB_SENT;
    return seq;
  }

  /** Frees the slot of a job that will not run or has answered. */
  release(job: JobFuture<unknown>): void {
    const slot = job._seq & (RING - 1);
    if (this.jobs[slot] === job) {
      this.jobs[slot] = undefined;
      this.inflight--;
    }
  }

  /** Withdraws a job the worker has not started; false if it has. */
  withdraw(job: JobFuture<unknown>): boolean {
    const base = job._seq * 4;
    const slot = job._seq & (RING - 1);
    if (Atomics.compareExchange(this.slots, slot, base + S_QUEUED, base + S_CANCELLED) !== base) {
      return false;
    }
    this.release(job);
    return true;
  }

  _resendOneByOne(
    owner: WorkerOwner,
    batch: JobFuture<unknown>[],
    defs: FnDef[] | null,
    startSeq: number,
  ): void {
    // Nothing of the batch arrived: take the slots back and send again.
    for (const job of batch) {
      Atomics.store(this.slots, job._seq & (RING - 1), -1);
      this.release(job);
    }
    this.seq = startSeq;
    if (defs !== null) this.worker.postMessage({ t: M_JOBS, defs, jobs: [] } as ToWorker);
    for (const job of batch) {
      const seq = this._claim(job);
      const jobs = encodeOne(seq, job);
      try {
        this.worker.postMessage({ t: M_JOBS, defs: null, jobs } as ToWorker, job._more?.xfer ?? []);
      } catch (e) {
        Atomics.store(this.slots, seq & (RING - 1), -1);
        this.release(job);
        this.seq = seq;
        owner._onSendFailed(job, e);
      }
    }
  }

  /**
   * Asks a running job to stop: flags its slot, which the job can read while
   * it blocks the thread, and sends the message that aborts its signal.
   */
  requestStop(job: JobFuture<unknown>): void {
    const base = job._seq * 4;
    Atomics.compareExchange(this.slots, job._seq & (RING - 1), base + S_RUNNING, base + S_STOP);
    this.post({ t: M_CANCEL, seqs: [job._seq] });
  }

  post(msg: ToWorker): void {
    if (!this.dead) this.worker.postMessage(msg);
  }

  /** Stops the worker now. Idempotent. */
  terminate(): void {
    if (this.dead) return;
    this.dead = true;
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    if (this.graceTimer !== undefined) clearTimeout(this.graceTimer);
    this.idleTimer = this.graceTimer = undefined;
    this.worker.terminate();
  }
}

/** One job in the layout of `ToWorker.jobs`. */
function encodeOne(seq: number, job: JobFuture<unknown>): unknown[] {
  const args = job._args;
  const { fnId, flags } = job._spec;
  if (flags & J_CHUNK) return [seq, fnId, flags, 1, 1, args];
  return [seq, fnId, flags, args.length, 1, ...args];
}
