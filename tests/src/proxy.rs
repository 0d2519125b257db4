//! A TCP proxy between a client and a broker, for the faults no broker shows on demand: a
//! connection cut after some bytes of a response, every connection dropped and new ones
//! refused for a while (a broker or network outage), and a stall (connections stay open, nothing
//! is forwarded).
//!
//! The broker must advertise the proxy's address ([`SpawnedBroker::set_advertised_address`]),
//! so that every connection the client opens after bootstrapping passes through the proxy too.
//!
//! [`SpawnedBroker::set_advertised_address`]: crate::SpawnedBroker::set_advertised_address

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What happens when the bytes forwarded from the broker pass a threshold.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// Every connection is cut in the middle (the threshold may fall inside a response), and
    /// new connections are refused for this long.
    Outage(Duration),
}

#[derive(Debug)]
struct State {
    upstream: SocketAddr,
    /// Bytes forwarded from the broker to clients, over all connections.
    downstream_bytes: AtomicU64,
    /// Live connections (client side and broker side), to cut them.
    connections: Mutex<Vec<TcpStream>>,
    /// New connections are refused until then.
    refuse_until: Mutex<Option<Instant>>,
    /// Nothing is forwarded while set.
    stalled: AtomicBool,
    /// Faults still to happen, by downstream byte count.
    faults: Mutex<Vec<(u64, Fault)>>,
    /// Connections accepted so far.
    accepted: AtomicU64,
    /// Faults that have happened.
    fired: AtomicU64,
    stop: AtomicBool,
}

/// A TCP proxy on `127.0.0.1`, forwarding to one upstream address; stops on drop.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    state: Arc<State>,
}

impl Proxy {
    /// Starts a proxy on a free port of `127.0.0.1` that forwards to `upstream`.
    ///
    /// # Panics
    ///
    /// When no port can be bound.
    pub fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|err| panic!("cannot bind the proxy on 127.0.0.1: {err}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|err| panic!("the proxy has no address: {err}"));
        let state = Arc::new(State {
            upstream,
            downstream_bytes: AtomicU64::new(0),
            connections: Mutex::new(Vec::new()),
            refuse_until: Mutex::new(None),
            stalled: AtomicBool::new(false),
            faults: Mutex::new(Vec::new()),
            accepted: AtomicU64::new(0),
            fired: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let accept_state = state.clone();
        std::thread::spawn(move || accept_loop(Some(listener), addr, &accept_state));
        Self { addr, state }
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Once `bytes` bytes have gone from the broker to clients (counted over all
    /// connections), cuts every connection (mid-response, wherever the count falls) and refuses
    /// new connections for `refuse`. Several may be scheduled.
    pub fn outage_after(&self, bytes: u64, refuse: Duration) {
        let mut faults = lock(&self.state.faults);
        faults.push((bytes, Fault::Outage(refuse)));
        faults.sort_by_key(|(at, _)| *at);
    }

    /// Cuts every connection now and refuses new ones for `refuse` (zero: only cut).
    pub fn outage(&self, refuse: Duration) {
        outage(&self.state, refuse);
    }

    /// Stops forwarding in both directions (connections stay open) until [`Proxy::resume`].
    pub fn stall(&self) {
        self.state.stalled.store(true, Ordering::SeqCst);
    }

    /// Forwards again after [`Proxy::stall`].
    pub fn resume(&self) {
        self.state.stalled.store(false, Ordering::SeqCst);
    }

    /// Bytes forwarded from the broker to clients so far.
    pub fn downstream_bytes(&self) -> u64 {
        self.state.downstream_bytes.load(Ordering::SeqCst)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.state.accepted.load(Ordering::SeqCst)
    }

    /// Scheduled faults that have happened.
    pub fn faults_fired(&self) -> u64 {
        self.state.fired.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        outage(&self.state, Duration::ZERO);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn outage(state: &State, refuse: Duration) {
    if !refuse.is_zero() {
        *lock(&state.refuse_until) = Some(Instant::now() + refuse);
    }
    for stream in lock(&state.connections).drain(..) {
        let _ = stream.shutdown(Shutdown::Both);
    }
}

/// Accepts connections; while refusing, the listening socket is closed (clients see
/// "connection refused") and bound again on the same port afterwards.
fn accept_loop(mut listener: Option<TcpListener>, addr: SocketAddr, state: &Arc<State>) {
    while !state.stop.load(Ordering::SeqCst) {
        let refusing = lock(&state.refuse_until).is_some_and(|until| Instant::now() < until);
        if refusing {
            listener = None;
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        let Some(active) = &listener else {
            // The port is ours again after the outage (the OS lets a closed listener's port
            // be bound again at once).
            listener = TcpListener::bind(addr).ok();
            if let Some(l) = &listener {
                let _ = l.set_nonblocking(true);
            }
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        let _ = active.set_nonblocking(true);
        match active.accept() {
            Ok((client, _)) => {
                let _ = client.set_nonblocking(false);
                state.accepted.fetch_add(1, Ordering::SeqCst);
                let state = state.clone();
                std::thread::spawn(move || connect_pair(client, &state));
            }
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

fn connect_pair(client: TcpStream, state: &Arc<State>) {
    let Ok(broker) = TcpStream::connect(state.upstream) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = broker.set_nodelay(true);
    let (Ok(client_read), Ok(broker_read)) = (client.try_clone(), broker.try_clone()) else {
        return;
    };
    {
        let mut connections = lock(&state.connections);
        for stream in [&client, &broker] {
            if let Ok(clone) = stream.try_clone() {
                connections.push(clone);
            }
        }
    }
    let up = state.clone();
    std::thread::spawn(move || pump(client_read, broker, &up, false));
    pump(broker_read, client, state, true);
}

/// Copies `from` to `to` until either side closes; counts and checks faults when `downstream`.
fn pump(mut from: TcpStream, mut to: TcpStream, state: &State, downstream: bool) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        while state.stalled.load(Ordering::SeqCst) && !state.stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut chunk = &buf[..n];
        let mut fault = None;
        if downstream {
            let before = state.downstream_bytes.load(Ordering::SeqCst);
            let mut faults = lock(&state.faults);
            if let Some(&(at, f)) = faults.first()
                && before + n as u64 >= at
            {
                faults.remove(0);
                // Forward exactly up to the threshold, then the fault.
                chunk = &chunk[..(at.saturating_sub(before) as usize).min(n)];
                fault = Some(f);
            }
            state
                .downstream_bytes
                .fetch_add(chunk.len() as u64, Ordering::SeqCst);
        }
        if to.write_all(chunk).is_err() {
            break;
        }
        if let Some(Fault::Outage(refuse)) = fault {
            state.fired.fetch_add(1, Ordering::SeqCst);
            outage(state, refuse);
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
