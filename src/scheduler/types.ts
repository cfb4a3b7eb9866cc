/**
 * The contract both scheduler cores implement. The core knows nothing of
 * JavaScript objects: it orders small integer handle ids that the event loop
 * maps to callbacks.
 *
 * @module
 */

/**
 * Which implementation backs a loop's ready queue and timer queue.
 *
 * @category Running
 */
export type CoreKind = "wasm" | "ts";

/**
 * Ready queue (FIFO ring of handle ids) plus timer queue (deadline-ordered,
 * ties in insertion order). Handle ids and timer tokens are non-negative
 * integers below 2^30 so they stay small integers in V8.
 */
export interface SchedulerCore {
  /** Which implementation this is. */
  readonly kind: CoreKind;
  /** Appends a handle id to the ready ring. */
  pushReady(id: number): void;
  /** Removes and returns the oldest ready id. Only valid when `readyCount() > 0`. */
  popReady(): number;
  /** Number of ids in the ready ring. */
  readyCount(): number;
  /**
   * Schedules `id` to become ready at `deadline` (ms, any finite f64).
   * Returns a timer token for {@linkcode SchedulerCore.cancelTimer}.
   */
  addTimer(deadline: number, id: number): number;
  /**
   * Removes a live timer. Returns `false`, and changes nothing, for a token
   * that already fired, was already cancelled, or is stale (its slot reused).
   */
  cancelTimer(token: number): boolean;
  /**
   * A lower bound on the earliest live deadline, or `Infinity` when there is
   * no live timer. Calling `advance(nextDeadline())` repeatedly always makes
   * progress: each call either fires a timer or narrows the bound, and the
   * bound equals the exact earliest deadline once that timer is close.
   */
  nextDeadline(): number;
  /**
   * Moves every live timer whose deadline is `<= now` to the back of the ready
   * ring, in deadline order, equal deadlines in the order they were added.
   * Returns how many moved. `now` never decreases between calls.
   */
  advance(now: number): number;
  /** Number of live (added, not fired, not cancelled) timers. */
  timerCount(): number;
  /** Reserves room for this many ready ids and live timers, so steady state never allocates. */
  reserve(ready: number, timers: number): void;
  /** Releases the core's memory; the core must not be used afterwards. Optional. */
  dispose?(): void;
}
