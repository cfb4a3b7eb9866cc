//! The scheduler state: a ready ring of handle ids and a hierarchical timing
//! wheel of timers.
//!
//! Wheel shape (tokio's): 6 levels of 64 slots; a level-`L` slot spans
//! `64^L` buckets of 1 ms. A deadline `d` lives in bucket `floor(d)`, i.e.
//! bucket `b` holds deadlines in `[b, b + 1)`. Deadlines are fractional, so
//! a bucket cannot simply fire when its tick comes: every timer whose bucket
//! is `<= elapsed` sits instead in `cur`, a binary heap keyed by
//! `(deadline, seq)`, and `advance(now)` pops from it exactly the timers with
//! `deadline <= now`. Everything in `cur` precedes everything still in the
//! wheel (smaller buckets), so popping `cur` before pulling the next slot
//! yields global `(deadline, seq)` order.
//!
//! Timers beyond the wheel's 2^36-bucket block live in an overflow list that
//! is re-sorted into the wheel when time reaches its earliest bucket.

/// Wheel levels.
pub const LEVELS: usize = 6;
const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;

/// Timer tokens: entry index in the low bits, generation above, < 2^30 in
/// total so JavaScript keeps them as small integers. Same split as the
/// TypeScript core.
pub const TOKEN_INDEX_BITS: u32 = 22;
const INDEX_MASK: u32 = (1 << TOKEN_INDEX_BITS) - 1;
const GEN_MASK: u32 = (1 << (30 - TOKEN_INDEX_BITS)) - 1;
/// Most timer entries (live, or fired/cancelled and not yet recycled).
pub const MAX_ENTRIES: usize = 1 << TOKEN_INDEX_BITS;

const NIL: u32 = u32::MAX;
/// Buckets are clamped here; the clamp is monotonic, and exact order among
/// clamped timers is restored by `cur`'s deadline key.
const MAX_BUCKET: u64 = 1 << 62;

// Where an entry is (`Entry::loc`). Values below LOC_OVERFLOW are wheel list
// indices `level * 64 + slot`.
const LOC_OVERFLOW: u32 = (LEVELS * SLOTS) as u32;
const LOC_CUR: u32 = LOC_OVERFLOW + 1;
/// Cancelled while in `cur`: a heap item still refers to it, so it is only
/// recycled when that item surfaces.
const LOC_DEAD: u32 = LOC_OVERFLOW + 2;
const LOC_FIRED: u32 = LOC_OVERFLOW + 3;
const LOC_FREE: u32 = LOC_OVERFLOW + 4;
const LISTS: usize = LEVELS * SLOTS + 1;

#[derive(Clone, Copy)]
struct Entry {
    deadline: f64,
    seq: u64,
    id: u32,
    gen: u32,
    next: u32,
    prev: u32,
    loc: u32,
}

/// Keys copied inline so heap sifts do not chase entries.
#[derive(Clone, Copy)]
struct HeapItem {
    deadline: f64,
    seq: u64,
    entry: u32,
}

#[inline(always)]
fn before(a: &HeapItem, b: &HeapItem) -> bool {
    a.deadline < b.deadline || (a.deadline == b.deadline && a.seq < b.seq)
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

/// Ready-ring header, read and written directly by JavaScript through an
/// `Int32Array` over linear memory. Between export calls JavaScript owns the
/// ring; it stores `head`/`tail`/`count` here before calling any export that
/// touches the ring and reloads all fields afterwards.
#[repr(C)]
pub struct RingHdr {
    pub head: i32,
    pub tail: i32,
    pub count: i32,
    pub mask: i32,
    /// Word index (byte address / 4) of the ring's first element.
    pub base: i32,
}

/// Next wheel slot (or the overflow list, `level == LEVELS`) to process.
#[derive(Clone, Copy)]
struct Expiration {
    level: usize,
    slot: usize,
    /// First bucket the slot covers: a lower bound on its deadlines.
    start: u64,
}

/// One scheduler: ready ring plus timers.
pub struct Core {
    pub hdr: RingHdr,
    ring: Vec<i32>,
    entries: Vec<Entry>,
    heads: [u32; LISTS],
    occupied: [u64; LEVELS],
    /// Every live timer with bucket `<= elapsed` is in `cur`; the others are
    /// in the wheel, placed relative to `elapsed`.
    elapsed: u64,
    cur: Vec<HeapItem>,
    /// A lower bound on the overflow list's buckets.
    ov_min: u64,
    /// Fired by the last `advance`; recycled by the next one.
    fired: Vec<u32>,
    /// FIFO of recyclable entries: slow reuse keeps generations meaningful.
    free: Vec<u32>,
    free_head: usize,
    free_count: usize,
    seq: u64,
    live: u32,
}

impl Core {
    pub const fn new() -> Core {
        Core {
            hdr: RingHdr { head: 0, tail: 0, count: 0, mask: -1, base: 0 },
            ring: Vec::new(),
            entries: Vec::new(),
            heads: [NIL; LISTS],
            occupied: [0; LEVELS],
            elapsed: 0,
            cur: Vec::new(),
            ov_min: MAX_BUCKET,
            fired: Vec::new(),
            free: Vec::new(),
            free_head: 0,
            free_count: 0,
            seq: 0,
            live: 0,
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
        self.live as usize
    }

    pub fn reserve(&mut self, ready: usize, timers: usize) {
        if ready > self.ring.len() {
            self.ring_grow(ready);
        }
        let timers = timers.min(MAX_ENTRIES);
        if timers > self.entries.capacity() {
            self.entries.reserve_exact(timers - self.entries.len());
            self.grow_free(timers);
        }
        if timers > self.cur.capacity() {
            self.cur.reserve_exact(timers - self.cur.len());
        }
        if timers > self.fired.capacity() {
            self.fired.reserve_exact(timers - self.fired.len());
        }
    }

    /// Returns a token, or `None` when `MAX_ENTRIES` entries are in use.
    pub fn add_timer(&mut self, deadline: f64, id: u32) -> Option<u32> {
        let e = if self.free_count > 0 {
            let e = self.free[self.free_head];
            self.free_head = (self.free_head + 1) & (self.free.len() - 1);
            self.free_count -= 1;
            e
        } else {
            let n = self.entries.len();
            if n >= MAX_ENTRIES {
                return None;
            }
            self.entries.push(Entry {
                deadline: 0.0,
                seq: 0,
                id: 0,
                gen: 0,
                next: NIL,
                prev: NIL,
                loc: LOC_FREE,
            });
            if self.entries.len() > self.free.len() {
                self.grow_free(self.entries.len());
            }
            n as u32
        };
        let seq = self.seq;
        self.seq += 1;
        let ent = &mut self.entries[e as usize];
        ent.deadline = deadline;
        ent.seq = seq;
        ent.id = id;
        let gen = ent.gen;
        self.place(e, bucket(deadline));
        self.live += 1;
        Some((gen << TOKEN_INDEX_BITS) | e)
    }

    pub fn cancel_timer(&mut self, token: u32) -> bool {
        let e = token & INDEX_MASK;
        let ent = match self.entries.get_mut(e as usize) {
            Some(ent) => ent,
            None => return false,
        };
        let loc = ent.loc;
        if ent.gen != token >> TOKEN_INDEX_BITS || loc >= LOC_DEAD {
            return false;
        }
        ent.gen = (ent.gen + 1) & GEN_MASK;
        self.live -= 1;
        if loc == LOC_CUR {
            self.entries[e as usize].loc = LOC_DEAD;
        } else {
            self.unlink(e, loc);
            self.release(e);
        }
        true
    }

    /// A lower bound on the earliest live deadline (exact once the timer is
    /// in a level-0 slot), or +inf.
    pub fn next_deadline(&mut self) -> f64 {
        loop {
            self.drop_dead_top();
            if let Some(top) = self.cur.first() {
                return top.deadline;
            }
            match self.next_expiration() {
                None => return f64::INFINITY,
                // Pulling the slot into `cur` early is harmless (`cur` only
                // releases timers that are due) and makes the bound exact.
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
            while let Some(&top) = self.cur.first() {
                let e = top.entry as usize;
                if self.entries[e].loc == LOC_DEAD {
                    self.heap_pop();
                    self.release(top.entry);
                    continue;
                }
                if !(top.deadline <= now) {
                    // Everything in the wheel is later still.
                    return moved;
                }
                self.heap_pop();
                let ent = &mut self.entries[e];
                ent.loc = LOC_FIRED;
                ent.gen = (ent.gen + 1) & GEN_MASK;
                let id = ent.id;
                self.fired.push(top.entry);
                self.push_ready(id);
                self.live -= 1;
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

    // ---- internals --------------------------------------------------------

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

    fn release(&mut self, e: u32) {
        self.entries[e as usize].loc = LOC_FREE;
        // `free` is kept at least as long as `entries`, so this never laps.
        let mask = self.free.len() - 1;
        self.free[(self.free_head + self.free_count) & mask] = e;
        self.free_count += 1;
    }

    /// Files entry `e` (bucket `b`) relative to `elapsed`.
    #[inline]
    fn place(&mut self, e: u32, b: u64) {
        if b <= self.elapsed {
            let ent = &mut self.entries[e as usize];
            ent.loc = LOC_CUR;
            let item = HeapItem { deadline: ent.deadline, seq: ent.seq, entry: e };
            self.heap_push(item);
            return;
        }
        // The highest bit where `b` and `elapsed` differ picks the level;
        // `| 63` puts everything within the current 64 buckets on level 0.
        let masked = (self.elapsed ^ b) | (SLOTS as u64 - 1);
        let level = ((63 - masked.leading_zeros()) / SLOT_BITS) as usize;
        if level >= LEVELS {
            if b < self.ov_min {
                self.ov_min = b;
            }
            self.link(e, LOC_OVERFLOW);
        } else {
            let slot = ((b >> (SLOT_BITS as usize * level)) as usize) & (SLOTS - 1);
            self.occupied[level] |= 1u64 << slot;
            self.link(e, (level * SLOTS + slot) as u32);
        }
    }

    #[inline]
    fn link(&mut self, e: u32, list: u32) {
        let head = self.heads[list as usize];
        let ent = &mut self.entries[e as usize];
        ent.loc = list;
        ent.prev = NIL;
        ent.next = head;
        if head != NIL {
            self.entries[head as usize].prev = e;
        }
        self.heads[list as usize] = e;
    }

    #[inline]
    fn unlink(&mut self, e: u32, list: u32) {
        let Entry { next, prev, .. } = self.entries[e as usize];
        if prev != NIL {
            self.entries[prev as usize].next = next;
        } else {
            self.heads[list as usize] = next;
            if next == NIL && list < LOC_OVERFLOW {
                let level = list as usize / SLOTS;
                self.occupied[level] &= !(1u64 << (list as usize % SLOTS));
            }
        }
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
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
            let slot = (occ.rotate_right(now_slot).trailing_zeros() + now_slot) as usize
                & (SLOTS - 1);
            let level_range = 1u64 << (shift + SLOT_BITS);
            let start = (self.elapsed & !(level_range - 1)) + ((slot as u64) << shift);
            debug_assert!(start > self.elapsed);
            wheel = Some(Expiration { level, slot, start });
            break;
        }
        if self.heads[LOC_OVERFLOW as usize] != NIL {
            let start = self.ov_min.max(self.elapsed);
            // Overflow entries normally lie in a later 2^36 block than any
            // wheel entry, but after `elapsed` jumps into that block they
            // may not: compare.
            match wheel {
                Some(w) if w.start <= start => {}
                _ => return Some(Expiration { level: LEVELS, slot: 0, start }),
            }
        }
        wheel
    }

    /// Moves `elapsed` to `x.start` and empties slot `x` into `cur` (level
    /// 0) or re-files its entries closer to their deadlines.
    fn process(&mut self, x: Expiration) {
        let list = if x.level == LEVELS {
            self.ov_min = MAX_BUCKET;
            LOC_OVERFLOW as usize
        } else {
            self.occupied[x.level] &= !(1u64 << x.slot);
            x.level * SLOTS + x.slot
        };
        if x.start > self.elapsed {
            self.elapsed = x.start;
        }
        let mut e = self.heads[list];
        self.heads[list] = NIL;
        if x.level == 0 {
            while e != NIL {
                let ent = &mut self.entries[e as usize];
                let next = ent.next;
                ent.loc = LOC_CUR;
                let item = HeapItem { deadline: ent.deadline, seq: ent.seq, entry: e };
                self.heap_push(item);
                e = next;
            }
        } else {
            while e != NIL {
                let ent = &self.entries[e as usize];
                let next = ent.next;
                let b = bucket(ent.deadline);
                self.place(e, b);
                e = next;
            }
        }
    }

    fn drop_dead_top(&mut self) {
        while let Some(&top) = self.cur.first() {
            if self.entries[top.entry as usize].loc != LOC_DEAD {
                return;
            }
            self.heap_pop();
            self.release(top.entry);
        }
    }

    #[inline]
    fn heap_push(&mut self, item: HeapItem) {
        self.cur.push(item);
        let h = &mut self.cur[..];
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
        let last = match self.cur.pop() {
            Some(x) => x,
            None => return,
        };
        let h = &mut self.cur[..];
        let n = h.len();
        if n == 0 {
            return;
        }
        let mut i = 0;
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
