//! aio's scheduler core, compiled to `wasm32-unknown-unknown` and bound by
//! hand from TypeScript (`src/scheduler/wasm.ts`).
//!
//! The ABI is plain C with `i32`/`f64` only: BigInt (`i64`) arguments cost
//! several times an ordinary export call in V8. Each WebAssembly instance
//! holds exactly one scheduler in a static, so no call carries a handle and
//! the only code that can grow an instance's memory is its own scheduler's
//! exports, which is what lets JavaScript keep its views into that memory
//! without re-checking them on every push, pop and cancel.
//!
//! Pushing, popping and cancelling are done by JavaScript directly on the
//! shared state (`sched::Hdr`); the exports below cover the rest.

pub mod sched;

pub use sched::{Core, Hdr, LEVELS, MAX_ENTRIES, SWEEP_MIN, TOKEN_INDEX_BITS};

static mut CORE: Core = Core::new();

#[inline(always)]
fn core() -> &'static mut Core {
    // SAFETY: wasm32 instances are single-threaded and the exports never
    // re-enter each other, so there is one live reference at a time.
    unsafe { &mut *std::ptr::addr_of_mut!(CORE) }
}

fn non_negative(n: i32) -> usize {
    n.max(0) as usize
}

/// Byte address of the shared header (`Hdr`, nine `i32`s).
#[no_mangle]
pub extern "C" fn aio_hdr() -> i32 {
    &core().hdr as *const Hdr as usize as i32
}

/// Grows the ready ring to at least `min` ids (JS calls it when full).
#[no_mangle]
pub extern "C" fn aio_ring_grow(min: i32) {
    core().ring_grow(non_negative(min));
}

/// Returns a timer token (< 2^30), with bit 30 set when JavaScript must
/// re-create its views (the memory grew or the entry table moved), or -1
/// when the entry table is full. One comparison covers both rare cases.
#[no_mangle]
pub extern "C" fn aio_add_timer(deadline: f64, id: i32) -> i32 {
    let c = core();
    let gens = c.hdr.gens_ptr;
    match c.add_timer(deadline, id as u32) {
        Some(token) => {
            // `|`, not `||`: memory_grew() also records the current size.
            let stale = c.memory_grew() | (c.hdr.gens_ptr != gens);
            (token | ((stale as u32) << 30)) as i32
        }
        None => -1,
    }
}

/// Drops all tombstones; JavaScript calls it from its cancel when they
/// outnumber the live timers. Never allocates.
#[no_mangle]
pub extern "C" fn aio_sweep() {
    core().sweep();
}

#[no_mangle]
pub extern "C" fn aio_next_deadline() -> f64 {
    core().next_deadline()
}

/// Moves due timers to the ready ring; returns how many.
#[no_mangle]
pub extern "C" fn aio_advance(now: f64) -> i32 {
    core().advance(now) as i32
}

#[no_mangle]
pub extern "C" fn aio_reserve(ready: i32, timers: i32) {
    core().reserve(non_negative(ready), non_negative(timers));
}

#[cfg(test)]
mod tests;
