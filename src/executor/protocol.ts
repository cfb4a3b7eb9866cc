// The messages between a WorkerPoolExecutor and its workers, and the layout
// of the shared slot array each worker gets. Both sides import this module,
// so it holds constants and types only. Every message from the worker
// carries the key M_INIT gave it, which jobs cannot read (see pool_worker.ts).

import type { SerializedError } from "./remote_error.ts";

/** Message tags, parent → worker. */
export const M_INIT = 0;
export const M_JOBS = 1;
export const M_CANCEL = 2;
/** Without shared memory: jobs not to start (answered R_CANCELLED); running ones go on. */
export const M_WITHDRAW = 3;
/** Message tags, worker → parent. */
export const M_READY = 10;
export const M_INIT_FAILED = 11;
export const M_DONE = 12;
export const M_STARTED = 13;
export const M_FATAL = 14;
export const M_CLOSING = 15;

/** How a function reaches the worker. */
export const FN_SOURCE = 0;
export const FN_MODULE = 1;

/** A function definition: `[fnId, FN_SOURCE, source]` or `[fnId, FN_MODULE, url, exportName]`. */
export type FnDef = [number, typeof FN_SOURCE, string] | [
  number,
  typeof FN_MODULE,
  string,
  string,
];

/** Job flags. */
export const J_CHUNK = 1; // args is one array of items; fn runs once per item
export const J_REPORT_START = 2; // the parent starts a timeout clock when the job starts

/** Reply status per job, and how the pool settles a job (job.ts). */
export const R_OK = 0;
export const R_ERROR = 1;
export const R_CANCELLED = 2;

/**
 * Each worker shares an Int32Array of RING slots with the parent. A job's
 * slot is `seq % RING` and holds `seq * 4 + state`, so a stale value from a
 * job RING dispatches earlier never matches. Both sides move a slot with
 * compareExchange: whoever moves it out of S_QUEUED first decides whether the
 * job runs (the worker) or never does (a cancel, a dead worker's requeue).
 */
export const RING = 2048;
export const S_QUEUED = 0;
export const S_RUNNING = 1;
export const S_CANCELLED = 2;
/** Running, and the pool asked it to stop (JobContext.cancelled reads this). */
export const S_STOP = 3;
/** Sequence numbers wrap here so `seq * 4 + state` stays a positive int32. */
export const SEQ_WRAP = 1 << 29;

/** Parent → worker. */
export type ToWorker =
  | {
    t: typeof M_INIT;
    /** The key every message from the worker carries. */
    k: number;
    /**
     * The slot array, or null where memory cannot be shared (a browser page
     * that is not cross-origin isolated): the worker then keeps the slots
     * itself, the pool withdraws nothing it has sent (`withdraw` is false),
     * and a job cancelled before it started is answered R_CANCELLED.
     */
    slots: SharedArrayBuffer | null;
    init: FnDef | null;
    initArgs: unknown[];
    /** Heap limit (MB) the worker watches, or 0. */
    maxHeapMb: number;
  }
  | {
    t: typeof M_JOBS;
    /** Functions this worker has not seen yet, used by the jobs below. */
    defs: FnDef[] | null;
    /**
     * Flat, no array per job. The jobs have consecutive sequence numbers
     * (wrapping at SEQ_WRAP) from the first element on; then come runs of
     * jobs that share a function, flags and argument count: fnId, flags,
     * argc, count, then count × argc arguments, then the next run. A chunk
     * job has one argument: its items.
     */
    jobs: unknown[];
  }
  | { t: typeof M_CANCEL; seqs: number[] }
  | { t: typeof M_WITHDRAW; seqs: number[] };

/** What a chunk job returns: results in item order and failures by index. */
export interface ChunkResult {
  r: unknown[];
  /** Flat: index, SerializedError, index, SerializedError, … or null. */
  e: unknown[] | null;
}

/** Worker → parent. */
export type FromWorker = FromWorkerBody & { k: number };

/** Worker → parent, before the entry adds the key. */
export type FromWorkerBody =
  | { t: typeof M_READY }
  | { t: typeof M_INIT_FAILED; error: SerializedError }
  | {
    t: typeof M_DONE;
    /**
     * Results of jobs that succeeded, in runs of consecutive sequence
     * numbers: first seq, count, value 1 … value count, then the next run.
     * A batch that ran in order is one run: one value per job on the wire.
     */
    r: unknown[];
    /** The rest, flat: seq, status (R_ERROR, R_CANCELLED), value, … or null. */
    x: unknown[] | null;
    /** Synchronous run time of the jobs started since the last reply (ms). */
    busy: number;
    /** How many jobs `busy` covers. */
    n: number;
  }
  | { t: typeof M_STARTED; seq: number }
  | { t: typeof M_FATAL; error: SerializedError }
  | { t: typeof M_CLOSING; how: string };
