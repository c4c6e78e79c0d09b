//! The fake's in-memory transport: each connection a `tokio::io::duplex` pipe instead of a
//! loopback socket, for runs on tokio's paused clock.
//!
//! Why: a paused clock jumps to the next timer whenever the runtime has nothing ready, and a
//! task waiting on a socket counts as nothing ready (tokio issue 4522), so over TCP the
//! transport's own timers (keepalive, connect and attempt timeouts) can fire at moments that
//! depend on the kernel, and one seed does not replay one run. A pipe's write wakes its
//! reader at once, inside the runtime: time moves only when every task waits on a timer.
//!
//! A pipe can be broken as a socket can (the state's `Connections` kills
//! both kinds): the server's end then fails every read and write, hyper drops it, and the
//! client's end sees the connection gone. A pipe can also go silent, which a socket cannot:
//! the server's end swallows what hyper writes and discards what the client sends, so only
//! the client's keep-alive finds the connection dead (then it closes its end, and the
//! server's sees the end of the stream).

use std::io;
use std::net::{Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};
use tokio::sync::mpsc;
use tonic::transport::server::{Connected, TcpConnectInfo};
use tonic::transport::{Channel, Endpoint};

/// Bytes a pipe buffers each way: about a socket's buffer, so a large upload takes turns
/// between writer and reader as it would over loopback.
const PIPE_BYTES: usize = 256 * 1024;

/// The server's end of one in-memory connection.
pub(crate) struct MemoryStream {
    pipe: DuplexStream,
    peer: SocketAddr,
    kill: Arc<Kill>,
}

/// The switch that breaks a pipe, and the tasks to wake when it does.
#[derive(Default)]
pub(crate) struct Kill {
    killed: AtomicBool,
    silent: AtomicBool,
    reader: AtomicWaker,
    writer: AtomicWaker,
}

impl Kill {
    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        self.reader.wake();
        self.writer.wake();
    }

    pub fn silence(&self) {
        self.silent.store(true, Ordering::SeqCst);
        self.reader.wake();
        self.writer.wake();
    }

    fn is_silent(&self) -> bool {
        self.silent.load(Ordering::SeqCst)
    }

    fn check(&self, waker: &AtomicWaker, cx: &Context<'_>) -> io::Result<()> {
        waker.register(cx.waker());
        if self.killed.load(Ordering::SeqCst) {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "connection dropped by the fake",
            ));
        }
        Ok(())
    }
}

impl MemoryStream {
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    pub fn kill_switch(&self) -> Arc<Kill> {
        self.kill.clone()
    }
}

impl AsyncRead for MemoryStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.kill.check(&self.kill.reader, cx)?;
        if !self.kill.is_silent() {
            return Pin::new(&mut self.pipe).poll_read(cx, buf);
        }
        // Silent: what the client sends is lost; only the end of its stream comes through.
        let mut lost = [0u8; 8192];
        loop {
            let mut sink = ReadBuf::new(&mut lost);
            match Pin::new(&mut self.pipe).poll_read(cx, &mut sink) {
                Poll::Ready(Ok(())) if sink.filled().is_empty() => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(())) => continue,
                other => return other,
            }
        }
    }
}

impl AsyncWrite for MemoryStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.kill.check(&self.kill.writer, cx)?;
        if self.kill.is_silent() {
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.pipe).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.kill.check(&self.kill.writer, cx)?;
        if self.kill.is_silent() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.pipe).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.pipe).poll_shutdown(cx)
    }
}

impl Connected for MemoryStream {
    // The peer address is how a fault finds the connection of the call it hits.
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        TcpConnectInfo {
            local_addr: None,
            remote_addr: Some(self.peer),
        }
    }
}

/// Hands new pipes' server ends to the fake's in-memory server.
#[derive(Clone)]
pub(crate) struct Dialer {
    accept: mpsc::UnboundedSender<MemoryStream>,
    next_peer: Arc<AtomicU64>,
}

impl Dialer {
    pub fn new() -> (Self, mpsc::UnboundedReceiver<MemoryStream>) {
        let (accept, incoming) = mpsc::unbounded_channel();
        let dialer = Self {
            accept,
            next_peer: Arc::new(AtomicU64::new(1)),
        };
        (dialer, incoming)
    }

    /// A lazily connecting channel whose every connection is a new pipe to the fake.
    pub fn channel(&self) -> Channel {
        let dialer = self.clone();
        // The transport's own connection rules: its keep-alive is what finds a silent pipe.
        let endpoint =
            crate::transport::with_connection_rules(Endpoint::from_static("http://in-memory.fake"));
        endpoint.connect_with_connector_lazy(tower::service_fn(move |_: http::Uri| {
            let dialer = dialer.clone();
            async move { dialer.dial().map(hyper_util::rt::TokioIo::new) }
        }))
    }

    fn dial(&self) -> io::Result<DuplexStream> {
        let (client, server) = tokio::io::duplex(PIPE_BYTES);
        // Each pipe gets an address of its own (an IPv6 address counting up, never reused) so
        // a fault can drop exactly the connection of the call it hits.
        let id = self.next_peer.fetch_add(1, Ordering::Relaxed);
        let stream = MemoryStream {
            pipe: server,
            peer: SocketAddr::from((Ipv6Addr::from(u128::from(id)), 0)),
            kill: Arc::default(),
        };
        self.accept.send(stream).map_err(|_| {
            io::Error::new(io::ErrorKind::ConnectionRefused, "the fake has stopped")
        })?;
        Ok(client)
    }
}
