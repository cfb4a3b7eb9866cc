//! Native tests of the scheduler (`cargo test`): the wasm build runs the
//! same code, so behaviour proven here holds there too.

use crate::sched::Core;

fn drain(c: &mut Core) -> Vec<u32> {
    let mut out = Vec::new();
    while c.ready_count() > 0 {
        out.push(c.pop_ready());
    }
    out
}

fn add(c: &mut Core, deadline: f64, id: u32) -> u32 {
    c.add_timer(deadline, id).expect("entry table full")
}

/// Runs `advance(next_deadline())` until a timer fires, bounding the steps
/// so a lack of progress fails instead of hanging.
fn step_to_next(c: &mut Core) -> (f64, Vec<u32>) {
    for _ in 0..16 {
        let t = c.next_deadline();
        if t == f64::INFINITY {
            return (t, Vec::new());
        }
        if c.advance(t) > 0 {
            return (t, drain(c));
        }
    }
    panic!("advance(next_deadline()) made no progress");
}

#[test]
fn ready_ring_is_fifo_and_grows() {
    let mut c = Core::new();
    for i in 0..1000 {
        c.push_ready(i);
    }
    for i in 0..500 {
        assert_eq!(c.pop_ready(), i);
    }
    for i in 1000..3000 {
        c.push_ready(i);
    }
    assert_eq!(c.ready_count(), 2500);
    assert_eq!(drain(&mut c), (500..3000).collect::<Vec<_>>());
}

#[test]
fn orders_by_deadline_then_insertion() {
    let mut c = Core::new();
    add(&mut c, 5.0, 1);
    add(&mut c, 3.0, 2);
    add(&mut c, 5.0, 3);
    add(&mut c, 3.0, 4);
    add(&mut c, 4.5, 5);
    add(&mut c, 3.0, 6);
    assert_eq!(c.advance(10.0), 6);
    assert_eq!(drain(&mut c), vec![2, 4, 6, 5, 1, 3]);
    assert_eq!(c.timer_count(), 0);
}

#[test]
fn fired_timers_go_behind_ready_ids() {
    let mut c = Core::new();
    add(&mut c, 1.0, 7);
    c.push_ready(100);
    c.push_ready(101);
    assert_eq!(c.advance(1.0), 1);
    assert_eq!(drain(&mut c), vec![100, 101, 7]);
}

#[test]
fn never_fires_early() {
    let mut c = Core::new();
    add(&mut c, 10.25, 1);
    add(&mut c, 10.0, 2);
    add(&mut c, 9.999, 3);
    assert_eq!(c.advance(9.99), 0);
    assert_eq!(c.advance(9.999), 1);
    assert_eq!(drain(&mut c), vec![3]);
    assert_eq!(c.advance(10.2), 1);
    assert_eq!(drain(&mut c), vec![2]);
    assert_eq!(c.advance(10.249999), 0);
    assert_eq!(c.advance(10.25), 1);
    assert_eq!(drain(&mut c), vec![1]);
}

#[test]
fn fractional_deadlines_within_one_bucket() {
    let mut c = Core::new();
    let ds = [7.9, 7.1, 7.5, 7.0, 7.5, 7.99];
    for (i, &d) in ds.iter().enumerate() {
        add(&mut c, d, i as u32);
    }
    let mut fired = Vec::new();
    let mut last = f64::NEG_INFINITY;
    while c.timer_count() > 0 {
        let (t, ids) = step_to_next(&mut c);
        assert!(t >= last);
        last = t;
        fired.extend(ids);
    }
    assert_eq!(fired, vec![3, 1, 2, 4, 0, 5]);
}

#[test]
fn past_and_negative_deadlines_fire_on_next_advance() {
    let mut c = Core::new();
    c.advance(1000.0);
    add(&mut c, 500.0, 1);
    add(&mut c, -3.0, 2);
    add(&mut c, 999.5, 3);
    add(&mut c, 1000.0, 4);
    add(&mut c, 1000.5, 5);
    assert_eq!(c.next_deadline(), -3.0);
    assert_eq!(c.advance(1000.0), 4);
    assert_eq!(drain(&mut c), vec![2, 1, 3, 4]);
    assert_eq!(c.timer_count(), 1);
}

#[test]
fn cancel_live_fired_and_stale() {
    let mut c = Core::new();
    let a = add(&mut c, 10.0, 1);
    let b = add(&mut c, 20.0, 2);
    let far = add(&mut c, 1e7, 3);
    assert!(c.cancel_timer(a));
    assert!(!c.cancel_timer(a), "already cancelled");
    assert!(c.cancel_timer(far));
    assert_eq!(c.timer_count(), 1);
    assert_eq!(c.advance(30.0), 1);
    assert_eq!(drain(&mut c), vec![2]);
    assert!(!c.cancel_timer(b), "already fired");
    // Recycle entries until the cancelled ones are reused: their old tokens
    // must stay dead.
    let mut fresh = Vec::new();
    for i in 0..64 {
        fresh.push(add(&mut c, 100.0 + i as f64, 10 + i));
    }
    assert!(!c.cancel_timer(a));
    assert!(!c.cancel_timer(b));
    assert!(!c.cancel_timer(far));
    assert_eq!(c.timer_count(), 64);
    assert!(!c.cancel_timer(0x3fff_ffff), "never issued");
    for t in fresh {
        assert!(c.cancel_timer(t));
    }
    assert_eq!(c.timer_count(), 0);
    assert_eq!(c.next_deadline(), f64::INFINITY);
}

#[test]
fn cancel_in_current_bucket_and_just_fired() {
    let mut c = Core::new();
    let a = add(&mut c, 5.2, 1);
    let b = add(&mut c, 5.4, 2);
    let d = add(&mut c, 5.6, 3);
    // Pulls the bucket into the heap.
    assert_eq!(c.next_deadline(), 5.2);
    assert!(c.cancel_timer(a));
    assert_eq!(c.next_deadline(), 5.4);
    assert_eq!(c.advance(5.5), 1);
    // Same batch: the entry of `b` is not recycled before the next advance.
    let e = add(&mut c, 5.5, 4);
    assert!(!c.cancel_timer(b));
    assert!(c.cancel_timer(e));
    assert!(c.cancel_timer(d));
    assert_eq!(drain(&mut c), vec![2]);
    assert_eq!(c.advance(100.0), 0);
    assert_eq!(c.timer_count(), 0);
}

#[test]
fn cascades_between_levels() {
    let mut c = Core::new();
    // One timer per level, plus neighbours straddling slot boundaries.
    let ds = [
        3.0,
        63.5,
        64.0,
        64.5,
        4095.0,
        4096.0,
        4097.25,
        262_143.9,
        262_144.0,
        16_777_216.5,
        1_073_741_824.0,
        68_719_476_735.0,
    ];
    for (i, &d) in ds.iter().enumerate().rev() {
        add(&mut c, d, i as u32);
    }
    let mut fired = Vec::new();
    while c.timer_count() > 0 {
        let (t, ids) = step_to_next(&mut c);
        for &id in &ids {
            assert_eq!(ds[id as usize], t, "fires exactly at its deadline");
        }
        fired.extend(ids);
    }
    assert_eq!(fired, (0..ds.len() as u32).collect::<Vec<_>>());
}

#[test]
fn cascades_with_big_jumps() {
    let mut c = Core::new();
    for i in 0..1000u32 {
        add(&mut c, (i as f64) * 12_345.678, i);
    }
    // Advance in uneven strides; each stride must release exactly the timers
    // due by then.
    let mut now = 0.0;
    let mut fired = Vec::new();
    while c.timer_count() > 0 {
        now += 77_777.7;
        let n = c.advance(now) as usize;
        let ids = drain(&mut c);
        assert_eq!(n, ids.len());
        for &id in &ids {
            assert!((id as f64) * 12_345.678 <= now);
        }
        fired.extend(ids);
        if let Some(&next) = fired.last() {
            let upcoming = (next + 1) as f64 * 12_345.678;
            assert!(upcoming > now || c.timer_count() == 0);
        }
    }
    assert_eq!(fired, (0..1000).collect::<Vec<_>>());
}

#[test]
fn far_deadlines_days_and_beyond_the_wheel() {
    let mut c = Core::new();
    let day = 86_400_000.0;
    let ds = [
        2.0 * day,
        1.5,
        365.0 * day,
        900.0 * day, // beyond 2^36 ms (~795 days): overflow list
        5000.0 * day,
        1e300,
        f64::MAX,
        900.0 * day, // tie, keeps insertion order
    ];
    for (i, &d) in ds.iter().enumerate() {
        add(&mut c, d, i as u32);
    }
    assert_eq!(c.advance(day), 1);
    assert_eq!(drain(&mut c), vec![1]);
    let mut fired = Vec::new();
    while c.timer_count() > 0 {
        let (t, ids) = step_to_next(&mut c);
        for &id in &ids {
            assert_eq!(ds[id as usize], t);
        }
        fired.extend(ids);
    }
    assert_eq!(fired, vec![0, 2, 3, 7, 4, 5, 6]);
}

#[test]
fn overflow_entries_after_elapsed_jumps_into_their_block() {
    let mut c = Core::new();
    let block = (1u64 << 36) as f64;
    // Lands in the overflow list (next 2^36 block).
    add(&mut c, block + 10.0, 1);
    // Jump close to it without reaching it: elapsed now shares its block.
    assert_eq!(c.advance(block + 1.0), 0);
    // Relative to the new origin this one goes into the wheel, yet fires
    // after the overflow entry.
    add(&mut c, block + 20.0, 2);
    add(&mut c, block + 5.0, 3);
    assert_eq!(c.advance(block + 30.0), 3);
    assert_eq!(drain(&mut c), vec![3, 1, 2]);
}

#[test]
fn overflow_entry_sharing_a_bucket_with_a_wheel_slot() {
    let mut c = Core::new();
    let block = (1u64 << 36) as f64;
    add(&mut c, block + 10.25, 1); // overflow list
    assert_eq!(c.advance(block + 1.0), 0);
    add(&mut c, block + 10.5, 2); // wheel, same 1 ms bucket
    assert_eq!(c.advance(block + 10.3), 1);
    assert_eq!(drain(&mut c), vec![1]);
    assert_eq!(c.advance(block + 10.5), 1);
    assert_eq!(drain(&mut c), vec![2]);
}

#[test]
fn next_deadline_converges_and_is_a_lower_bound() {
    let mut c = Core::new();
    let mut rng = Rng(7);
    let mut want = Vec::new();
    for i in 0..5000u32 {
        let d = rng.float() * 1e9;
        add(&mut c, d, i);
        want.push((d, i));
    }
    want.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let mut k = 0;
    while c.timer_count() > 0 {
        let t = c.next_deadline();
        assert!(t <= want[k].0, "bound {} above earliest {}", t, want[k].0);
        let (t, ids) = step_to_next(&mut c);
        for id in ids {
            assert_eq!(want[k], (t, id));
            k += 1;
        }
    }
    assert_eq!(k, want.len());
}

#[test]
fn virtual_clock_drain_is_fast() {
    // 200k timers in [0, 100) ms fired one advance(next_deadline()) at a
    // time; quadratic behaviour would take minutes, not milliseconds.
    let mut c = Core::new();
    let mut rng = Rng(42);
    let n = 200_000;
    for i in 0..n {
        add(&mut c, rng.float() * 100.0, i);
    }
    let mut last = f64::NEG_INFINITY;
    let mut count = 0;
    let start = std::time::Instant::now();
    while c.timer_count() > 0 {
        let t = c.next_deadline();
        assert!(t >= last);
        last = t;
        count += c.advance(t);
        drain(&mut c);
    }
    assert_eq!(count, n);
    assert!(start.elapsed().as_secs() < 5);
}

#[test]
fn reserve_then_steady_state() {
    let mut c = Core::new();
    c.reserve(1024, 4096);
    let mut rng = Rng(3);
    let mut live = Vec::new();
    let mut now = 0.0;
    for i in 0..4000u32 {
        live.push(add(&mut c, now + rng.float() * 1000.0, i));
    }
    for i in 0..100_000u32 {
        let k = (rng.next() % live.len() as u64) as usize;
        let t = live.swap_remove(k);
        c.cancel_timer(t);
        live.push(add(&mut c, now + rng.float() * 1000.0, i));
        now += 0.01;
        c.advance(now);
        drain(&mut c);
    }
}

/// Differential check against a naive model: a sorted list of live timers.
#[test]
fn matches_naive_model() {
    let mut rng = Rng(0xdead_beef);
    for round in 0..20 {
        let mut c = Core::new();
        // (deadline, seq, id, token, alive)
        let mut model: Vec<(f64, u64, u32, u32)> = Vec::new();
        let mut dead_tokens: Vec<u32> = Vec::new();
        let mut seq = 0u64;
        // Odd rounds start just before a 2^36 ms boundary, where the wheel
        // hands over to its overflow list.
        let mut now = if round % 2 == 0 {
            (round as f64) * 1e6
        } else {
            ((round as u64) << 36) as f64 - 3000.0
        };
        let mut expect_ready: Vec<u32> = Vec::new();
        for step in 0..20_000u32 {
            match rng.next() % 10 {
                0..=3 => {
                    let d = match rng.next() % 7 {
                        0 => now + (rng.next() % 5) as f64,
                        1 => now + rng.float() * 100.0,
                        2 => now - rng.float() * 10.0,
                        3 => now + rng.float() * 1e8,
                        4 => now + (rng.next() % 100) as f64 * 64.0,
                        5 => now + rng.float() * 10_000.0,
                        _ => now + rng.float() * 3e11,
                    };
                    let t = add(&mut c, d, step);
                    model.push((d, seq, step, t));
                    seq += 1;
                }
                4 if !model.is_empty() => {
                    let k = (rng.next() % model.len() as u64) as usize;
                    let (_, _, _, t) = model.remove(k);
                    assert!(c.cancel_timer(t));
                    dead_tokens.push(t);
                }
                5 if !dead_tokens.is_empty() => {
                    let k = (rng.next() % dead_tokens.len() as u64) as usize;
                    assert!(!c.cancel_timer(dead_tokens[k]));
                }
                6 => {
                    c.push_ready(step);
                    expect_ready.push(step);
                }
                7 => {
                    let t = c.next_deadline();
                    let min = model.iter().map(|m| m.0).fold(f64::INFINITY, f64::min);
                    assert!(t <= min);
                    if t.is_finite() && t > now {
                        now = t;
                    }
                    fire(&mut c, &mut model, &mut dead_tokens, &mut expect_ready, now);
                }
                _ => {
                    now += match rng.next() % 4 {
                        0 => rng.float(),
                        1 => rng.float() * 100.0,
                        2 => rng.float() * 1000.0,
                        _ => rng.float() * 1e6,
                    };
                    fire(&mut c, &mut model, &mut dead_tokens, &mut expect_ready, now);
                }
            }
            assert_eq!(c.timer_count(), model.len());
            if rng.next() % 4 == 0 {
                assert_eq!(drain(&mut c), expect_ready);
                expect_ready.clear();
            }
        }
    }

    fn fire(
        c: &mut Core,
        model: &mut Vec<(f64, u64, u32, u32)>,
        dead: &mut Vec<u32>,
        ready: &mut Vec<u32>,
        now: f64,
    ) {
        model.sort_by(|a, b| (a.0, a.1).partial_cmp(&(b.0, b.1)).unwrap());
        let n = model.iter().take_while(|m| m.0 <= now).count();
        for m in model.drain(..n) {
            ready.push(m.2);
            dead.push(m.3);
        }
        assert_eq!(c.advance(now) as usize, n);
        if dead.len() > 200 {
            dead.drain(..100);
        }
    }
}

/// Model check around a 2^36 ms boundary, where the wheel hands timers over
/// from its overflow list: dense timers straddling the boundary, small
/// steps, so overflow and wheel entries share buckets.
#[test]
fn matches_naive_model_across_the_wheel_horizon() {
    let mut rng = Rng(0x5eed);
    for round in 1..40u64 {
        let edge = (round << 36) as f64;
        let mut c = Core::new();
        let mut model: Vec<(f64, u64, u32, u32)> = Vec::new();
        let mut ready: Vec<u32> = Vec::new();
        let mut seq = 0u64;
        let mut now = edge - 40.0;
        for step in 0..3000u32 {
            match rng.next() % 5 {
                0 | 1 => {
                    let d = edge - 40.0 + rng.float() * 120.0;
                    let d = if rng.next() % 3 == 0 { d.floor() } else { d };
                    let t = add(&mut c, d, step);
                    model.push((d, seq, step, t));
                    seq += 1;
                }
                2 if !model.is_empty() => {
                    let k = (rng.next() % model.len() as u64) as usize;
                    let (_, _, _, t) = model.remove(k);
                    assert!(c.cancel_timer(t));
                }
                3 => {
                    let t = c.next_deadline();
                    let min = model.iter().map(|m| m.0).fold(f64::INFINITY, f64::min);
                    assert!(t <= min, "bound {} above {}", t, min);
                }
                _ => {
                    now += rng.float() * 3.0;
                    model.sort_by(|a, b| (a.0, a.1).partial_cmp(&(b.0, b.1)).unwrap());
                    let n = model.iter().take_while(|m| m.0 <= now).count();
                    ready.extend(model.drain(..n).map(|m| m.2));
                    assert_eq!(c.advance(now) as usize, n, "round {} step {}", round, step);
                    assert_eq!(drain(&mut c), ready);
                    ready.clear();
                }
            }
            assert_eq!(c.timer_count(), model.len());
        }
    }
}

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn float(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn mass_cancel_sweeps_tombstones_and_keeps_order() {
    let mut c = Core::new();
    let mut rng = Rng(99);
    let mut toks = Vec::new();
    let mut want = Vec::new();
    // Current-bucket timers too, so the sweep also filters the run and heap.
    add(&mut c, 0.5, 1_000_000);
    assert_eq!(c.next_deadline(), 0.5);
    for i in 0..50_000u32 {
        let d = match i % 3 {
            0 => 0.6 + rng.float() * 0.4,
            1 => rng.float() * 5000.0,
            _ => rng.float() * 1e12,
        };
        toks.push((add(&mut c, d, i), d, i));
    }
    for (k, &(t, d, i)) in toks.iter().enumerate() {
        if k % 10 != 0 {
            assert!(c.cancel_timer(t));
        } else {
            want.push((d, i));
        }
    }
    assert_eq!(c.timer_count(), 5001);
    for &(t, _, _) in toks.iter().skip(1).step_by(10) {
        assert!(!c.cancel_timer(t));
    }
    want.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(c.advance(0.5), 1);
    assert_eq!(drain(&mut c), vec![1_000_000]);
    assert_eq!(c.advance(f64::MAX), 5000);
    let got = drain(&mut c);
    assert_eq!(got, want.iter().map(|w| w.1).collect::<Vec<_>>());
    // Entries were recycled, not leaked: refilling reuses them.
    for i in 0..60_000u32 {
        add(&mut c, f64::MAX, i);
    }
    assert_eq!(c.timer_count(), 60_000);
}
