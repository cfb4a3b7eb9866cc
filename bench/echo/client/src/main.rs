//! W9's load generator, the same for every echo server under test.
//!
//! `echo_client HOST PORT CONNECTIONS SIZE SECONDS [--warmup S] [--max N] [--timeout S]`
//!
//! Opens CONNECTIONS TCP connections (TCP_NODELAY, one thread each). Each
//! connection sends a SIZE-byte message, reads until the whole echo is back,
//! checks it byte for byte, and sends the next. Requests that start during the
//! first `--warmup` seconds (default 0) are not counted; then the clock runs for
//! SECONDS, or until `--max` requests (over all connections) are counted. A
//! socket that blocks longer than `--timeout` seconds (default 10) fails the run.
//!
//! Prints one JSON line:
//! `{"req_per_s", "mib_per_s", "p50_us", "p99_us", "n", "seconds", "connections", "size"}`
//! where `mib_per_s` counts the payload echoed (one direction) and the
//! percentiles are round-trip latencies of counted requests. Any echo that
//! differs from what was sent, a closed connection or an I/O error: a message on
//! stderr, no JSON, exit code 1.
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::process::exit;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

/// Messages are windows of one pattern at an offset that changes per request,
/// so a stale, repeated or misplaced echo never matches by accident.
const PERIOD: usize = 251;

struct Config {
    addr: SocketAddr,
    connections: usize,
    size: usize,
    seconds: f64,
    warmup: f64,
    max: u64,
    timeout: f64,
}

struct Outcome {
    latencies_ns: Vec<u64>,
    /// Set when the connection stopped at the deadline (not at its share of `max`).
    hit_deadline: bool,
    /// End of its last counted request.
    last_end: Option<Instant>,
}

fn usage(msg: &str) -> ! {
    eprintln!("echo_client: {msg}");
    eprintln!(
        "usage: echo_client HOST PORT CONNECTIONS SIZE SECONDS \
         [--warmup S] [--max N] [--timeout S]"
    );
    exit(2);
}

fn parse<T: std::str::FromStr>(what: &str, s: &str) -> T {
    s.parse().unwrap_or_else(|_| usage(&format!("bad {what}: {s:?}")))
}

fn config() -> Config {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 5 {
        usage("expected 5 positional arguments");
    }
    let addr = (args[0].as_str(), parse::<u16>("port", &args[1]))
        .to_socket_addrs()
        .unwrap_or_else(|e| usage(&format!("cannot resolve {}: {e}", args[0])))
        .next()
        .unwrap_or_else(|| usage(&format!("no address for {}", args[0])));
    let mut c = Config {
        addr,
        connections: parse("connections", &args[2]),
        size: parse("size", &args[3]),
        seconds: parse("seconds", &args[4]),
        warmup: 0.0,
        max: u64::MAX,
        timeout: 10.0,
    };
    let mut rest = args[5..].iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--warmup" => c.warmup = parse("--warmup", value),
            "--max" => c.max = parse("--max", value),
            "--timeout" => c.timeout = parse("--timeout", value),
            _ => usage(&format!("unknown option {flag}")),
        }
    }
    if c.connections == 0 || c.size == 0 || !(c.seconds > 0.0) || c.warmup < 0.0 || c.max == 0 {
        usage("connections, size, seconds and --max must be positive, --warmup not negative");
    }
    if !(c.timeout > 0.0) {
        usage("--timeout must be positive");
    }
    c
}

fn fail(conn: usize, msg: String) -> ! {
    eprintln!("echo_client: connection {conn}: {msg}");
    exit(1);
}

/// One connection's loop; its own thread.
fn connection(
    id: usize,
    mut stream: TcpStream,
    c: Arc<Config>,
    start: Arc<Barrier>,
    t0: Instant,
) -> Outcome {
    let size = c.size;
    let pattern: Vec<u8> =
        (0..size + PERIOD).map(|i| (i.wrapping_mul(7) ^ id.wrapping_mul(61)) as u8).collect();
    let mut echo = vec![0u8; size];
    // Requests per connection: its share of --max, rounded up.
    let cap = if c.max == u64::MAX {
        u64::MAX
    } else {
        (c.max + c.connections as u64 - 1) / c.connections as u64
    };
    let mut latencies_ns: Vec<u64> = Vec::with_capacity(1 << 16);
    start.wait();
    let measure_from = t0 + Duration::from_secs_f64(c.warmup);
    let deadline = measure_from + Duration::from_secs_f64(c.seconds);
    let mut last_end = None;
    let mut seq: usize = 0;
    loop {
        let off = seq % PERIOD;
        let msg = &pattern[off..off + size];
        let sent = Instant::now();
        if sent >= deadline {
            return Outcome { latencies_ns, hit_deadline: true, last_end };
        }
        if let Err(e) = stream.write_all(msg) {
            fail(id, format!("write of request {seq} failed: {e}"));
        }
        let mut got = 0;
        while got < size {
            match stream.read(&mut echo[got..]) {
                Ok(0) => fail(id, format!("closed by the server after {got} of {size} bytes")),
                Ok(k) => got += k,
                Err(e) => fail(id, format!("read of request {seq} failed after {got} bytes: {e}")),
            }
        }
        let end = Instant::now();
        if echo != msg {
            let at = echo.iter().zip(msg).position(|(a, b)| a != b).unwrap_or(0);
            fail(
                id,
                format!(
                    "echo of request {seq} differs at byte {at} of {size}: got {}, sent {}",
                    echo[at], msg[at]
                ),
            );
        }
        seq += 1;
        if sent >= measure_from && end <= deadline {
            latencies_ns.push((end - sent).as_nanos() as u64);
            last_end = Some(end);
            if latencies_ns.len() as u64 >= cap {
                return Outcome { latencies_ns, hit_deadline: false, last_end };
            }
        }
    }
}

fn main() {
    let c = Arc::new(config());
    let timeout = Duration::from_secs_f64(c.timeout);
    // Connect every connection before any thread starts sending.
    let streams: Vec<TcpStream> = (0..c.connections)
        .map(|id| {
            let s = TcpStream::connect_timeout(&c.addr, timeout)
                .unwrap_or_else(|e| fail(id, format!("cannot connect to {}: {e}", c.addr)));
            s.set_nodelay(true).unwrap_or_else(|e| fail(id, format!("TCP_NODELAY: {e}")));
            s.set_read_timeout(Some(timeout)).unwrap_or_else(|e| fail(id, e.to_string()));
            s.set_write_timeout(Some(timeout)).unwrap_or_else(|e| fail(id, e.to_string()));
            s
        })
        .collect();
    let start = Arc::new(Barrier::new(c.connections + 1));
    // The clock starts when the threads are about to (spawning 10 threads takes microseconds).
    let t0 = Instant::now();
    let threads: Vec<_> = streams
        .into_iter()
        .enumerate()
        .map(|(id, s)| {
            let (c, start) = (c.clone(), start.clone());
            thread::Builder::new()
                .name(format!("conn-{id}"))
                .spawn(move || connection(id, s, c, start, t0))
                .unwrap_or_else(|e| fail(id, format!("cannot start its thread: {e}")))
        })
        .collect();
    start.wait();
    let outcomes: Vec<Outcome> = threads
        .into_iter()
        .map(|t| t.join().unwrap_or_else(|_| exit(1)))
        .collect();

    let measure_from = t0 + Duration::from_secs_f64(c.warmup);
    let elapsed = if outcomes.iter().any(|o| o.hit_deadline) {
        c.seconds
    } else {
        // Every connection reached its share of --max before the deadline.
        outcomes
            .iter()
            .filter_map(|o| o.last_end)
            .max()
            .map_or(c.seconds, |e| (e - measure_from).as_secs_f64())
    };
    let mut all: Vec<u64> = outcomes.into_iter().flat_map(|o| o.latencies_ns).collect();
    if all.is_empty() {
        eprintln!("echo_client: no request completed inside the measured window");
        exit(1);
    }
    all.sort_unstable();
    let n = all.len();
    let pct = |p: f64| all[(((n as f64) * p).ceil() as usize).clamp(1, n) - 1] as f64 / 1e3;
    let req_per_s = n as f64 / elapsed;
    println!(
        "{{\"req_per_s\":{:.1},\"mib_per_s\":{:.2},\"p50_us\":{:.1},\"p99_us\":{:.1},\"n\":{},\
         \"seconds\":{:.3},\"connections\":{},\"size\":{}}}",
        req_per_s,
        req_per_s * c.size as f64 / (1024.0 * 1024.0),
        pct(0.50),
        pct(0.99),
        n,
        elapsed,
        c.connections,
        c.size
    );
}
