//! The fake's shared state: what every handler reads and writes (the store, the call log,
//! faults, batch jobs, the synthetic source), the connections it tracks, and [`Fake`], the
//! handle every generated service trait is implemented on (in `service`, `batch`, `search`).

use std::collections::HashMap;
use std::net::{Shutdown, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::TcpListenerStream;

use super::gate::{Call, Faults, GateConfig};
use super::memory::MemoryStream;
use super::store::CustomerData;

pub(crate) struct State {
    pub gate: GateConfig,
    pub calls: Mutex<Vec<Call>>,
    /// When the fake started, on tokio's clock: calls are stamped relative to it.
    pub started: tokio::time::Instant,
    pub faults: Mutex<Faults>,
    pub store: Mutex<HashMap<String, CustomerData>>,
    pub connections: Connections,
    pub mutate_step_latency: Duration,
    /// Every call waits this long (tokio time) before its handler runs.
    pub call_latency: Duration,
    pub batch: Mutex<super::jobs::Jobs>,
    /// Operations a running batch job executes per second of tokio time.
    pub batch_model: BatchModel,

    /// Customer -> how many generated campaigns `FROM campaign` queries also return.
    pub synthetic_campaigns: Mutex<HashMap<String, usize>>,
    /// (customer, SELECT list) -> the synthetic source's encoded batch.
    pub templates: Mutex<super::synthetic::Templates>,
    /// Bytes of SearchStream messages the transport has taken, over all calls.
    pub streamed_bytes: std::sync::atomic::AtomicU64,
    /// The quota model and what it has used up.
    pub quotas: Mutex<super::quota::Quotas>,
    /// Manager trees: who may act for whom, the accounts' statuses.
    pub trees: Mutex<super::tree::Trees>,
}

impl State {
    pub fn new(
        gate: GateConfig,
        mutate_step_latency: Duration,
        call_latency: Duration,
        batch_model: BatchModel,
        quota: super::quota::QuotaModel,
    ) -> Self {
        let store = gate
            .customers
            .iter()
            .map(|c| (c.clone(), CustomerData::default()))
            .collect();
        let started = tokio::time::Instant::now();
        Self {
            gate,
            calls: Mutex::default(),
            started,
            faults: Mutex::default(),
            store: Mutex::new(store),
            connections: Connections::default(),
            mutate_step_latency,
            call_latency,
            batch: Mutex::default(),
            batch_model,
            synthetic_campaigns: Mutex::default(),
            templates: Mutex::default(),
            streamed_bytes: Default::default(),
            quotas: Mutex::new(super::quota::Quotas::new(quota, started)),
            trees: Mutex::default(),
        }
    }
}

/// How batch jobs run in the fake.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BatchModel {
    /// Operations a running job executes per second of tokio time (without `capacity`).
    pub ops_per_second: usize,
    /// The most results one ListBatchJobResults page holds, whatever the page size asked.
    pub page_cap: usize,
    /// Operations per second for the whole server, shared by the running jobs.
    pub capacity: Option<usize>,
    /// The most pending or running jobs per customer.
    pub jobs_per_customer: usize,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A handler that panicked cannot leave the store half-written (operations check before
    // they write), so a poisoned lock is still safe to use.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Every accepted connection, loopback socket or in-memory pipe, so a test (or a fault) can
/// drop them all at once, or the one a call came on.
#[derive(Clone, Default)]
pub(crate) struct Connections(Arc<Mutex<Vec<Tracked>>>);

enum Tracked {
    Socket(std::net::TcpStream),
    Pipe(SocketAddr, Arc<super::memory::Kill>),
}

impl Tracked {
    fn peer(&self) -> Option<SocketAddr> {
        match self {
            Tracked::Socket(stream) => stream.peer_addr().ok(),
            Tracked::Pipe(peer, _) => Some(*peer),
        }
    }

    fn kill(&self) {
        match self {
            Tracked::Socket(stream) => {
                let _ = stream.shutdown(Shutdown::Both);
            }
            Tracked::Pipe(_, kill) => kill.kill(),
        }
    }

    /// A pipe goes silent; a socket cannot (the kernel answers for it), so it is dropped.
    fn silence(&self) {
        match self {
            Tracked::Socket(_) => self.kill(),
            Tracked::Pipe(_, kill) => kill.silence(),
        }
    }
}

impl Connections {
    pub fn kill_all(&self) {
        for connection in lock(&self.0).drain(..) {
            connection.kill();
        }
    }

    /// Makes the connection of the client at `peer` silent (a pipe; a socket is dropped).
    pub fn silence(&self, peer: SocketAddr) {
        self.untrack(peer, Tracked::silence);
    }

    /// Drops the connection of the client at `peer`.
    pub fn kill(&self, peer: SocketAddr) {
        self.untrack(peer, Tracked::kill);
    }

    /// Stops tracking the connection of the client at `peer`, doing `then` to it.
    fn untrack(&self, peer: SocketAddr, then: fn(&Tracked)) {
        lock(&self.0).retain(|connection| {
            if connection.peer() != Some(peer) {
                return true;
            }
            then(connection);
            false
        });
    }

    fn track(&self, stream: tokio::net::TcpStream) -> std::io::Result<tokio::net::TcpStream> {
        let std_stream = stream.into_std()?;
        lock(&self.0).push(Tracked::Socket(std_stream.try_clone()?));
        let stream = tokio::net::TcpStream::from_std(std_stream)?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    fn track_pipe(&self, stream: MemoryStream) -> MemoryStream {
        lock(&self.0).push(Tracked::Pipe(stream.peer(), stream.kill_switch()));
        stream
    }
}

pub(crate) fn incoming(
    listener: TcpListener,
    connections: Connections,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    TcpListenerStream::new(listener).map(move |accepted| connections.track(accepted?))
}

/// The in-memory connections, as [`incoming`] the sockets.
pub(crate) fn incoming_pipes(
    pipes: tokio::sync::mpsc::UnboundedReceiver<MemoryStream>,
    connections: Connections,
) -> impl tokio_stream::Stream<Item = std::io::Result<MemoryStream>> {
    tokio_stream::wrappers::UnboundedReceiverStream::new(pipes)
        .map(move |pipe| Ok(connections.track_pipe(pipe)))
}

/// The handle every generated service trait is implemented on.
#[derive(Clone)]
pub(crate) struct Fake(pub Arc<State>);
