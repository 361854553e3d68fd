//! TCP over `wasi:sockets` (Preview 2): connect, listen, accept, and
//! deadline-bounded reads and writes on the connection's streams.
//!
//! Addresses are numeric ([`SocketAddr`]); this module does no name lookup.

use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use std::string::String;
use std::vec::Vec;

use wasip2::io::poll::Pollable;
use wasip2::io::streams::{InputStream, OutputStream, StreamError};
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::network::{
    IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
};
use wasip2::sockets::tcp::{ShutdownType, TcpSocket};
use wasip2::sockets::tcp_create_socket::create_tcp_socket;

pub use wasip2::sockets::network::ErrorCode;

use super::clock::Deadline;

/// Why [`TcpStream::connect`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectError {
    /// The connection was not established before the deadline.
    TimedOut,
    /// The host refused a step (socket creation, the connect itself:
    /// `connection-refused`, `remote-unreachable`, `access-denied` when the
    /// runtime grants no network, e.g. wasmtime without `-S inherit-network`).
    Socket(ErrorCode),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TimedOut => {
                f.write_str("connect timed out; is the peer listening and reachable?")
            }
            Self::Socket(ErrorCode::AccessDenied) => f.write_str(
                "connect: access-denied: the runtime grants no network access \
                 (wasmtime: run with -S inherit-network=y)",
            ),
            Self::Socket(code) => write!(f, "connect: {}: {}", code.name(), code.message()),
        }
    }
}

impl core::error::Error for ConnectError {}

/// Why [`TcpListener::bind`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListenError {
    /// The host refused a step (socket creation, bind, listen):
    /// `address-in-use`, `address-not-bindable`, `access-denied` when the
    /// runtime grants no network (wasmtime: `-S inherit-network=y`).
    Socket(ErrorCode),
}

impl fmt::Display for ListenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Socket(ErrorCode::AccessDenied) => f.write_str(
                "listen: access-denied: the runtime grants no network access \
                 (wasmtime: run with -S inherit-network=y)",
            ),
            Self::Socket(code) => write!(f, "listen: {}: {}", code.name(), code.message()),
        }
    }
}

impl core::error::Error for ListenError {}

/// Why [`TcpListener::accept`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AcceptError {
    /// No connection arrived before the deadline.
    TimedOut,
    /// The host reported an error; `connection-aborted` and
    /// `connection-reset` concern one incoming connection only, and the
    /// listener can accept the next one.
    Socket(ErrorCode),
}

impl fmt::Display for AcceptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TimedOut => f.write_str("accept: no connection before the deadline"),
            Self::Socket(code) => write!(f, "accept: {}: {}", code.name(), code.message()),
        }
    }
}

impl core::error::Error for AcceptError {}

/// Why a read or a write on an open [`TcpStream`] failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IoError {
    /// The deadline passed before the stream was ready.
    TimedOut,
    /// The peer closed the connection while we were writing.
    PeerClosed,
    /// The host reported the stream's last operation failed (connection
    /// reset, aborted...); the text is the host's description.
    Failed(String),
}

impl fmt::Display for IoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TimedOut => f.write_str("timed out waiting for the peer"),
            Self::PeerClosed => f.write_str("the peer closed the connection"),
            Self::Failed(text) => write!(f, "connection failed: {text}"),
        }
    }
}

impl core::error::Error for IoError {}

fn stream_error(e: StreamError) -> IoError {
    match e {
        StreamError::Closed => IoError::PeerClosed,
        StreamError::LastOperationFailed(err) => IoError::Failed(err.to_debug_string()),
    }
}

/// A connected TCP socket with its input and output streams.
///
/// Created by [`TcpStream::connect`] or [`TcpListener::accept`]. Dropping it
/// closes the connection.
pub struct TcpStream {
    // Fields drop in declaration order, and WASI requires a child resource
    // to be dropped before its parent: the pollables (children of the
    // streams) first, then the streams (children of the socket), then the
    // socket.
    /// Ready when `input` has bytes or is closed.
    readable: Pollable,
    /// Ready when `output` accepts bytes (or a flush completed).
    writable: Pollable,
    input: InputStream,
    output: OutputStream,
    socket: TcpSocket,
    peer: SocketAddr,
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

impl TcpStream {
    fn from_parts(
        socket: TcpSocket,
        input: InputStream,
        output: OutputStream,
        peer: SocketAddr,
    ) -> Self {
        Self {
            readable: input.subscribe(),
            writable: output.subscribe(),
            input,
            output,
            socket,
            peer,
        }
    }

    /// Connects to `addr` (`start-connect`, wait on the socket's pollable,
    /// `finish-connect`), giving up when `deadline` passes.
    pub fn connect(addr: SocketAddr, deadline: &mut Deadline) -> Result<Self, ConnectError> {
        let network = instance_network();
        let socket = create_tcp_socket(family(&addr)).map_err(ConnectError::Socket)?;
        socket
            .start_connect(&network, to_wasi(addr))
            .map_err(ConnectError::Socket)?;
        // Declared after `socket`, so dropped before it on every path.
        let ready = socket.subscribe();
        loop {
            match socket.finish_connect() {
                Ok((input, output)) => {
                    drop(ready);
                    return Ok(Self::from_parts(socket, input, output, addr));
                }
                Err(ErrorCode::WouldBlock) => {
                    deadline.wait(&ready).map_err(|_| ConnectError::TimedOut)?;
                }
                Err(code) => return Err(ConnectError::Socket(code)),
            }
        }
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// Our end's address.
    pub fn local_addr(&self) -> Result<SocketAddr, ErrorCode> {
        self.socket.local_address().map(from_wasi)
    }

    /// Reads at most `max` bytes (`max` >= 1), waiting until at least one is
    /// there. `Ok(None)` when the peer closed its side (end of stream).
    ///
    /// Preview 2's `input-stream.read` returns an owned `list<u8>`: the
    /// bindings allocate it (at most `max` bytes) and the caller drops it.
    pub(crate) fn read_some(
        &self,
        max: usize,
        deadline: &mut Deadline,
    ) -> Result<Option<Vec<u8>>, IoError> {
        let max = u64::try_from(max).unwrap_or(u64::MAX).max(1);
        loop {
            match self.input.read(max) {
                Ok(chunk) if !chunk.is_empty() => return Ok(Some(chunk)),
                Ok(_) => deadline
                    .wait(&self.readable)
                    .map_err(|_| IoError::TimedOut)?,
                Err(StreamError::Closed) => return Ok(None),
                Err(e) => return Err(stream_error(e)),
            }
        }
    }

    /// Writes all of `bytes` and flushes, waiting for the host to accept
    /// them (`check-write`, `write`, `flush`, then the flush's completion),
    /// giving up when `deadline` passes.
    pub(crate) fn write_all(
        &self,
        mut bytes: &[u8],
        deadline: &mut Deadline,
    ) -> Result<(), IoError> {
        while !bytes.is_empty() {
            let permit = self.writable_len(deadline)?;
            let n = usize::try_from(permit)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            let (now, rest) = bytes.split_at(n);
            self.output.write(now).map_err(stream_error)?;
            bytes = rest;
        }
        self.output.flush().map_err(stream_error)?;
        // The stream accepts writes again once the flush has completed; a
        // failure of the flushed bytes shows up here.
        self.writable_len(deadline)?;
        Ok(())
    }

    /// Waits until `check-write` permits at least one byte; returns how many.
    fn writable_len(&self, deadline: &mut Deadline) -> Result<u64, IoError> {
        loop {
            match self.output.check_write() {
                Ok(0) => deadline
                    .wait(&self.writable)
                    .map_err(|_| IoError::TimedOut)?,
                Ok(n) => return Ok(n),
                Err(e) => return Err(stream_error(e)),
            }
        }
    }

    /// Shuts both directions down (the peer sees end of stream); the
    /// resources are released when `self` is dropped. Errors are ignored:
    /// the socket is going away either way.
    pub fn shutdown(&self) {
        let _ = self.socket.shutdown(ShutdownType::Both);
    }
}

/// A TCP socket listening for connections.
pub struct TcpListener {
    // Drop order: the pollable (a child of the socket) first.
    /// Ready when a connection can be accepted.
    ready: Pollable,
    socket: TcpSocket,
    local: SocketAddr,
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl TcpListener {
    /// Binds `addr` (port 0: any free port) and listens with a queue of at
    /// most `backlog` connections not yet accepted (the host may cap it
    /// lower).
    ///
    /// Bind and listen are local operations that the host completes without
    /// the network, so they wait without a deadline.
    pub fn bind(addr: SocketAddr, backlog: u32) -> Result<Self, ListenError> {
        let network = instance_network();
        let socket = create_tcp_socket(family(&addr)).map_err(ListenError::Socket)?;
        let ready = socket.subscribe();
        socket
            .start_bind(&network, to_wasi(addr))
            .map_err(ListenError::Socket)?;
        finish(|| socket.finish_bind(), &ready)?;
        socket
            .set_listen_backlog_size(u64::from(backlog).max(1))
            .map_err(ListenError::Socket)?;
        socket.start_listen().map_err(ListenError::Socket)?;
        finish(|| socket.finish_listen(), &ready)?;
        let local = socket
            .local_address()
            .map(from_wasi)
            .map_err(ListenError::Socket)?;
        Ok(Self {
            ready,
            socket,
            local,
        })
    }

    /// The bound address (with the port the host chose for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Accepts the next connection, waiting until one arrives or `deadline`
    /// passes.
    pub fn accept(&self, deadline: &mut Deadline) -> Result<TcpStream, AcceptError> {
        loop {
            match self.socket.accept() {
                Ok((socket, input, output)) => {
                    let peer = socket
                        .remote_address()
                        .map(from_wasi)
                        .map_err(AcceptError::Socket)?;
                    return Ok(TcpStream::from_parts(socket, input, output, peer));
                }
                Err(ErrorCode::WouldBlock) => {
                    deadline
                        .wait(&self.ready)
                        .map_err(|_| AcceptError::TimedOut)?;
                }
                Err(code) => return Err(AcceptError::Socket(code)),
            }
        }
    }
}

/// Runs a `finish-*` step until it stops saying `would-block`.
fn finish(step: impl Fn() -> Result<(), ErrorCode>, ready: &Pollable) -> Result<(), ListenError> {
    loop {
        match step() {
            Ok(()) => return Ok(()),
            Err(ErrorCode::WouldBlock) => ready.block(),
            Err(code) => return Err(ListenError::Socket(code)),
        }
    }
}

fn family(addr: &SocketAddr) -> IpAddressFamily {
    match addr {
        SocketAddr::V4(_) => IpAddressFamily::Ipv4,
        SocketAddr::V6(_) => IpAddressFamily::Ipv6,
    }
}

fn to_wasi(addr: SocketAddr) -> IpSocketAddress {
    match addr {
        SocketAddr::V4(a) => {
            let [b0, b1, b2, b3] = a.ip().octets();
            IpSocketAddress::Ipv4(Ipv4SocketAddress {
                port: a.port(),
                address: (b0, b1, b2, b3),
            })
        }
        SocketAddr::V6(a) => {
            let [s0, s1, s2, s3, s4, s5, s6, s7] = a.ip().segments();
            IpSocketAddress::Ipv6(Ipv6SocketAddress {
                port: a.port(),
                flow_info: a.flowinfo(),
                address: (s0, s1, s2, s3, s4, s5, s6, s7),
                scope_id: a.scope_id(),
            })
        }
    }
}

fn from_wasi(addr: IpSocketAddress) -> SocketAddr {
    match addr {
        IpSocketAddress::Ipv4(a) => {
            let (b0, b1, b2, b3) = a.address;
            SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(b0, b1, b2, b3), a.port))
        }
        IpSocketAddress::Ipv6(a) => {
            let (s0, s1, s2, s3, s4, s5, s6, s7) = a.address;
            SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::new(s0, s1, s2, s3, s4, s5, s6, s7),
                a.port,
                a.flow_info,
                a.scope_id,
            ))
        }
    }
}
