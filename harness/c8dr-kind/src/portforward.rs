//! Local listeners forwarded to pods through kube-rs (no `kubectl port-forward` subprocesses).
//!
//! Each listener binds `127.0.0.1:0`. Every accepted connection resolves the Service to a pod
//! that runs now (Ready first) and opens its own port-forward stream, so a restarted or
//! rescheduled pod is picked up by the next connection. When the region is unreachable the
//! connection is dropped, which the HTTP clients see as "no answer".

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use c8dr_core::region::RegionId;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use crate::error::KindError;
use crate::kube::{KubeClients, pod_for_service};

/// What a listener forwards to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardTarget {
    /// Region.
    pub region: RegionId,
    /// Kube context.
    pub context: String,
    /// Namespace.
    pub namespace: String,
    /// Service resolved to a pod on every connection.
    pub service: String,
    /// Port on the pod.
    pub port: u16,
}

/// A running listener; dropping it (or [`Forwarder::stop`]) stops accepting and closes streams.
#[derive(Debug)]
pub struct Forwarder {
    address: SocketAddr,
    task: JoinHandle<()>,
}

impl Forwarder {
    /// The local address (`127.0.0.1:<ephemeral>`).
    #[must_use]
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stop accepting and abort open streams.
    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Bind a local listener for a target.
///
/// # Errors
/// The local port could not be bound.
pub async fn start(
    clients: Arc<KubeClients>,
    target: ForwardTarget,
    setup_timeout: Duration,
) -> Result<Forwarder, KindError> {
    let listener =
        TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|source| KindError::PortForward {
                context: target.context.clone(),
                namespace: target.namespace.clone(),
                pod: format!("service/{}", target.service),
                port: target.port,
                source: Box::new(source),
            })?;
    let address = listener
        .local_addr()
        .map_err(|source| KindError::PortForward {
            context: target.context.clone(),
            namespace: target.namespace.clone(),
            pod: format!("service/{}", target.service),
            port: target.port,
            source: Box::new(source),
        })?;
    tracing::debug!(
        local = %address,
        context = %target.context,
        namespace = %target.namespace,
        service = %target.service,
        port = target.port,
        "port-forward listener"
    );
    let task = tokio::spawn(accept_loop(listener, clients, target, setup_timeout));
    Ok(Forwarder { address, task })
}

async fn accept_loop(
    listener: TcpListener,
    clients: Arc<KubeClients>,
    target: ForwardTarget,
    setup_timeout: Duration,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let clients = clients.clone();
                    let target = target.clone();
                    connections.spawn(async move {
                        if let Err(error) = forward(stream, &clients, &target, setup_timeout).await {
                            tracing::debug!(%peer, service = %target.service, error = %error, "port-forward connection dropped");
                        }
                    });
                }
                Err(error) => {
                    tracing::warn!(service = %target.service, %error, "port-forward listener stopped");
                    return;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Open a port-forward to a pod currently behind the target's Service and return the stream.
///
/// # Errors
/// No pod runs, or the port-forward could not be set up in time.
pub async fn open_stream(
    clients: &KubeClients,
    target: &ForwardTarget,
    setup_timeout: Duration,
) -> Result<
    (
        String,
        impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + use<>,
    ),
    KindError,
> {
    let client = clients.get(&target.context).await?;
    let pod = pod_for_service(&client, &target.context, &target.namespace, &target.service).await?;
    let err = |source: Box<dyn std::error::Error + Send + Sync>| KindError::PortForward {
        context: target.context.clone(),
        namespace: target.namespace.clone(),
        pod: pod.clone(),
        port: target.port,
        source,
    };
    tracing::debug!(context = %target.context, namespace = %target.namespace, %pod, port = target.port, "port-forward");
    let pods: Api<Pod> = Api::namespaced(client, &target.namespace);
    let mut forwarder = tokio::time::timeout(setup_timeout, pods.portforward(&pod, &[target.port]))
        .await
        .map_err(|_| err("timed out".into()))?
        .map_err(|e| err(Box::new(e)))?;
    let stream = forwarder
        .take_stream(target.port)
        .ok_or_else(|| err("the port-forward has no stream for the port".into()))?;
    // Dropping the forwarder detaches its task (no Drop impl aborts it); the task ends when the
    // stream is closed.
    drop(forwarder);
    Ok((pod, stream))
}

async fn forward(
    mut local: TcpStream,
    clients: &KubeClients,
    target: &ForwardTarget,
    setup_timeout: Duration,
) -> Result<(), KindError> {
    let (pod, mut remote) = open_stream(clients, target, setup_timeout).await?;
    let copied = tokio::io::copy_bidirectional(&mut local, &mut remote).await;
    tracing::debug!(%pod, port = target.port, result = ?copied, "port-forward connection closed");
    Ok(())
}
