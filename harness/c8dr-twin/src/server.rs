//! Listeners: binding, serving, and the "does not answer" behaviour of lost regions.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::http::Shared;

/// Where the twin's listeners bind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// Every listener on 127.0.0.1:0 (drills and tests run in parallel without port
    /// conflicts).
    Ephemeral,
    /// Region r on 127.0.0.(10+r) with the real ports 8080/9600/9200; control on
    /// 127.0.0.1:`control_port`.
    LoopbackRange {
        /// Port of the control API.
        control_port: u16,
    },
    /// All regions on `bind`; region r's ports are the real ports + r × `port_offset`;
    /// control on `bind:control_port`.
    Offset {
        /// Address every listener binds to.
        bind: IpAddr,
        /// Port distance between regions.
        port_offset: u16,
        /// Port of the control API.
        control_port: u16,
    },
}

/// Which surface a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Surface {
    Rest,
    Management,
    Elasticsearch,
}

impl Surface {
    fn real_port(self) -> u16 {
        match self {
            Self::Rest => 8080,
            Self::Management => 9600,
            Self::Elasticsearch => 9200,
        }
    }
}

impl Binding {
    /// The address of `surface` in region `r`.
    pub(crate) fn region_addr(&self, r: u8, surface: Surface) -> SocketAddr {
        match self {
            Self::Ephemeral => SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            Self::LoopbackRange { .. } => SocketAddr::new(
                IpAddr::V4(Ipv4Addr::new(127, 0, 0, 10u8.saturating_add(r))),
                surface.real_port(),
            ),
            Self::Offset {
                bind, port_offset, ..
            } => SocketAddr::new(
                *bind,
                surface
                    .real_port()
                    .saturating_add(port_offset.saturating_mul(u16::from(r))),
            ),
        }
    }

    /// Where a twin started with this binding listens, for clients of a twin running elsewhere
    /// (`c8dr run --backend twin-serve`). Ports of [`Binding::Ephemeral`] are only known once the
    /// twin runs: use [`crate::RunningTwin::endpoints`] for those.
    #[must_use]
    pub fn endpoints(&self, regions: u8) -> crate::TwinEndpoints {
        crate::TwinEndpoints {
            regions: (0..regions)
                .map(|r| crate::RegionEndpoints {
                    region: r,
                    rest: self.region_addr(r, Surface::Rest),
                    management: self.region_addr(r, Surface::Management),
                    elasticsearch: self.region_addr(r, Surface::Elasticsearch),
                })
                .collect(),
            control: self.control_addr(),
        }
    }

    /// The address of the control API.
    pub(crate) fn control_addr(&self) -> SocketAddr {
        match self {
            Self::Ephemeral => SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            Self::LoopbackRange { control_port } => {
                SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), *control_port)
            }
            Self::Offset {
                bind, control_port, ..
            } => SocketAddr::new(*bind, *control_port),
        }
    }
}

/// Decides whether a region's listener answers right now.
#[derive(Debug, Clone)]
pub(crate) struct Gate {
    shared: Arc<Shared>,
    region: u8,
    surface: Surface,
}

impl Gate {
    pub(crate) fn new(shared: Arc<Shared>, region: u8, surface: Surface) -> Self {
        Self {
            shared,
            region,
            surface,
        }
    }

    /// Whether the region answers a new connection: the world is advanced to now first, so
    /// a region whose pods have just become ready answers.
    fn open(&self) -> bool {
        let r = self.region;
        match self.surface {
            Surface::Rest | Surface::Management => self.shared.with(|w| w.region_serves_camunda(r)),
            Surface::Elasticsearch => self.shared.with(|w| w.region_serves_elasticsearch(r)),
        }
    }

    /// Whether an established connection may keep reading. Regions stop answering only
    /// through platform operations, which apply at once, so this does not advance the world
    /// (it runs on every read).
    fn still_open(&self) -> bool {
        let r = self.region;
        match self.surface {
            Surface::Rest | Surface::Management => self.shared.peek(|w| w.region_serves_camunda(r)),
            Surface::Elasticsearch => self.shared.peek(|w| w.region_serves_elasticsearch(r)),
        }
    }
}

/// A listener that accepts and immediately resets connections while its gate is shut.
pub(crate) struct GatedListener {
    inner: TcpListener,
    gate: Option<Gate>,
}

impl GatedListener {
    pub(crate) fn new(inner: TcpListener, gate: Option<Gate>) -> Self {
        Self { inner, gate }
    }
}

impl axum::serve::Listener for GatedListener {
    type Io = GatedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    if self.gate.as_ref().is_none_or(Gate::open) {
                        let _ = stream.set_nodelay(true);
                        return (
                            GatedStream {
                                stream,
                                gate: self.gate.clone(),
                            },
                            addr,
                        );
                    }
                    tracing::debug!(%addr, "region does not answer: resetting connection");
                    // A zero linger makes the close a reset whether or not the client's request
                    // has arrived yet. A plain close would be a reset in one case and an orderly
                    // end of stream in the other, so the same seed could fail a step with two
                    // different reasons (and `c8dr mutate` print two different tables).
                    let _ = stream.set_zero_linger();
                    drop(stream);
                }
                Err(e) => {
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection that is reset once its region stops answering, so kept-alive connections die
/// with the region too.
pub(crate) struct GatedStream {
    stream: TcpStream,
    gate: Option<Gate>,
}

impl GatedStream {
    fn is_cut(&self) -> bool {
        self.gate.as_ref().is_some_and(|g| !g.still_open())
    }
}

impl AsyncRead for GatedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.is_cut() {
            // Reset, as the listener does for new connections: an orderly end of stream would
            // race with the client's request and fail it with a different error each time.
            let _ = self.stream.set_zero_linger();
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for GatedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.is_cut() {
            // No FIN before the reset the drop sends.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Serves `router` on `listener` until `shutdown` flips.
pub(crate) fn spawn_server(
    listener: GatedListener,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let serve =
            axum::serve(listener, router.into_make_service()).with_graceful_shutdown(async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            });
        if let Err(e) = serve.await {
            tracing::debug!(error = %e, "twin listener stopped");
        }
    })
}
