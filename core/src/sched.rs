//! The scheduler state: a ready ring of handle ids and a hierarchical timing
//! wheel of timers.
//!
//! Wheel shape (tokio's): 6 levels of 64 slots; a level-`L` slot spans
//! `64^L` buckets of 1 ms. A deadline `d` lives in bucket `floor(d)`, i.e.
//! bucket `b` holds deadlines in `[b, b + 1)`. Deadlines are fractional, so
//! a bucket cannot simply fire when its tick comes: every timer whose bucket
//! is `<= elapsed` is "current", and `advance(now)` releases exactly the
//! current timers with `deadline <= now`, in `(deadline, seq)` order.
//! Everything current precedes everything still in the wheel (smaller
//! buckets), so draining the current timers before pulling the next slot
//! yields global order.
//!
//! Current timers live in a sorted run (a whole level-0 slot, sorted once
//! when it becomes current and consumed from the front: the common case)
//! plus a binary heap for timers added into the current bucket later, so
//! neither bulk drains nor scattered late inserts go quadratic.
//!
//! Memory layout is what makes this fast (all measured at 100k-200k timers):
//! - Slots are chains of fixed-size blocks of items, each item carrying its
//!   sort key and handle id, so cascading and pulling a slot stream through
//!   memory instead of chasing per-timer pointers, and blocks recycle
//!   through one free list: no per-slot high-water marks, no reallocation
//!   in steady state.
//! - The entry table is one byte per timer: a generation whose low bit says
//!   "live". Cancel only bumps that byte (O(1), no cache miss on a cold
//!   slot); the item stays behind as a tombstone that the next cascade, pull
//!   or pop drops and whose entry it then recycles. Entries are not reused
//!   while a tombstone names them, so an item's generation identifies it
//!   exactly. When tombstones outnumber live timers a sweep purges them all,
//!   which bounds memory at about twice the live set at O(1) amortized cost.
//!
//! Timers beyond the wheel's 2^36-bucket block wait in an overflow list that
//! is re-filed when time reaches its earliest bucket.

use std::cmp::Ordering;

/// Wheel levels.
pub const LEVELS: usize = 6;
const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;

/// Timer tokens: entry index in the low bits, generation above, < 2^30 in
/// total so JavaScript keeps them as small integers. Same split as the
/// TypeScript core. Live generations are odd, so a token repeats only after
/// its entry has been reused 128 times, and entries are recycled FIFO: that
/// takes 128 passes over the whole free list.
pub const TOKEN_INDEX_BITS: u32 = 22;
const INDEX_MASK: u32 = (1 << TOKEN_INDEX_BITS) - 1;
/// Most timer entries (live, tombstoned, or fired and not yet recycled).
pub const MAX_ENTRIES: usize = 1 << TOKEN_INDEX_BITS;

/// Buckets are clamped here; the clamp is monotonic, and exact order among
/// clamped timers is restored by the current set's deadline key.
const MAX_BUCKET: u64 = 1 << 62;

const OVERFLOW: usize = LEVELS * SLOTS;
const LISTS: usize = OVERFLOW + 1;

/// Items per block: 768 bytes, a dozen cache lines streamed in order. Small
/// enough that the partly filled tail blocks of all lists stay under 300 KB.
const BLOCK: usize = 32;
const NIL: u32 = u32::MAX;

/// Sweeping is not worth it below this many tombstones. JavaScript's cancel
/// uses the same rule.
pub const SWEEP_MIN: i32 = 4096;

#[derive(Clone, Copy)]
struct Item {
    deadline: f64,
    /// Insertion sequence number << 8 | the entry's generation when added.
    /// Sequence numbers are unique, so this orders like the sequence.
    key: u64,
    entry: u32,
    id: u32,
}

const NO_ITEM: Item = Item {
    deadline: 0.0,
    key: 0,
    entry: 0,
    id: 0,
};

impl Item {
    #[inline(always)]
    fn gen(&self) -> u8 {
        self.key as u8
    }
}

#[inline(always)]
fn before(a: &Item, b: &Item) -> bool {
    a.deadline < b.deadline || (a.deadline == b.deadline && a.key < b.key)
}

#[inline(always)]
fn order(a: &Item, b: &Item) -> Ordering {
    if a.deadline < b.deadline {
        Ordering::Less
    } else if a.deadline > b.deadline {
        Ordering::Greater
    } else {
        a.key.cmp(&b.key)
    }
}

#[inline(always)]
fn bucket(d: f64) -> u64 {
    // `!(d >= 1.0)` also sends NaN to bucket 0 rather than anywhere odd.
    if !(d >= 1.0) {
        0
    } else if d < MAX_BUCKET as f64 {
        d as u64
    } else {
        MAX_BUCKET
    }
}

/// Level of bucket `b` relative to `elapsed` (`b > elapsed`); `LEVELS` means
/// beyond the wheel. The highest differing bit picks the level; `| 63` puts
/// the current 64 buckets on level 0.
#[inline(always)]
fn level_for(elapsed: u64, b: u64) -> usize {
    let masked = (elapsed ^ b) | (SLOTS as u64 - 1);
    ((63 - masked.leading_zeros()) / SLOT_BITS) as usize
}

/// A chain of blocks. Only the tail block may be partly filled.
#[derive(Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
    /// Items in the tail block; `BLOCK` when the list is empty, so a push
    /// needs one comparison to know it must start a block.
    tail_len: u32,
}

const EMPTY_LIST: List = List {
    head: NIL,
    tail: NIL,
    tail_len: BLOCK as u32,
};

impl List {
    #[inline(always)]
    fn is_empty(&self) -> bool {
        self.head == NIL
    }
}

/// State shared with JavaScript, which reads and writes it directly through
/// an `Int32Array` over linear memory (see `src/scheduler/wasm.ts`).
///
/// Ring: between export calls JavaScript owns the ring; it stores `head`,
/// `tail` and `count` here before calling any export that touches the ring
/// and reloads the ring fields afterwards.
///
/// Timers: JavaScript cancels by itself, without an export call. Cancelling
/// is only a generation bump in `gens` plus the `live`/`dead` counts, so
/// those live here, and JavaScript calls `sweep` when the tombstones
/// outnumber the live timers, exactly as `Core::cancel_timer` does.
#[repr(C)]
pub struct Hdr {
    pub head: i32,
    pub tail: i32,
    pub count: i32,
    pub mask: i32,
    /// Word index (byte address / 4) of the ring's first element.
    pub base: i32,
    /// Byte address and length of `Core::gens`.
    pub gens_ptr: i32,
    pub gens_len: i32,
    pub live: i32,
    pub dead: i32,
}

/// Next wheel slot (or the overflow list, `level == LEVELS`) to process.
#[derive(Clone, Copy)]
struct Expiration {
    level: usize,
    slot: usize,
    /// First bucket the slot covers: a lower bound on its deadlines.
    start: u64,
}

/// Which current container holds the earliest current item.
#[derive(Clone, Copy, PartialEq)]
enum Src {
    Run,
    Heap,
}

/// One scheduler: ready ring plus timers.
pub struct Core {
    pub hdr: Hdr,
    ring: Vec<i32>,
    /// Per entry: generation; odd while the timer is live. Always a power of
    /// two long and zero-filled past the `entries` in use, so JavaScript can
    /// view all of it: an unused entry reads as "free".
    gens: Vec<u8>,
    entries: usize,
    lists: [List; LISTS],
    /// Block storage: block `b` is `arena[b * BLOCK..][..BLOCK]`.
    arena: Vec<Item>,
    next_block: Vec<u32>,
    /// Free blocks, reused LIFO so the next one is still warm in cache.
    free_blocks: Vec<u32>,
    occupied: [u64; LEVELS],
    /// Every live timer with bucket `<= elapsed` is current; the others are
    /// in the wheel, placed relative to `elapsed`.
    elapsed: u64,
    run: Vec<Item>,
    run_head: usize,
    heap: Vec<Item>,
    /// A lower bound on the overflow list's buckets.
    ov_min: u64,
    /// Fired by the last `advance`; recycled by the next one.
    fired: Vec<u32>,
    /// FIFO of recyclable entries: slow reuse keeps generations meaningful.
    free: Vec<u32>,
    free_head: usize,
    free_count: usize,
    seq: u64,
    /// Pages of linear memory when JavaScript last saw them (wasm only).
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    mem_size: usize,
}

impl Core {
    pub const fn new() -> Core {
        Core {
            hdr: Hdr {
                head: 0,
                tail: 0,
                count: 0,
                mask: -1,
                base: 0,
                gens_ptr: 0,
                gens_len: 0,
                live: 0,
                dead: 0,
            },
            ring: Vec::new(),
            gens: Vec::new(),
            entries: 0,
            lists: [EMPTY_LIST; LISTS],
            arena: Vec::new(),
            next_block: Vec::new(),
            free_blocks: Vec::new(),
            occupied: [0; LEVELS],
            elapsed: 0,
            run: Vec::new(),
            run_head: 0,
            heap: Vec::new(),
            ov_min: MAX_BUCKET,
            fired: Vec::new(),
            free: Vec::new(),
            free_head: 0,
            free_count: 0,
            seq: 0,
            mem_size: 0,
        }
    }

    // ---- ready ring -------------------------------------------------------

    /// Grows the ring to hold at least `min` ids, compacting it to start at
    /// index 0.
    pub fn ring_grow(&mut self, min: usize) {
        let cap = self.ring.len();
        if min <= cap && cap != 0 {
            return;
        }
        let new_cap = min.max(16).next_power_of_two();
        let mut data = vec![0i32; new_cap];
        let count = self.hdr.count as usize;
        let head = self.hdr.head as usize;
        for (i, slot) in data.iter_mut().enumerate().take(count) {
            *slot = self.ring[(head + i) & (cap - 1)];
        }
        self.ring = data;
        self.hdr.head = 0;
        self.hdr.tail = (count & (new_cap - 1)) as i32;
        self.hdr.mask = (new_cap - 1) as i32;
        self.hdr.base = (self.ring.as_ptr() as usize / 4) as i32;
    }

    #[inline]
    pub fn push_ready(&mut self, id: u32) {
        if self.hdr.count as usize == self.ring.len() {
            self.ring_grow(self.ring.len() + 1);
        }
        let t = self.hdr.tail as usize;
        self.ring[t] = id as i32;
        self.hdr.tail = ((t + 1) & self.hdr.mask as usize) as i32;
        self.hdr.count += 1;
    }

    /// Only valid when `ready_count() > 0`.
    #[inline]
    pub fn pop_ready(&mut self) -> u32 {
        let h = self.hdr.head as usize;
        self.hdr.head = ((h + 1) & self.hdr.mask as usize) as i32;
        self.hdr.count -= 1;
        self.ring[h] as u32
    }

    pub fn ready_count(&self) -> usize {
        self.hdr.count as usize
    }

    // ---- timers -----------------------------------------------------------

    pub fn timer_count(&self) -> usize {
        self.hdr.live as usize
    }

    /// Sizes every structure for `timers` live timers (plus as many
    /// tombstones) so that steady state does not allocate.
    pub fn reserve(&mut self, ready: usize, timers: usize) {
        if ready > self.ring.len() {
            self.ring_grow(ready);
        }
        let timers = timers.min(MAX_ENTRIES);
        if timers > self.gens.len() {
            self.grow_entries(timers);
        }
        let items = 2 * timers + LISTS * BLOCK;
        if items > self.arena.capacity() {
            self.arena.reserve_exact(items - self.arena.len());
            let blocks = items / BLOCK;
            self.next_block
                .reserve_exact(blocks.saturating_sub(self.next_block.len()));
            self.free_blocks
                .reserve_exact(blocks.saturating_sub(self.free_blocks.len()));
        }
        for v in [&mut self.run, &mut self.heap] {
            if timers > v.capacity() {
                v.reserve_exact(timers - v.len());
            }
        }
        if timers > self.fired.capacity() {
            self.fired.reserve_exact(timers - self.fired.len());
        }
    }

    /// Returns a token, or `None` when `MAX_ENTRIES` entries are in use.
    #[inline(always)]
    pub fn add_timer(&mut self, deadline: f64, id: u32) -> Option<u32> {
        let e = if self.free_count > 0 {
            let e = self.free[self.free_head];
            self.free_head = (self.free_head + 1) & (self.free.len() - 1);
            self.free_count -= 1;
            e
        } else {
            let n = self.entries;
            if n >= MAX_ENTRIES {
                return None;
            }
            if n == self.gens.len() {
                self.grow_entries(n + 1);
            }
            self.entries = n + 1;
            n as u32
        };
        let gen = self.gens[e as usize].wrapping_add(1);
        self.gens[e as usize] = gen;
        let key = (self.seq << 8) | gen as u64;
        self.seq += 1;
        let item = Item {
            deadline,
            key,
            entry: e,
            id,
        };
        let b = bucket(deadline);
        if b <= self.elapsed {
            self.heap_push(item);
        } else {
            self.place_in_wheel(item, b);
        }
        self.hdr.live += 1;
        Some(((gen as u32) << TOKEN_INDEX_BITS) | e)
    }

    /// Whether linear memory grew since the last call (always false
    /// natively). JavaScript must then re-create its views.
    pub fn memory_grew(&mut self) -> bool {
        #[cfg(target_arch = "wasm32")]
        {
            let size = core::arch::wasm32::memory_size(0);
            if size != self.mem_size {
                self.mem_size = size;
                return true;
            }
        }
        false
    }

    pub fn cancel_timer(&mut self, token: u32) -> bool {
        let e = (token & INDEX_MASK) as usize;
        let gen = token >> TOKEN_INDEX_BITS;
        // Tokens carry odd (live) generations only; an even one is forged.
        match self.gens.get_mut(e) {
            Some(g) if *g as u32 == gen && gen & 1 == 1 => *g = g.wrapping_add(1),
            _ => return false,
        }
        self.hdr.live -= 1;
        self.hdr.dead += 1;
        if self.hdr.dead >= SWEEP_MIN && self.hdr.dead > self.hdr.live {
            self.sweep();
        }
        true
    }

    /// A lower bound on the earliest live deadline (exact once the timer is
    /// in a level-0 slot), or +inf.
    pub fn next_deadline(&mut self) -> f64 {
        if self.hdr.live == 0 {
            // Only tombstones may be left; their slots are no deadline.
            return f64::INFINITY;
        }
        loop {
            while let Some((top, src)) = self.cur_peek() {
                if self.gens[top.entry as usize] == top.gen() {
                    return top.deadline;
                }
                self.cur_pop(src);
                self.drop_dead(top.entry);
            }
            match self.next_expiration() {
                None => return f64::INFINITY,
                // Making the slot current early is harmless (current timers
                // are released only when due) and makes the bound exact.
                Some(x) if x.level == 0 => self.process(x),
                Some(x) => return x.start as f64,
            }
        }
    }

    pub fn advance(&mut self, now: f64) -> u32 {
        for i in 0..self.fired.len() {
            let e = self.fired[i];
            self.release(e);
        }
        self.fired.clear();
        let limit = bucket(now);
        let mut moved = 0u32;
        loop {
            while let Some((top, src)) = self.cur_peek() {
                if !(top.deadline <= now) {
                    // Everything still in the wheel is later yet.
                    return moved;
                }
                self.cur_pop(src);
                let e = top.entry as usize;
                if self.gens[e] != top.gen() {
                    self.drop_dead(top.entry);
                    continue;
                }
                self.gens[e] = top.gen().wrapping_add(1);
                self.fired.push(top.entry);
                self.push_ready(top.id);
                self.hdr.live -= 1;
                moved += 1;
            }
            match self.next_expiration() {
                Some(x) if x.start <= limit => self.process(x),
                _ => {
                    // No slot starts at or before `limit`, so every wheel
                    // entry keeps its level relative to the later origin.
                    if limit > self.elapsed {
                        self.elapsed = limit;
                    }
                    return moved;
                }
            }
        }
    }

    // ---- entries ----------------------------------------------------------

    /// Grows `gens` (zero-filled) and the free ring to at least `min`.
    fn grow_entries(&mut self, min: usize) {
        let new_len = min.max(16).next_power_of_two();
        if new_len > self.gens.len() {
            self.gens.resize(new_len, 0);
            self.hdr.gens_ptr = self.gens.as_ptr() as usize as i32;
            self.hdr.gens_len = new_len as i32;
        }
        self.grow_free(new_len);
    }

    fn grow_free(&mut self, min: usize) {
        let cap = self.free.len();
        let new_cap = min.max(16).next_power_of_two();
        if new_cap <= cap {
            return;
        }
        let mut free = vec![0u32; new_cap];
        for (i, slot) in free.iter_mut().enumerate().take(self.free_count) {
            *slot = self.free[(self.free_head + i) & (cap - 1)];
        }
        self.free = free;
        self.free_head = 0;
    }

    #[inline]
    fn release(&mut self, e: u32) {
        // `free` is as long as `gens`, so this never laps.
        let mask = self.free.len() - 1;
        self.free[(self.free_head + self.free_count) & mask] = e;
        self.free_count += 1;
    }

    #[inline]
    fn drop_dead(&mut self, e: u32) {
        self.hdr.dead -= 1;
        self.release(e);
    }

    // ---- block lists ------------------------------------------------------

    #[inline]
    fn alloc_block(&mut self) -> u32 {
        match self.free_blocks.pop() {
            Some(b) => b,
            None => {
                let b = self.next_block.len() as u32;
                self.arena.resize(self.arena.len() + BLOCK, NO_ITEM);
                self.next_block.push(NIL);
                // Freeing must never allocate: `cancel_timer` (which may
                // sweep) promises JavaScript not to grow the memory.
                if self.free_blocks.capacity() < self.next_block.len() {
                    self.free_blocks
                        .reserve(self.next_block.len() - self.free_blocks.len());
                }
                b
            }
        }
    }

    #[inline(always)]
    fn list_push(&mut self, list: usize, item: Item) {
        let mut l = self.lists[list];
        if l.tail_len == BLOCK as u32 {
            let b = self.alloc_block();
            self.next_block[b as usize] = NIL;
            if l.head == NIL {
                l.head = b;
            } else {
                self.next_block[l.tail as usize] = b;
            }
            l.tail = b;
            l.tail_len = 0;
        }
        self.arena[l.tail as usize * BLOCK + l.tail_len as usize] = item;
        l.tail_len += 1;
        self.lists[list] = l;
    }

    /// Detaches list `list`, leaving it empty; the caller walks the chain
    /// with `chain_len` and frees each block once it has read it.
    #[inline]
    fn take_list(&mut self, list: usize) -> List {
        std::mem::replace(&mut self.lists[list], EMPTY_LIST)
    }

    #[inline(always)]
    fn chain_len(l: &List, b: u32) -> usize {
        if b == l.tail {
            l.tail_len as usize
        } else {
            BLOCK
        }
    }

    /// Drops tombstones from list `list` in place, keeping order.
    /// Branch-free per item: under churn whether an item is live is a coin
    /// toss, and mispredictions would dominate the loop.
    fn compact_list(&mut self, list: usize) {
        let l = self.lists[list];
        if l.is_empty() {
            return;
        }
        // Plain slices: the optimiser then knows the stores below cannot
        // change the vectors' own fields, and stops reloading them.
        let arena = &mut self.arena[..];
        let gens = &self.gens[..];
        let free = &mut self.free[..];
        let next_block = &self.next_block[..];
        let mask = free.len() - 1;
        let tail = self.free_head + self.free_count;
        let mut freed = 0;
        let (mut wb, mut wi) = (l.head, 0usize);
        let mut kept = 0usize;
        let mut b = l.head;
        loop {
            let n = Self::chain_len(&l, b);
            let base = b as usize * BLOCK;
            for i in 0..n {
                if wi == BLOCK {
                    // Writes never overtake reads, so the next block exists.
                    wb = next_block[wb as usize];
                    wi = 0;
                }
                let item = arena[base + i];
                let live = gens[item.entry as usize] == item.gen();
                arena[wb as usize * BLOCK + wi] = item;
                wi += live as usize;
                kept += live as usize;
                // Written either way, counted for tombstones only. There is
                // room: `item.entry` is not free, so fewer than all are.
                free[(tail + freed) & mask] = item.entry;
                freed += !live as usize;
            }
            if b == l.tail {
                break;
            }
            b = next_block[b as usize];
        }
        self.free_count += freed;
        self.hdr.dead -= freed as i32;
        // Free the blocks past the last one written.
        let mut rest = if kept == 0 {
            l.head
        } else {
            self.next_block[wb as usize]
        };
        if kept == 0 {
            self.lists[list] = EMPTY_LIST;
        } else {
            self.next_block[wb as usize] = NIL;
            self.lists[list] = List {
                head: l.head,
                tail: wb,
                tail_len: wi as u32,
            };
            if wb == l.tail {
                rest = NIL;
            }
        }
        while rest != NIL {
            let next = if rest == l.tail {
                NIL
            } else {
                self.next_block[rest as usize]
            };
            self.free_blocks.push(rest);
            rest = next;
        }
    }

    // ---- wheel ------------------------------------------------------------

    #[inline(always)]
    fn place_in_wheel(&mut self, item: Item, b: u64) {
        let level = level_for(self.elapsed, b);
        let list = if level >= LEVELS {
            if b < self.ov_min {
                self.ov_min = b;
            }
            OVERFLOW
        } else {
            let slot = ((b >> (SLOT_BITS as usize * level)) as usize) & (SLOTS - 1);
            self.occupied[level] |= 1u64 << slot;
            level * SLOTS + slot
        };
        self.list_push(list, item);
    }

    /// The earliest non-empty slot. Lower levels always come first: a
    /// level-`L` entry shares every bit above level `L` with `elapsed`, so
    /// it is later than anything on the levels below.
    fn next_expiration(&self) -> Option<Expiration> {
        let mut wheel = None;
        for level in 0..LEVELS {
            let occ = self.occupied[level];
            if occ == 0 {
                continue;
            }
            let shift = SLOT_BITS * level as u32;
            let now_slot = ((self.elapsed >> shift) as u32) & (SLOTS as u32 - 1);
            // Occupied slots are always past `now_slot` (an entry on level L
            // differs from `elapsed` first at level L, upwards), so rotating
            // finds the next one without wrap-around subtleties.
            let slot =
                (occ.rotate_right(now_slot).trailing_zeros() + now_slot) as usize & (SLOTS - 1);
            let level_range = 1u64 << (shift + SLOT_BITS);
            let start = (self.elapsed & !(level_range - 1)) + ((slot as u64) << shift);
            debug_assert!(start > self.elapsed);
            wheel = Some(Expiration { level, slot, start });
            break;
        }
        if !self.lists[OVERFLOW].is_empty() {
            let start = self.ov_min.max(self.elapsed);
            // Overflow entries normally lie in a later 2^36 block than any
            // wheel entry, but after `elapsed` jumps into that block they
            // may not: compare.
            match wheel {
                Some(w) if w.start <= start => {}
                _ => {
                    return Some(Expiration {
                        level: LEVELS,
                        slot: 0,
                        start,
                    })
                }
            }
        }
        wheel
    }

    /// Moves `elapsed` to `x.start` and empties slot `x`: a level-0 slot
    /// becomes the run; higher slots and the overflow list are re-filed
    /// closer to their deadlines (timers now current join the run).
    /// Tombstones met on the way are dropped. Only called with no current
    /// timers.
    fn process(&mut self, x: Expiration) {
        debug_assert!(self.run_head == self.run.len() && self.heap.is_empty());
        if x.start > self.elapsed {
            self.elapsed = x.start;
        }
        self.run.clear();
        self.run_head = 0;
        if x.level == LEVELS {
            self.ov_min = MAX_BUCKET;
            self.refile(OVERFLOW);
        } else {
            let list = x.level * SLOTS + x.slot;
            self.occupied[x.level] &= !(1u64 << x.slot);
            self.refile(list);
            // The overflow list may hold timers of this very bucket (it is
            // only compared by its lower bound): they are current now too.
            if self.ov_min <= self.elapsed && !self.lists[OVERFLOW].is_empty() {
                self.ov_min = MAX_BUCKET;
                self.refile(OVERFLOW);
            }
        }
        if self.run.len() > 1 {
            self.run.sort_unstable_by(order);
        }
    }

    /// Empties `list`: live items of buckets `<= elapsed` join the run, the
    /// others are placed again relative to `elapsed` (a level-0 slot holds
    /// a single bucket, so all of it joins the run).
    fn refile(&mut self, list: usize) {
        // Compacting first keeps the loop below free of the unpredictable
        // live/dead branch.
        self.compact_list(list);
        let l = self.take_list(list);
        let mut b = l.head;
        while b != NIL {
            let n = Self::chain_len(&l, b);
            let base = b as usize * BLOCK;
            if list < SLOTS {
                self.run.extend_from_slice(&self.arena[base..base + n]);
            } else {
                for i in 0..n {
                    let item = self.arena[base + i];
                    let bk = bucket(item.deadline);
                    if bk <= self.elapsed {
                        self.run.push(item);
                    } else {
                        // May land back in the overflow list: that is a
                        // fresh chain, and this block is freed only below,
                        // after it has been read.
                        self.place_in_wheel(item, bk);
                    }
                }
            }
            let next = if b == l.tail {
                NIL
            } else {
                self.next_block[b as usize]
            };
            self.free_blocks.push(b);
            b = next;
        }
    }

    /// Drops every tombstone. Runs when they outnumber live timers, so its
    /// cost is covered by the cancels that made them.
    #[inline(never)]
    pub fn sweep(&mut self) {
        for list in 0..LISTS {
            self.compact_list(list);
            if list < OVERFLOW && self.lists[list].is_empty() {
                self.occupied[list / SLOTS] &= !(1u64 << (list % SLOTS));
            }
        }
        // The consumed prefix of the run goes too; order is preserved.
        self.run.drain(..self.run_head);
        self.run_head = 0;
        let mut run = std::mem::take(&mut self.run);
        self.compact_vec(&mut run);
        self.run = run;
        let mut heap = std::mem::take(&mut self.heap);
        self.compact_vec(&mut heap);
        self.heap = heap;
        // A filtered heap is no longer a heap: rebuild it bottom-up, O(n).
        for i in (0..self.heap.len() / 2).rev() {
            self.sift_down(i);
        }
        debug_assert_eq!(self.hdr.dead, 0);
    }

    /// `compact_list` for a plain vector.
    fn compact_vec(&mut self, v: &mut Vec<Item>) {
        let mut keep = 0;
        for i in 0..v.len() {
            let item = v[i];
            let live = self.gens[item.entry as usize] == item.gen();
            v[keep] = item;
            keep += live as usize;
            if !live {
                self.drop_dead(item.entry);
            }
        }
        v.truncate(keep);
    }

    // ---- current timers -----------------------------------------------------

    /// The earliest current item, tombstones included.
    #[inline(always)]
    fn cur_peek(&self) -> Option<(Item, Src)> {
        let run = self.run.get(self.run_head);
        match (run, self.heap.first()) {
            (Some(r), Some(h)) => {
                if before(h, r) {
                    Some((*h, Src::Heap))
                } else {
                    Some((*r, Src::Run))
                }
            }
            (Some(r), None) => Some((*r, Src::Run)),
            (None, Some(h)) => Some((*h, Src::Heap)),
            (None, None) => None,
        }
    }

    #[inline(always)]
    fn cur_pop(&mut self, src: Src) {
        if src == Src::Run {
            self.run_head += 1;
        } else {
            self.heap_pop();
        }
    }

    #[inline]
    fn heap_push(&mut self, item: Item) {
        self.heap.push(item);
        let h = &mut self.heap[..];
        let mut i = h.len() - 1;
        while i > 0 {
            let p = (i - 1) / 2;
            if !before(&item, &h[p]) {
                break;
            }
            h[i] = h[p];
            i = p;
        }
        h[i] = item;
    }

    #[inline]
    fn heap_pop(&mut self) {
        let last = match self.heap.pop() {
            Some(x) => x,
            None => return,
        };
        if !self.heap.is_empty() {
            self.heap[0] = last;
            self.sift_down(0);
        }
    }

    /// Moves the item at `i` down to its place.
    #[inline]
    fn sift_down(&mut self, mut i: usize) {
        let h = &mut self.heap[..];
        let n = h.len();
        let last = h[i];
        loop {
            let mut c = 2 * i + 1;
            if c >= n {
                break;
            }
            if c + 1 < n && before(&h[c + 1], &h[c]) {
                c += 1;
            }
            if !before(&h[c], &last) {
                break;
            }
            h[i] = h[c];
            i = c;
        }
        h[i] = last;
    }
}

impl Default for Core {
    fn default() -> Self {
        Core::new()
    }
}
