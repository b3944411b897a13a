//! Two scripted kind clusters, for driving the real `KindBackend` without a Docker engine, kind,
//! helm or a Kubernetes API server.
//!
//! - [`FakeKind`] serves each region's Kubernetes API on its own local HTTP/1.1 listener and
//!   keeps the objects written to it (apply, merge patch, create, delete, label selectors). The
//!   backend's kube-rs clients reach it through the crate's `KubeFactory` seam
//!   ([`FakeFactory`]). A `tower_test` mock (as in `kube_mock.rs`) cannot serve `exec` and
//!   `portforward`: kube-rs upgrades those to WebSockets with `hyper::upgrade::on`, which needs
//!   a real HTTP connection. So this server speaks just enough HTTP/1.1 and WebSocket (RFC 6455,
//!   the `v5.channel.k8s.io`/`v4.channel.k8s.io` subprotocols) for the probe `exec`s and the
//!   port-forwards to the gateway, whose `GET /v2/topology` it answers from the clusters' state.
//! - [`SimRunner`] wraps the crate's `RecordingRunner` (which records every argv and answers
//!   `docker inspect` from its script) and applies what kind, helm and docker would do to the
//!   fake clusters: clusters created and deleted, routes, paused nodes, releases installed and
//!   uninstalled (pods, StatefulSets, the unified ConfigMap, Helm's release Secrets, PVCs).
//!   Tools fail as they would: a missing `-f`/`--config` file, a node that does not exist.
//! - [`FakeMinio`] stands in for the testcontainers MinIO through the backend's
//!   `StoreLauncher` seam.
//!
//! Everything that happens is appended, in order, to one log of [`Event`]s.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use c8dr_kind::runner::{CommandOutput, CommandRunner, Invocation, RecordingRunner};
use c8dr_kind::snapshot::{RunningStore, StoreLauncher};
use c8dr_kind::{KindConfig, KindError, KubeFactory};
use futures::future::BoxFuture;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The S3 secret key the fake store hands out; it must never appear in a printed line.
pub const FAKE_S3_SECRET: &str = "fake-s3-secret-7f3a9c";
/// The fake store's endpoint on the `kind` network.
pub const FAKE_S3_ENDPOINT: &str = "172.18.0.100:9000";

/// A command that failed in a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    /// Exit code (143: killed by `timeout`).
    pub code: i32,
    /// What it printed on standard error.
    pub stderr: String,
}

impl Failed {
    fn wget(stderr: &str) -> Self {
        Self {
            code: 1,
            stderr: stderr.to_owned(),
        }
    }
}

/// One recorded thing.
#[derive(Debug, Clone)]
pub enum Event {
    /// The test entered a part of the drill: `setup`, a step id, `teardown`, or a reachability
    /// check of its own (`reach <from> <to> <when>`).
    Section(String),
    /// The test asks the backend what an expectation needs (`reachable` for `isolated`,
    /// `release` for `webApps`), which the plan lists in the step: what follows is checked
    /// against the step's lines.
    Listed(String),
    /// What the backend answered.
    Answer(String),
    /// A kind, helm or docker command line (secrets redacted).
    Command(String),
    /// A plain Kubernetes API request.
    Kube(KubeCall),
    /// `exec` in a pod (WebSocket).
    Exec {
        /// Context.
        context: String,
        /// Namespace.
        namespace: String,
        /// Pod.
        pod: String,
        /// Command.
        command: Vec<String>,
        /// What the command printed, or how it failed.
        result: Result<String, Failed>,
    },
    /// `portforward` to a pod (WebSocket).
    PortForward {
        /// Context.
        context: String,
        /// Namespace.
        namespace: String,
        /// Pod.
        pod: String,
        /// Port.
        port: u16,
    },
    /// A request to a gateway through a port-forward.
    Gateway {
        /// Context of the gateway's cluster.
        context: String,
        /// Namespace.
        namespace: String,
        /// `GET /v2/topology`.
        request: String,
        /// Whether it carried the chart's demo/demo credentials.
        authorized: bool,
        /// Broker ids answered.
        brokers: Vec<u32>,
    },
    /// The snapshot store was started with this image and bucket.
    StoreStart {
        /// Image.
        image: String,
        /// Bucket.
        bucket: String,
    },
    /// The snapshot store was removed.
    StoreStop,
    /// `kind create cluster` bind-mounted this existing host directory into the node.
    HostMount {
        /// The host directory.
        host: String,
        /// Its permission bits when the cluster was created.
        mode: u32,
    },
}

/// A plain Kubernetes API request.
#[derive(Debug, Clone)]
pub struct KubeCall {
    /// Context (which fake API server).
    pub context: String,
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Query string (as sent).
    pub query: String,
    /// `content-type`.
    pub content_type: String,
    /// JSON body (`Null` when none).
    pub body: Value,
    /// Status answered (0: no answer, the cluster is gone or its node paused).
    pub status: u16,
}

impl KubeCall {
    /// The path parsed.
    pub fn target(&self) -> Option<Target> {
        parse_path(&self.path)
    }

    /// A query parameter (decoded).
    pub fn param(&self, name: &str) -> Option<String> {
        query_pairs(&self.query)
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

impl Event {
    /// One line for the snapshot.
    pub fn render(&self) -> String {
        match self {
            Event::Section(name) => format!("## {name}"),
            Event::Listed(what) => format!("### expectation {what} (listed in the plan)"),
            Event::Answer(what) => format!("  -> {what}"),
            Event::Command(line) => format!("$ {line}"),
            Event::Kube(call) => {
                let kind = match call.content_type.as_str() {
                    "application/apply-patch+yaml" => " (server-side apply)",
                    "application/merge-patch+json" => " (merge patch)",
                    _ => "",
                };
                let query = if call.query.is_empty() {
                    String::new()
                } else {
                    format!("?{}", call.query)
                };
                let status = match call.status {
                    0 => "no answer".to_owned(),
                    code => code.to_string(),
                };
                format!(
                    "kube {}: {} {}{query}{kind} -> {status}",
                    call.context, call.method, call.path
                )
            }
            Event::Exec {
                context,
                namespace,
                pod,
                command,
                result,
            } => format!(
                "kube {context}: exec {namespace}/{pod}: {} -> {}",
                command.join(" "),
                match result {
                    Ok(out) => format!("{:?}", out.trim()),
                    Err(Failed { code, stderr }) if stderr.trim().is_empty() =>
                        format!("failed (exit {code})"),
                    Err(Failed { code, stderr }) =>
                        format!("failed (exit {code}): {}", stderr.trim()),
                }
            ),
            Event::PortForward {
                context,
                namespace,
                pod,
                port,
            } => format!("kube {context}: portforward {namespace}/{pod} port {port}"),
            Event::Gateway {
                context,
                namespace,
                request,
                authorized,
                brokers,
            } => format!(
                "gateway {context}/{namespace}: {request}{} -> brokers {brokers:?}",
                if *authorized { "" } else { " (NOT AUTHORIZED)" }
            ),
            Event::StoreStart { image, bucket } => {
                format!("store: start {image}, bucket {bucket}")
            }
            Event::StoreStop => "store: stop".to_owned(),
            Event::HostMount { host, mode } => {
                format!("kind mounts host directory {host} (mode {mode:o})")
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Paths, queries, label selectors

/// A Kubernetes API path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The collection's path, for example `/api/v1/namespaces/camunda-region0/pods`.
    pub collection: String,
    /// `v1`, `apps/v1`, `networking.k8s.io/v1`.
    pub api_version: String,
    /// `pods`.
    pub resource: String,
    /// Namespace of a namespaced resource.
    pub namespace: Option<String>,
    /// Object name.
    pub name: Option<String>,
    /// Subresource (`exec`, `portforward`).
    pub subresource: Option<String>,
}

/// Parse `/api/v1/...` and `/apis/<group>/<version>/...` paths.
pub fn parse_path(path: &str) -> Option<Target> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let prefix = match *segments.first()? {
        "api" => 2,
        "apis" => 3,
        _ => return None,
    };
    let api_version = segments.get(1..prefix)?.join("/");
    let base = format!("/{}", segments.get(..prefix)?.join("/"));
    let rest = segments.get(prefix..)?;
    match rest {
        // Cluster-scoped: namespaces, nodes.
        [resource] => Some(Target {
            collection: format!("{base}/{resource}"),
            api_version,
            resource: (*resource).to_owned(),
            namespace: None,
            name: None,
            subresource: None,
        }),
        [resource, name] => Some(Target {
            collection: format!("{base}/{resource}"),
            api_version,
            resource: (*resource).to_owned(),
            namespace: None,
            name: Some((*name).to_owned()),
            subresource: None,
        }),
        ["namespaces", ns, resource, more @ ..] if more.len() <= 2 => Some(Target {
            collection: format!("{base}/namespaces/{ns}/{resource}"),
            api_version,
            resource: (*resource).to_owned(),
            namespace: Some((*ns).to_owned()),
            name: more.first().map(|s| (*s).to_owned()),
            subresource: more.get(1).map(|s| (*s).to_owned()),
        }),
        _ => None,
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decoded query pairs, in order.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

fn labels_match(object: &Value, selector: Option<&str>) -> bool {
    let Some(selector) = selector.filter(|s| !s.is_empty()) else {
        return true;
    };
    selector.split(',').all(|term| match term.split_once('=') {
        Some((k, v)) => object["metadata"]["labels"][k].as_str() == Some(v),
        None => false,
    })
}

fn kind_of(resource: &str) -> &'static str {
    match resource {
        "namespaces" => "Namespace",
        "nodes" => "Node",
        "events" => "Event",
        "pods" => "Pod",
        "services" => "Service",
        "secrets" => "Secret",
        "configmaps" => "ConfigMap",
        "persistentvolumeclaims" => "PersistentVolumeClaim",
        "networkpolicies" => "NetworkPolicy",
        "statefulsets" => "StatefulSet",
        _ => "Unknown",
    }
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "reason": reason, "code": code, "message": message
    })
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// SHA-1 and base64, for the WebSocket handshake and Secret data

fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let mut message = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&bit_len.to_be_bytes());
    for chunk in message.chunks(64) {
        let mut w = [0u32; 80];
        for (i, word) in chunk.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let temp = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = temp;
        }
        for (slot, value) in h.iter_mut().zip([a, b, c, d, e]) {
            *slot = slot.wrapping_add(value);
        }
    }
    let mut out = [0u8; 20];
    for (i, word) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn sha1_and_base64_match_known_vectors() {
    // RFC 6455 §1.3's example handshake.
    let accept = base64(&sha1(
        b"dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11",
    ));
    assert_eq!(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_eq!(base64(b"demo:demo"), "ZGVtbzpkZW1v");
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.1 and WebSocket framing

struct HttpRequest {
    method: String,
    path: String,
    query: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl HttpRequest {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }
}

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk).await {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    async fn take(&mut self, n: usize) -> Option<Vec<u8>> {
        while self.buf.len() < n {
            if !self.fill().await {
                return None;
            }
        }
        Some(self.buf.drain(..n).collect())
    }

    async fn read_request(&mut self) -> Option<HttpRequest> {
        let head = loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head: Vec<u8> = self.buf.drain(..end + 4).collect();
                break String::from_utf8_lossy(&head[..end]).into_owned();
            }
            if !self.fill().await {
                return None;
            }
        };
        let request = parse_head(&head)?;
        let length: usize = request
            .headers
            .get("content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        let body = self.take(length).await?;
        Some(HttpRequest { body, ..request })
    }

    async fn write_text(&mut self, text: &str) -> bool {
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{text}",
            text.len()
        );
        self.stream.write_all(response.as_bytes()).await.is_ok()
    }

    async fn write_json(&mut self, status: u16, body: &Value) -> bool {
        let text = serde_json::to_vec(body).unwrap_or_default();
        let mut response = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            reason(status),
            text.len()
        )
        .into_bytes();
        response.extend_from_slice(&text);
        self.stream.write_all(&response).await.is_ok()
    }

    async fn upgrade(&mut self, request: &HttpRequest, protocol: &str) -> bool {
        let key = request.header("sec-websocket-key");
        let accept = base64(&sha1(
            format!("{key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11").as_bytes(),
        ));
        let head = format!(
            "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: {accept}\r\nsec-websocket-protocol: {protocol}\r\n\r\n"
        );
        self.stream.write_all(head.as_bytes()).await.is_ok()
    }

    /// Send one unmasked frame (server to client).
    async fn send_frame(&mut self, opcode: u8, payload: &[u8]) -> bool {
        let mut frame = vec![0x80 | opcode];
        match payload.len() {
            n if n < 126 => frame.push(u8::try_from(n).unwrap_or(0)),
            n if n <= 0xFFFF => {
                frame.push(126);
                frame.extend_from_slice(&u16::try_from(n).unwrap_or(0).to_be_bytes());
            }
            n => {
                frame.push(127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(payload);
        self.stream.write_all(&frame).await.is_ok()
    }

    /// Receive one frame (client to server, masked): opcode and payload.
    async fn recv_frame(&mut self) -> Option<(u8, Vec<u8>)> {
        let head = self.take(2).await?;
        let opcode = head[0] & 0x0F;
        let masked = head[1] & 0x80 != 0;
        let len = match head[1] & 0x7F {
            126 => {
                let b = self.take(2).await?;
                usize::from(u16::from_be_bytes([b[0], b[1]]))
            }
            127 => {
                let b = self.take(8).await?;
                usize::try_from(u64::from_be_bytes(b.try_into().ok()?)).ok()?
            }
            n => usize::from(n),
        };
        let mask = if masked {
            self.take(4).await?
        } else {
            vec![0; 4]
        };
        let mut payload = self.take(len).await?;
        for (i, byte) in payload.iter_mut().enumerate() {
            *byte ^= mask[i % 4];
        }
        Some((opcode, payload))
    }

    /// Close the WebSocket and wait (briefly) for the client to close too.
    async fn close_ws(&mut self) {
        let _ = self.send_frame(0x8, &1000u16.to_be_bytes()).await;
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some((opcode, _)) = self.recv_frame().await {
                if opcode == 0x8 {
                    break;
                }
            }
        })
        .await;
        let _ = self.stream.shutdown().await;
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        401 => "Unauthorized",
        404 => "Not Found",
        409 => "Conflict",
        _ => "Status",
    }
}

fn parse_head(head: &str) -> Option<HttpRequest> {
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let target = first.next()?;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some(HttpRequest {
        method,
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: Vec::new(),
    })
}

// ---------------------------------------------------------------------------------------------
// The clusters

#[derive(Debug, Default)]
struct Region {
    /// `kind create cluster` ran (and no `kind delete cluster` since).
    exists: bool,
    /// `docker pause` of the node.
    paused: bool,
    /// Objects by collection path and name.
    objects: BTreeMap<String, BTreeMap<String, Value>>,
    /// Routes on the node: destination → gateway.
    routes: BTreeMap<String, String>,
    /// Last pod IP handed out (host part).
    last_ip: u32,
    /// Helm revision of the installed release.
    release: Option<u64>,
    /// The node container's bind mounts (`extraMounts` of the kind config): source, destination.
    mounts: Vec<(String, String)>,
}

#[derive(Debug, Default)]
struct State {
    regions: Vec<Region>,
    store_running: bool,
    /// Connections established before c8dr's NetworkPolicies still carry gossip (only with
    /// `FakeKind::connections_survive_policies`, until pods are deleted).
    connections_survive: bool,
}

/// Two kind clusters, scripted.
pub struct FakeKind {
    config: KindConfig,
    brokers_per_region: u32,
    connections_survive_policies: bool,
    log: Mutex<Vec<Event>>,
    state: Mutex<State>,
    addresses: Vec<SocketAddr>,
}

impl std::fmt::Debug for FakeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeKind").finish_non_exhaustive()
    }
}

/// The Corefile of a fresh kind cluster.
pub const KIND_COREFILE: &str = ".:53 {\n    errors\n    health {\n       lameduck 5s\n    }\n    ready\n    kubernetes cluster.local in-addr.arpa ip6.arpa {\n       pods insecure\n       fallthrough in-addr.arpa ip6.arpa\n       ttl 30\n    }\n    prometheus :9153\n    forward . /etc/resolv.conf {\n       max_concurrent 1000\n    }\n    cache 30\n    loop\n    reload\n    loadbalance\n}\n";

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn subnet_base(cidr: &str) -> Ipv4Addr {
    cidr.split('/')
        .next()
        .and_then(|ip| ip.parse().ok())
        .unwrap_or(Ipv4Addr::UNSPECIFIED)
}

fn in_subnet(ip: &str, cidr: &str) -> bool {
    let (Ok(ip), Some(bits)) = (
        ip.parse::<Ipv4Addr>(),
        cidr.split('/').nth(1).and_then(|b| b.parse::<u32>().ok()),
    ) else {
        return false;
    };
    let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
    u32::from(ip) & mask == u32::from(subnet_base(cidr)) & mask
}

enum Reply {
    Json(u16, Value),
    Text(String),
    Exec(Result<String, Failed>),
    Tunnel { port: u16 },
}

impl FakeKind {
    /// Start the API servers (one per region); no cluster exists yet. With
    /// `connections_survive_policies`, established connections keep working after c8dr's
    /// NetworkPolicies are applied until pods are deleted (kube-network-policies evaluates
    /// policies per new connection).
    pub async fn start(
        config: KindConfig,
        brokers_per_region: u32,
        connections_survive_policies: bool,
    ) -> Arc<Self> {
        let mut listeners = Vec::new();
        for _ in config.region_ids() {
            listeners.push(TcpListener::bind("127.0.0.1:0").await.expect("bind"));
        }
        let addresses = listeners
            .iter()
            .map(|l| l.local_addr().expect("address"))
            .collect();
        let fake = Arc::new(Self {
            state: Mutex::new(State {
                regions: config.region_ids().map(|_| Region::default()).collect(),
                store_running: false,
                connections_survive: false,
            }),
            config,
            brokers_per_region,
            connections_survive_policies,
            log: Mutex::new(Vec::new()),
            addresses,
        });
        for (region, listener) in listeners.into_iter().enumerate() {
            let fake = fake.clone();
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(fake.clone().serve(region, stream));
                }
            });
        }
        fake
    }

    /// Append to the log.
    pub fn record(&self, event: Event) {
        lock(&self.log).push(event);
    }

    /// Everything recorded so far.
    pub fn events(&self) -> Vec<Event> {
        lock(&self.log).clone()
    }

    /// `context/namespace` of every pod with this name in a cluster that exists.
    pub fn pods_named(&self, name: &str) -> Vec<String> {
        let state = lock(&self.state);
        let mut found = Vec::new();
        for (region, r) in state.regions.iter().enumerate() {
            let context = self.config.context(Self::id(region));
            for (collection, objects) in &r.objects {
                if collection.ends_with("/pods") && objects.contains_key(name) {
                    found.push(format!("{context}{}", collection.trim_end_matches("/pods")));
                }
            }
        }
        found
    }

    /// The node IP of a region on the `kind` network: its Node's `InternalIP`.
    pub fn node_ip(region: usize) -> String {
        format!("172.18.0.{}", region + 2)
    }

    fn region_of_context(&self, context: &str) -> Option<usize> {
        self.config
            .region_ids()
            .find(|r| self.config.context(*r) == context)
            .map(|r| r.index())
    }

    fn region_where(
        &self,
        f: impl Fn(c8dr_core::region::RegionId) -> String,
        value: &str,
    ) -> Option<usize> {
        self.config
            .region_ids()
            .find(|r| f(*r) == value)
            .map(|r| r.index())
    }

    fn id(region: usize) -> c8dr_core::region::RegionId {
        c8dr_core::region::RegionId(u8::try_from(region).unwrap_or(0))
    }

    fn namespace(&self, region: usize) -> String {
        self.config.namespace(Self::id(region))
    }

    fn network(&self, region: usize) -> (String, String) {
        let network = &self.config.networks[region];
        (network.pod_subnet.clone(), network.service_subnet.clone())
    }

    async fn serve(self: Arc<Self>, region: usize, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let mut conn = Conn {
            stream,
            buf: Vec::new(),
        };
        while let Some(request) = conn.read_request().await {
            // `Some(paused)` when no API server answers: the cluster is gone or its node frozen.
            let down = {
                let state = lock(&self.state);
                let r = &state.regions[region];
                (!r.exists || r.paused).then_some(r.exists)
            };
            if let Some(paused) = down {
                self.record(Event::Kube(KubeCall {
                    context: self.config.context(Self::id(region)),
                    method: request.method.clone(),
                    path: request.path.clone(),
                    query: request.query.clone(),
                    content_type: request.header("content-type").to_owned(),
                    body: serde_json::from_slice(&request.body).unwrap_or(Value::Null),
                    status: 0,
                }));
                if paused {
                    // The node's kernel accepted the connection; its frozen API server never
                    // answers. Hold the connection until the client gives up.
                    while conn.fill().await {}
                }
                // A deleted cluster: nothing listens, the connection breaks.
                return;
            }
            let reply = {
                let mut state = lock(&self.state);
                self.handle(&mut state, region, &request)
            };
            match reply {
                Reply::Json(status, body) => {
                    if !conn.write_json(status, &body).await {
                        return;
                    }
                }
                Reply::Text(text) => {
                    if !conn.write_text(&text).await {
                        return;
                    }
                }
                Reply::Exec(result) => {
                    if conn.upgrade(&request, "v5.channel.k8s.io").await {
                        exec_session(&mut conn, result).await;
                    }
                    return;
                }
                Reply::Tunnel { port } => {
                    if conn.upgrade(&request, "v4.channel.k8s.io").await {
                        self.tunnel(&mut conn, region, port).await;
                    }
                    return;
                }
            }
        }
    }

    fn handle(&self, state: &mut State, region: usize, request: &HttpRequest) -> Reply {
        let context = self.config.context(Self::id(region));
        let upgrade = request.header("upgrade").eq_ignore_ascii_case("websocket");
        let target = parse_path(&request.path);
        if upgrade {
            if let Some(t) = &target
                && let (Some(ns), Some(pod), Some(sub)) = (&t.namespace, &t.name, &t.subresource)
            {
                let params = query_pairs(&request.query);
                match sub.as_str() {
                    "exec" => {
                        let command: Vec<String> = params
                            .iter()
                            .filter(|(k, _)| k == "command")
                            .map(|(_, v)| v.clone())
                            .collect();
                        let result = self.exec(state, region, ns, pod, &command);
                        self.record(Event::Exec {
                            context,
                            namespace: ns.clone(),
                            pod: pod.clone(),
                            command,
                            result: result.clone(),
                        });
                        return Reply::Exec(result);
                    }
                    "portforward" => {
                        let port: u16 = params
                            .iter()
                            .find(|(k, _)| k == "ports")
                            .and_then(|(_, v)| v.parse().ok())
                            .unwrap_or(0);
                        self.record(Event::PortForward {
                            context,
                            namespace: ns.clone(),
                            pod: pod.clone(),
                            port,
                        });
                        let running = state.regions[region]
                            .objects
                            .get(&t.collection)
                            .and_then(|pods| pods.get(pod))
                            .is_some_and(|p| p["status"]["phase"] == "Running");
                        if running {
                            return Reply::Tunnel { port };
                        }
                        return Reply::Json(
                            404,
                            status(404, "NotFound", &format!("pods \"{pod}\" not found")),
                        );
                    }
                    _ => {}
                }
            }
            return Reply::Json(400, status(400, "BadRequest", "unexpected upgrade"));
        }
        let body: Value = if request.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&request.body).unwrap_or(Value::Null)
        };
        // Container logs are text.
        if let Some(t) = &target
            && t.resource == "pods"
            && t.subresource.as_deref() == Some("log")
            && request.method == "GET"
        {
            let (code, reply) = self.log(state, region, request, t);
            self.record(Event::Kube(KubeCall {
                context,
                method: request.method.clone(),
                path: request.path.clone(),
                query: request.query.clone(),
                content_type: request.header("content-type").to_owned(),
                body,
                status: code,
            }));
            return reply;
        }
        let (code, answer) = match &target {
            Some(t) => self.rest(state, region, request, t, &body),
            None => (404, status(404, "NotFound", "unknown path")),
        };
        self.record(Event::Kube(KubeCall {
            context,
            method: request.method.clone(),
            path: request.path.clone(),
            query: request.query.clone(),
            content_type: request.header("content-type").to_owned(),
            body,
            status: code,
        }));
        Reply::Json(code, answer)
    }

    /// `GET .../pods/<pod>/log?container=<c>[&previous=true]`: a line naming the container; no
    /// previous instance (nothing restarts here) is a 400, as on a real API server.
    fn log(&self, state: &State, region: usize, request: &HttpRequest, t: &Target) -> (u16, Reply) {
        let pod = t.name.clone().unwrap_or_default();
        let params = query_pairs(&request.query);
        let param = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let container = param("container").unwrap_or_default();
        let found = state.regions[region]
            .objects
            .get(&t.collection)
            .and_then(|pods| pods.get(&pod))
            .is_some_and(|p| {
                ["initContainers", "containers"].iter().any(|list| {
                    p["spec"][list]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|c| c["name"] == container.as_str())
                })
            });
        if !found {
            let message = format!("container {container} is not valid for pod {pod}");
            return (404, Reply::Json(404, status(404, "NotFound", &message)));
        }
        if param("previous").as_deref() == Some("true") {
            let message =
                format!("previous terminated container \"{container}\" in pod \"{pod}\" not found");
            return (400, Reply::Json(400, status(400, "BadRequest", &message)));
        }
        let context = self.config.context(Self::id(region));
        (
            200,
            Reply::Text(format!("log of {pod}/{container} in {context}\n")),
        )
    }

    fn rest(
        &self,
        state: &mut State,
        region: usize,
        request: &HttpRequest,
        t: &Target,
        body: &Value,
    ) -> (u16, Value) {
        if t.resource == "networkpolicies" && request.method == "PATCH" {
            state.connections_survive |= self.connections_survive_policies;
        }
        if t.resource == "pods" && request.method == "DELETE" && t.name.is_none() {
            state.connections_survive = false;
        }
        let r = &mut state.regions[region];
        let selector = query_pairs(&request.query)
            .into_iter()
            .find(|(k, _)| k == "labelSelector")
            .map(|(_, v)| v);
        if request.method != "GET"
            && let Some(ns) = &t.namespace
            && !r
                .objects
                .get("/api/v1/namespaces")
                .is_some_and(|n| n.contains_key(ns))
        {
            return (
                404,
                status(404, "NotFound", &format!("namespaces \"{ns}\" not found")),
            );
        }
        let kind = kind_of(&t.resource);
        let list = |items: Vec<Value>| json!({"kind": format!("{kind}List"), "apiVersion": t.api_version, "metadata": {"resourceVersion": "1"}, "items": items});
        let not_found = |name: &str| {
            (
                404,
                status(
                    404,
                    "NotFound",
                    &format!("{} \"{name}\" not found", t.resource),
                ),
            )
        };
        match (request.method.as_str(), &t.name) {
            ("GET", None) => {
                let items = r
                    .objects
                    .get(&t.collection)
                    .map(|c| {
                        c.values()
                            .filter(|o| labels_match(o, selector.as_deref()))
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                (200, list(items))
            }
            ("GET", Some(name)) => match r.objects.get(&t.collection).and_then(|c| c.get(name)) {
                Some(object) => (200, object.clone()),
                None => not_found(name),
            },
            ("POST", None) => {
                let name = body["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                if r.objects
                    .get(&t.collection)
                    .is_some_and(|c| c.contains_key(&name))
                {
                    return (
                        409,
                        status(
                            409,
                            "AlreadyExists",
                            &format!("{} \"{name}\" already exists", t.resource),
                        ),
                    );
                }
                let object = Self::complete(
                    r,
                    &self.config.networks[region].pod_subnet,
                    t,
                    body.clone(),
                    None,
                );
                r.objects
                    .entry(t.collection.clone())
                    .or_default()
                    .insert(name, object.clone());
                (201, object)
            }
            ("PATCH", Some(name)) => {
                let existing = r
                    .objects
                    .get(&t.collection)
                    .and_then(|c| c.get(name))
                    .cloned();
                let object = match request.header("content-type") {
                    "application/apply-patch+yaml" => body.clone(),
                    "application/merge-patch+json" => {
                        let Some(mut existing) = existing.clone() else {
                            return not_found(name);
                        };
                        merge(&mut existing, body);
                        existing
                    }
                    other => {
                        return (
                            415,
                            status(415, "UnsupportedMediaType", &format!("patch type {other}")),
                        );
                    }
                };
                let object = Self::complete(
                    r,
                    &self.config.networks[region].pod_subnet,
                    t,
                    object,
                    existing.as_ref(),
                );
                r.objects
                    .entry(t.collection.clone())
                    .or_default()
                    .insert(name.clone(), object.clone());
                (200, object)
            }
            ("DELETE", Some(name)) => {
                match r
                    .objects
                    .get_mut(&t.collection)
                    .and_then(|c| c.remove(name))
                {
                    Some(object) => (200, object),
                    None => not_found(name),
                }
            }
            ("DELETE", None) => {
                let removed: Vec<Value> = match r.objects.get_mut(&t.collection) {
                    Some(c) => {
                        let names: Vec<String> = c
                            .iter()
                            .filter(|(_, o)| labels_match(o, selector.as_deref()))
                            .map(|(n, _)| n.clone())
                            .collect();
                        names.iter().filter_map(|n| c.remove(n)).collect()
                    }
                    None => Vec::new(),
                };
                if t.resource == "pods" && r.release.is_some() {
                    // Their controllers start them again.
                    let ns = t.namespace.clone().unwrap_or_default();
                    self.start_release_pods(r, region, &ns);
                }
                (200, list(removed))
            }
            _ => (
                405,
                status(405, "MethodNotAllowed", "not supported by the fake"),
            ),
        }
    }

    /// Fill what the API server adds: kind, apiVersion, namespace; a pod gets scheduled and
    /// runs (keeping its IP when it already ran).
    fn complete(
        r: &mut Region,
        pod_subnet: &str,
        t: &Target,
        mut object: Value,
        existing: Option<&Value>,
    ) -> Value {
        object["kind"] = json!(kind_of(&t.resource));
        object["apiVersion"] = json!(t.api_version);
        if let Some(ns) = &t.namespace {
            object["metadata"]["namespace"] = json!(ns);
        }
        if t.resource == "pods" && object.get("status").is_none_or(Value::is_null) {
            object["status"] = match existing.map(|e| e["status"].clone()) {
                Some(s) if !s.is_null() => s,
                _ => Self::running(r, pod_subnet),
            };
        }
        object
    }

    fn running(r: &mut Region, pod_subnet: &str) -> Value {
        r.last_ip += 1;
        let ip = Ipv4Addr::from(u32::from(subnet_base(pod_subnet)) + 10 + r.last_ip);
        json!({"phase": "Running", "podIP": ip.to_string(),
               "conditions": [{"type": "Ready", "status": "True"}]})
    }

    fn pods_of<'a>(&self, state: &'a State, region: usize) -> impl Iterator<Item = &'a Value> {
        state.regions[region]
            .objects
            .get(&format!(
                "/api/v1/namespaces/{}/pods",
                self.namespace(region)
            ))
            .into_iter()
            .flat_map(BTreeMap::values)
    }

    fn has_policy(state: &State, region: usize, namespace: &str, name: &str) -> bool {
        state.regions[region]
            .objects
            .get(&format!(
                "/apis/networking.k8s.io/v1/namespaces/{namespace}/networkpolicies"
            ))
            .is_some_and(|p| p.contains_key(name))
    }

    /// Whether traffic between the namespaces of `a` and `b` is cut by c8dr's policies: the
    /// deny-all in either namespace, or a fence against the other region in either.
    fn cut(&self, state: &State, a: usize, b: usize) -> bool {
        let deny = c8dr_kind::artifacts::DENY_ALL_POLICY;
        [(a, b), (b, a)].iter().any(|&(x, y)| {
            Self::has_policy(state, x, &self.namespace(x), deny)
                || Self::has_policy(
                    state,
                    x,
                    &self.namespace(x),
                    &format!("c8dr-loss-fence-region{y}"),
                )
        })
    }

    fn routed(&self, state: &State, from: usize, to: usize, cidr: &str) -> bool {
        from == to || state.regions[from].routes.get(cidr) == Some(&Self::node_ip(to))
    }

    /// `wget -q -T 3 -O - <url>` in a probe pod, optionally under `timeout <seconds>` (which
    /// kills it, exit 143, when the name cannot be resolved because the peer's DNS is frozen or
    /// gone; without it busybox's resolver gives up with `bad address`).
    fn exec(
        &self,
        state: &State,
        region: usize,
        namespace: &str,
        pod: &str,
        command: &[String],
    ) -> Result<String, Failed> {
        let ours = self
            .pods_of(state, region)
            .any(|p| p["metadata"]["name"] == pod && p["status"]["phase"] == "Running")
            && namespace == self.namespace(region);
        if !ours {
            return Err(Failed::wget(&format!("pod {pod} does not run")));
        }
        let (bounded, command) = match command {
            [timeout, seconds, rest @ ..]
                if timeout == "timeout" && seconds.parse::<u32>().is_ok_and(|s| s > 0) =>
            {
                (true, rest)
            }
            _ => (false, command),
        };
        let (Some("wget"), Some(url)) = (command.first().map(String::as_str), command.last())
        else {
            return Err(Failed {
                code: 127,
                stderr: format!("{command:?}: not found"),
            });
        };
        let host = url
            .strip_prefix("http://")
            .and_then(|rest| rest.split(['/', ':']).next())
            .unwrap_or_default();
        let timed_out = || Err(Failed::wget("wget: download timed out"));
        let bad_address = || Err(Failed::wget(&format!("wget: bad address '{host}'")));
        let (to, ip) = if let Some(name) = host.strip_suffix(".svc.cluster.local.") {
            let Some((service, ns)) = name.split_once('.') else {
                return bad_address();
            };
            let Some(to) = self.region_where(|r| self.config.namespace(r), ns) else {
                return bad_address();
            };
            if to != region && (state.regions[to].paused || !state.regions[to].exists) {
                // Our CoreDNS forwards the question to a kube-dns that is frozen or gone.
                return if bounded {
                    Err(Failed {
                        code: 143,
                        stderr: String::new(),
                    })
                } else {
                    bad_address()
                };
            }
            if to != region {
                // Our CoreDNS must forward the zone to the peer's kube-dns, reached through the
                // route to the peer's service subnet.
                let (_, peer_services) = self.network(to);
                let dns = Ipv4Addr::from(u32::from(subnet_base(&peer_services)) + 10);
                let corefile = state.regions[region]
                    .objects
                    .get("/api/v1/namespaces/kube-system/configmaps")
                    .and_then(|c| c.get("coredns"))
                    .and_then(|c| c["data"]["Corefile"].as_str())
                    .unwrap_or_default();
                let block = corefile
                    .split(&format!("{ns}.svc.cluster.local:53 {{"))
                    .nth(1)
                    .unwrap_or_default();
                if !block.contains(&format!("forward . {dns}")) {
                    return bad_address();
                }
                if !self.routed(state, region, to, &peer_services) {
                    return timed_out();
                }
            }
            // The headless Service resolves to its pods' IPs.
            let selector = state.regions[to]
                .objects
                .get(&format!("/api/v1/namespaces/{ns}/services"))
                .and_then(|s| s.get(service))
                .map(|s| s["spec"]["selector"].clone());
            let Some(Value::Object(selector)) = selector else {
                return bad_address();
            };
            let ip = self
                .pods_of(state, to)
                .find(|p| {
                    selector
                        .iter()
                        .all(|(k, v)| &p["metadata"]["labels"][k] == v)
                })
                .and_then(|p| p["status"]["podIP"].as_str().map(str::to_owned));
            let Some(ip) = ip else {
                return bad_address();
            };
            (to, ip)
        } else {
            let Some(to) = self
                .config
                .region_ids()
                .map(|r| r.index())
                .find(|r| in_subnet(host, &self.network(*r).0))
            else {
                return timed_out();
            };
            (to, host.to_owned())
        };
        if !self.routed(state, region, to, &self.network(to).0)
            || (to != region && self.cut(state, region, to))
            || state.regions[to].paused
            || !state.regions[to].exists
        {
            return timed_out();
        }
        let target = self
            .pods_of(state, to)
            .find(|p| p["status"]["podIP"] == ip.as_str() && p["status"]["phase"] == "Running");
        // What the probe container serves: `echo <answer> > /www/index.html && exec httpd ...`.
        let served = target.and_then(|p| {
            let script = p["spec"]["containers"][0]["command"][2].as_str()?;
            let port = p["spec"]["containers"][0]["ports"][0]["containerPort"].as_u64()?;
            url.contains(&format!(":{port}/")).then(|| {
                script
                    .split("echo ")
                    .nth(1)
                    .and_then(|rest| rest.split(" >").next())
                    .map(str::to_owned)
            })?
        });
        match served {
            Some(answer) => Ok(format!("{answer}\n")),
            None => Err(Failed::wget(
                "wget: can't connect to remote host: Connection refused",
            )),
        }
    }

    /// The brokers the gateway of `via` lists: its own, and the peer's unless c8dr's policies
    /// cut the regions apart or the peer is frozen or gone.
    fn brokers(&self, state: &State, via: usize) -> Vec<u32> {
        let regions = u32::try_from(state.regions.len()).unwrap_or(2);
        let mut brokers = Vec::new();
        for (x, r) in state.regions.iter().enumerate() {
            let visible = r.exists
                && !r.paused
                && r.release.is_some()
                && (x == via || !self.cut(state, x, via) || state.connections_survive);
            if visible {
                let x = u32::try_from(x).unwrap_or(0);
                brokers.extend((0..self.brokers_per_region).map(|i| i * regions + x));
            }
        }
        brokers.sort_unstable();
        brokers
    }

    /// A port-forward: initial frames with the port on the data and error channels, then an
    /// HTTP exchange with the gateway on the data channel.
    async fn tunnel(&self, conn: &mut Conn, region: usize, port: u16) {
        let [lo, hi] = port.to_le_bytes();
        if !conn.send_frame(0x2, &[0, lo, hi]).await || !conn.send_frame(0x2, &[1, lo, hi]).await {
            return;
        }
        let mut data = Vec::new();
        let head = loop {
            if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                break String::from_utf8_lossy(&data[..end]).into_owned();
            }
            match conn.recv_frame().await {
                Some((0x2, payload)) if payload.first() == Some(&0) => {
                    data.extend_from_slice(&payload[1..]);
                }
                Some((0x8, _)) | None => return,
                Some(_) => {}
            }
        };
        let Some(request) = parse_head(&head) else {
            return;
        };
        let authorized =
            request.header("authorization") == format!("Basic {}", base64(b"demo:demo"));
        let (context, namespace) = (
            self.config.context(Self::id(region)),
            self.namespace(region),
        );
        let (code, body, brokers) = if port != 8080 || request.path != "/v2/topology" {
            (404, json!({"title": "not found"}), Vec::new())
        } else if !authorized {
            (401, json!({"title": "Unauthorized"}), Vec::new())
        } else {
            let brokers = self.brokers(&lock(&self.state), region);
            let listed: Vec<Value> = brokers
                .iter()
                .map(|id| {
                    let r = *id as usize % self.config.networks.len();
                    json!({"nodeId": id, "host": format!("camunda-zeebe-{}.camunda-zeebe.{}.svc.cluster.local.", *id as usize / self.config.networks.len(), self.namespace(r)),
                           "port": 26501, "partitions": [], "version": "8.8.0"})
                })
                .collect();
            (
                200,
                json!({"brokers": listed, "clusterSize": self.brokers_per_region * 2, "partitionsCount": 8,
                       "replicationFactor": 4, "gatewayVersion": "8.8.0"}),
                brokers,
            )
        };
        self.record(Event::Gateway {
            context,
            namespace,
            request: format!("{} {}", request.method, request.path),
            authorized,
            brokers,
        });
        let text = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = format!(
            "HTTP/1.1 {code} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            reason(code),
            text.len()
        )
        .into_bytes();
        response.extend_from_slice(&text);
        let mut frame = vec![0u8];
        frame.extend_from_slice(&response);
        if conn.send_frame(0x2, &frame).await {
            conn.close_ws().await;
        }
    }

    // -----------------------------------------------------------------------------------------
    // What kind, helm and docker do

    /// A cluster as `kind create cluster` leaves it: its one node (`<cluster>-control-plane`,
    /// whose `InternalIP` is the container's address on the `kind` network), the system
    /// namespaces and CoreDNS.
    fn fresh_cluster(&self, r: &mut Region, region: usize) {
        r.exists = true;
        r.paused = false;
        r.objects.clear();
        r.routes.clear();
        r.release = None;
        let namespaces = r
            .objects
            .entry("/api/v1/namespaces".to_owned())
            .or_default();
        for ns in [
            "default",
            "kube-system",
            "kube-public",
            "kube-node-lease",
            "local-path-storage",
        ] {
            namespaces.insert(
                ns.to_owned(),
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
            );
        }
        let node = self.config.node_name(Self::id(region));
        r.objects
            .entry("/api/v1/nodes".to_owned())
            .or_default()
            .insert(
                node.clone(),
                json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": node},
                   "status": {"addresses": [
                       {"type": "InternalIP", "address": Self::node_ip(region)},
                       {"type": "Hostname", "address": node}]}}),
            );
        r.objects
            .entry("/api/v1/namespaces/kube-system/configmaps".to_owned())
            .or_default()
            .insert(
                "coredns".to_owned(),
                json!({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": "coredns", "namespace": "kube-system"},
                       "data": {"Corefile": KIND_COREFILE}}),
            );
    }

    fn camunda_labels(component: &str) -> Value {
        json!({"app": "camunda-platform", "app.kubernetes.io/instance": "camunda", "component": component})
    }

    fn start_release_pods(&self, r: &mut Region, region: usize, ns: &str) {
        let Some(revision) = r.release else { return };
        let pod_subnet = self.config.networks[region].pod_subnet.clone();
        let zeebe = self.config.zeebe_name();
        let es = self.config.elasticsearch_statefulset();
        let mut pods = Vec::new();
        for i in 0..self.brokers_per_region {
            let mut labels = Self::camunda_labels("zeebe");
            labels["controller-revision-hash"] = json!(format!("{zeebe}-r{revision}"));
            pods.push((format!("{zeebe}-{i}"), labels));
        }
        let mut labels = Self::camunda_labels("elasticsearch");
        labels["controller-revision-hash"] = json!(format!("{es}-r{revision}"));
        pods.push((format!("{es}-0"), labels));
        pods.push((
            format!("{}-r{revision}", self.config.gateway_service()),
            Self::camunda_labels("zeebe-gateway"),
        ));
        for (name, labels) in pods {
            let status = Self::running(r, &pod_subnet);
            // Elasticsearch's keystore is filled by an init container (the chart's initScripts).
            let spec = if name.starts_with(&es) {
                json!({"initContainers": [{"name": "init-keystore"}], "containers": [{"name": "main"}]})
            } else {
                json!({"containers": [{"name": "main"}]})
            };
            r.objects
                .entry(format!("/api/v1/namespaces/{ns}/pods"))
                .or_default()
                .insert(
                    name.clone(),
                    json!({"apiVersion": "v1", "kind": "Pod",
                           "metadata": {"name": name, "namespace": ns, "labels": labels},
                           "spec": spec, "status": status}),
                );
        }
    }

    fn remove_release_objects(r: &mut Region, ns: &str) {
        for resource in ["pods", "services", "configmaps", "secrets"] {
            if let Some(c) = r
                .objects
                .get_mut(&format!("/api/v1/namespaces/{ns}/{resource}"))
            {
                c.retain(|_, o| {
                    o["metadata"]["labels"]["app"] != "camunda-platform"
                        && o["metadata"]["labels"]["owner"] != "helm"
                });
            }
        }
        r.objects
            .remove(&format!("/apis/apps/v1/namespaces/{ns}/statefulsets"));
    }

    fn statefulset(name: &str, replicas: u32, revision: u64, component: &str) -> Value {
        let hash = format!("{name}-r{revision}");
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
               "metadata": {"name": name, "generation": revision},
               "spec": {"replicas": replicas, "serviceName": name,
                        "selector": {"matchLabels": {"app": "camunda-platform", "component": component}},
                        "template": {"metadata": {}, "spec": {"containers": [{"name": "main"}]}}},
               "status": {"replicas": replicas, "observedGeneration": revision, "updatedReplicas": replicas,
                          "readyReplicas": replicas, "currentRevision": hash, "updateRevision": hash}})
    }

    /// `helm upgrade --install`: a new revision; Operate and Tasklist run unless this
    /// invocation turns them off (helm recomputes values from the given files and `--set`s).
    fn helm_install(&self, r: &mut Region, region: usize, ns: &str, sets: &[String]) {
        let revision = r.release.map_or(1, |v| v + 1);
        let off = |name: &str| {
            sets.iter()
                .any(|s| s == &format!("orchestration.profiles.{name}=false"))
        };
        if let Some(secrets) = r
            .objects
            .get_mut(&format!("/api/v1/namespaces/{ns}/secrets"))
        {
            for secret in secrets.values_mut() {
                if secret["metadata"]["labels"]["owner"] == "helm" {
                    secret["metadata"]["labels"]["status"] = json!("superseded");
                }
            }
        }
        Self::remove_release_objects_keep_history(r, ns);
        r.release = Some(revision);
        let release = &self.config.release;
        let mut profiles = vec!["broker"];
        if !off("operate") {
            profiles.push("operate");
        }
        if !off("tasklist") {
            profiles.push("tasklist");
        }
        profiles.extend(["identity", "consolidated-auth"]);
        let put = |r: &mut Region, collection: String, name: String, object: Value| {
            r.objects
                .entry(collection)
                .or_default()
                .insert(name, object);
        };
        put(
            r,
            format!("/api/v1/namespaces/{ns}/secrets"),
            format!("sh.helm.release.v1.{release}.v{revision}"),
            json!({"apiVersion": "v1", "kind": "Secret",
                   "metadata": {"name": format!("sh.helm.release.v1.{release}.v{revision}"),
                                "labels": {"owner": "helm", "name": release, "status": "deployed", "version": revision.to_string()}}}),
        );
        put(
            r,
            format!("/api/v1/namespaces/{ns}/configmaps"),
            self.config.unified_configmap(),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": self.config.unified_configmap(), "labels": Self::camunda_labels("zeebe")},
                   "data": {"application.yaml": format!("spring:\n  profiles:\n    active: \"{}\"\n", profiles.join(","))}}),
        );
        put(
            r,
            format!("/api/v1/namespaces/{ns}/services"),
            self.config.gateway_service(),
            json!({"apiVersion": "v1", "kind": "Service",
                   "metadata": {"name": self.config.gateway_service(), "labels": Self::camunda_labels("zeebe-gateway")},
                   "spec": {"selector": {"app": "camunda-platform", "component": "zeebe-gateway"}}}),
        );
        put(
            r,
            format!("/apis/apps/v1/namespaces/{ns}/statefulsets"),
            self.config.zeebe_name(),
            Self::statefulset(
                &self.config.zeebe_name(),
                self.brokers_per_region,
                revision,
                "zeebe",
            ),
        );
        put(
            r,
            format!("/apis/apps/v1/namespaces/{ns}/statefulsets"),
            self.config.elasticsearch_statefulset(),
            Self::statefulset(
                &self.config.elasticsearch_statefulset(),
                1,
                revision,
                "elasticsearch",
            ),
        );
        let mut claims = (0..self.brokers_per_region)
            .map(|i| format!("data-{}-{i}", self.config.zeebe_name()))
            .collect::<Vec<_>>();
        claims.push(format!(
            "data-{}-0",
            self.config.elasticsearch_statefulset()
        ));
        for claim in claims {
            r.objects
                .entry(format!("/api/v1/namespaces/{ns}/persistentvolumeclaims"))
                .or_default()
                .entry(claim.clone())
                .or_insert_with(|| json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": claim}}));
        }
        self.start_release_pods(r, region, ns);
    }

    fn remove_release_objects_keep_history(r: &mut Region, ns: &str) {
        if let Some(pods) = r.objects.get_mut(&format!("/api/v1/namespaces/{ns}/pods")) {
            pods.retain(|_, o| o["metadata"]["labels"]["app"] != "camunda-platform");
        }
    }

    /// What a command does to the clusters; `Some` replaces the scripted answer (the command
    /// failed, or prints what only the clusters know).
    pub fn command(&self, invocation: &Invocation) -> Option<CommandOutput> {
        let args: Vec<&str> = invocation.args.iter().map(|a| a.value()).collect();
        let flag = |name: &str| {
            args.iter()
                .position(|a| *a == name)
                .and_then(|i| args.get(i + 1).copied())
        };
        let all = |name: &str| -> Vec<String> {
            args.windows(2)
                .filter(|w| w[0] == name)
                .map(|w| w[1].to_owned())
                .collect()
        };
        let missing_file = |path: &str| !std::path::Path::new(path).is_file();
        let mut state = lock(&self.state);
        match (invocation.program.as_str(), args.as_slice()) {
            ("kind", ["get", "clusters", ..]) => {
                let names: Vec<String> = state
                    .regions
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.exists)
                    .map(|(i, _)| self.config.cluster_name(Self::id(i)))
                    .collect();
                (!names.is_empty()).then(|| CommandOutput::ok(names.join("\n") + "\n"))
            }
            ("kind", ["create", "cluster", ..]) => {
                let name = flag("--name").unwrap_or_default();
                let region = self.region_where(|r| self.config.cluster_name(r), name)?;
                let config = flag("--config").unwrap_or_default();
                if missing_file(config) {
                    return Some(CommandOutput::failed(
                        1,
                        format!(
                            "ERROR: failed to create cluster: open {config}: no such file or directory"
                        ),
                    ));
                }
                let r = &mut state.regions[region];
                if r.exists {
                    return Some(CommandOutput::failed(
                        1,
                        format!(
                            "ERROR: failed to create cluster: node(s) already exist for a cluster with the name \"{name}\""
                        ),
                    ));
                }
                // kind bind-mounts each `extraMounts` host path; a missing one Docker would create
                // owned by root, where Elasticsearch (uid 1000) cannot write: the fake refuses.
                let text = std::fs::read_to_string(config).unwrap_or_default();
                let parsed: Value = serde_saphyr::from_str(&text).unwrap_or(Value::Null);
                let mut mounts = Vec::new();
                for mount in parsed["nodes"][0]["extraMounts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    let host = mount["hostPath"].as_str().unwrap_or_default().to_owned();
                    let inside = mount["containerPath"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    if !std::path::Path::new(&host).is_dir() {
                        return Some(CommandOutput::failed(
                            1,
                            format!(
                                "(fake) extraMounts hostPath {host} does not exist: Docker would create it owned by root"
                            ),
                        ));
                    }
                    #[cfg(unix)]
                    let mode = {
                        use std::os::unix::fs::PermissionsExt;
                        std::fs::metadata(&host).map_or(0, |m| m.permissions().mode() & 0o7777)
                    };
                    #[cfg(not(unix))]
                    let mode = 0;
                    self.record(Event::HostMount {
                        host: host.clone(),
                        mode,
                    });
                    mounts.push((host, inside));
                }
                self.fresh_cluster(r, region);
                r.mounts = mounts;
                None
            }
            ("kind", ["delete", "cluster", ..]) => {
                let name = flag("--name").unwrap_or_default();
                let region = self.region_where(|r| self.config.cluster_name(r), name)?;
                let r = &mut state.regions[region];
                *r = Region::default();
                None
            }
            ("docker", ["inspect", "--format", format, node]) if format.contains(".Mounts") => {
                let region = self.region_where(|r| self.config.node_name(r), node);
                let Some(region) = region.filter(|r| state.regions[*r].exists) else {
                    return Some(CommandOutput::failed(
                        1,
                        format!("Error: No such object: {node}"),
                    ));
                };
                let lines: String = state.regions[region]
                    .mounts
                    .iter()
                    .map(|(source, destination)| format!("{source}|{destination}\n"))
                    .collect();
                Some(CommandOutput::ok(lines))
            }
            ("docker", ["pause" | "unpause", node]) => {
                let region = self.region_where(|r| self.config.node_name(r), node);
                let Some(region) = region.filter(|r| state.regions[*r].exists) else {
                    return Some(CommandOutput::failed(
                        1,
                        format!("Error: No such object: {node}"),
                    ));
                };
                match args[0] {
                    "pause" => state.regions[region].paused = true,
                    "unpause" => state.regions[region].paused = false,
                    _ => {}
                }
                None
            }
            ("docker", ["exec", node, "ip", "route", "replace", cidr, "via", via]) => {
                let region = self.region_where(|r| self.config.node_name(r), node);
                let Some(region) =
                    region.filter(|r| state.regions[*r].exists && !state.regions[*r].paused)
                else {
                    return Some(CommandOutput::failed(
                        1,
                        format!("Error response from daemon: container {node} is not running"),
                    ));
                };
                state.regions[region]
                    .routes
                    .insert((*cidr).to_owned(), (*via).to_owned());
                None
            }
            ("docker", ["rm", "-f", name]) => {
                if *name == c8dr_kind::ops::MINIO_CONTAINER && state.store_running {
                    state.store_running = false;
                    return None;
                }
                Some(CommandOutput::failed(
                    1,
                    format!("Error response from daemon: No such container: {name}"),
                ))
            }
            ("helm", ["upgrade", "--install", ..]) => {
                for file in all("-f") {
                    if missing_file(&file) {
                        return Some(CommandOutput::failed(
                            1,
                            format!("Error: open {file}: no such file or directory"),
                        ));
                    }
                }
                let context = flag("--kube-context").unwrap_or_default();
                let ns = flag("--namespace").unwrap_or_default().to_owned();
                let region = self.region_of_context(context)?;
                let r = &mut state.regions[region];
                if !r.exists || r.paused {
                    return Some(CommandOutput::failed(
                        1,
                        "Error: Kubernetes cluster unreachable".to_owned(),
                    ));
                }
                let namespaces = r
                    .objects
                    .entry("/api/v1/namespaces".to_owned())
                    .or_default();
                namespaces.entry(ns.clone()).or_insert_with(
                    || json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
                );
                let mut sets = all("--set");
                sets.extend(all("--set-string"));
                self.helm_install(r, region, &ns, &sets);
                None
            }
            ("helm", ["uninstall", ..]) => {
                let context = flag("--kube-context").unwrap_or_default();
                let ns = flag("--namespace").unwrap_or_default().to_owned();
                let region = self.region_of_context(context)?;
                let r = &mut state.regions[region];
                if !r.exists || r.paused {
                    return Some(CommandOutput::failed(
                        1,
                        "Error: Kubernetes cluster unreachable".to_owned(),
                    ));
                }
                if r.release.is_none() && !args.contains(&"--ignore-not-found") {
                    return Some(CommandOutput::failed(
                        1,
                        "Error: uninstall: Release not loaded: camunda: release: not found"
                            .to_owned(),
                    ));
                }
                Self::remove_release_objects(r, &ns);
                r.release = None;
                None
            }
            _ => None,
        }
    }

    /// Start or stop the fake store (for [`FakeMinio`]).
    fn set_store_running(&self, running: bool) {
        lock(&self.state).store_running = running;
    }
}

async fn exec_session(conn: &mut Conn, result: Result<String, Failed>) {
    let status = match &result {
        Ok(stdout) => {
            if !stdout.is_empty() {
                let mut frame = vec![1u8];
                frame.extend_from_slice(stdout.as_bytes());
                if !conn.send_frame(0x2, &frame).await {
                    return;
                }
            }
            json!({"metadata": {}, "status": "Success"})
        }
        Err(Failed { code, stderr }) => {
            if !stderr.is_empty() {
                let mut frame = vec![2u8];
                frame.extend_from_slice(stderr.as_bytes());
                if !conn.send_frame(0x2, &frame).await {
                    return;
                }
            }
            json!({"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
                   "message": format!("command terminated with non-zero exit code: exit status {code}"),
                   "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]}})
        }
    };
    let mut frame = vec![3u8];
    frame.extend_from_slice(&serde_json::to_vec(&status).unwrap_or_default());
    if conn.send_frame(0x2, &frame).await {
        conn.close_ws().await;
    }
}

// ---------------------------------------------------------------------------------------------
// The seams: kube clients, commands, the snapshot store

/// kube-rs clients for the fake API servers (plain HTTP), by context.
#[derive(Debug, Clone)]
pub struct FakeFactory(pub Arc<FakeKind>);

impl KubeFactory for FakeFactory {
    fn client<'a>(&'a self, context: &'a str) -> BoxFuture<'a, Result<kube::Client, KindError>> {
        Box::pin(async move {
            let err = |detail: String| KindError::Unexpected {
                what: format!("kube context {context}"),
                detail,
            };
            let region = self
                .0
                .region_of_context(context)
                .ok_or_else(|| err("no such context in the kubeconfig".to_owned()))?;
            let url = format!("http://{}", self.0.addresses[region])
                .parse()
                .map_err(|e: http::uri::InvalidUri| err(e.to_string()))?;
            kube::Client::try_from(kube::Config::new(url)).map_err(|e| err(e.to_string()))
        })
    }
}

/// The crate's `RecordingRunner` plus what the commands do to the fake clusters.
#[derive(Debug, Clone)]
pub struct SimRunner {
    /// Records every line and answers from its script.
    pub recorder: RecordingRunner,
    fake: Arc<FakeKind>,
}

impl SimRunner {
    /// A runner over `recorder` acting on `fake`.
    pub fn new(recorder: RecordingRunner, fake: Arc<FakeKind>) -> Self {
        Self { recorder, fake }
    }
}

impl CommandRunner for SimRunner {
    fn run<'a>(
        &'a self,
        invocation: &'a Invocation,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<CommandOutput, KindError>> {
        Box::pin(async move {
            let scripted = self.recorder.run(invocation, timeout).await?;
            self.fake.record(Event::Command(invocation.to_string()));
            Ok(self.fake.command(invocation).unwrap_or(scripted))
        })
    }
}

/// Stands in for MinIO on the `kind` network.
#[derive(Debug, Clone)]
pub struct FakeMinio(pub Arc<FakeKind>);

struct FakeStore(Arc<FakeKind>);

impl StoreLauncher for FakeMinio {
    fn start<'a>(
        &'a self,
        config: &'a KindConfig,
        bucket: &'a str,
    ) -> BoxFuture<'a, Result<Box<dyn RunningStore>, KindError>> {
        Box::pin(async move {
            self.0.record(Event::StoreStart {
                image: config.minio_image.clone(),
                bucket: bucket.to_owned(),
            });
            self.0.set_store_running(true);
            Ok(Box::new(FakeStore(self.0.clone())) as Box<dyn RunningStore>)
        })
    }
}

impl RunningStore for FakeStore {
    fn endpoint(&self) -> String {
        FAKE_S3_ENDPOINT.to_owned()
    }

    fn access_key(&self) -> &str {
        c8dr_kind::ops::MINIO_USER
    }

    fn secret_key(&self) -> &str {
        FAKE_S3_SECRET
    }

    fn stop(self: Box<Self>) -> BoxFuture<'static, Result<(), KindError>> {
        Box::pin(async move {
            self.0.record(Event::StoreStop);
            self.0.set_store_running(false);
            Ok(())
        })
    }
}

// ---------------------------------------------------------------------------------------------
// A drill set up on the scripted clusters

/// Both regions up (`clusters_up`) and installed (`KindBackend::connect` and `start`) on scripted
/// clusters, for tests of single backend calls.
pub struct Drill {
    /// The clusters.
    pub fake: Arc<FakeKind>,
    /// The backend, started.
    pub backend: c8dr_kind::KindBackend,
    /// Kube clients for the fake API servers.
    pub factory: Arc<dyn KubeFactory>,
    /// The configuration (run directory in `dir`).
    pub config: KindConfig,
    /// The run directory (removed when dropped).
    _dir: tempfile::TempDir,
}

impl Drill {
    /// Clusters up and both regions installed for the 8.8 drill losing `lost`, with short
    /// deadlines for frozen API servers (the fake's paused nodes never answer).
    pub async fn installed(lost: c8dr_core::region::RegionId, config: KindConfig) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = config
            .with_run_dir(dir.path())
            .with_timeouts(c8dr_kind::Timeouts {
                probe: Duration::from_millis(500),
                kube_read: Duration::from_millis(500),
                ..c8dr_kind::Timeouts::default()
            });
        let mut plan = super::drill::plan(lost.0);
        c8dr_kind::adapt_plan(&config, &mut plan);
        let fake = FakeKind::start(config.clone(), 4, false).await;
        let runner = Arc::new(SimRunner::new(RecordingRunner::new(), fake.clone()));
        let factory: Arc<dyn KubeFactory> = Arc::new(FakeFactory(fake.clone()));
        c8dr_kind::clusters_up(&config, runner.as_ref(), factory.clone())
            .await
            .expect("clusters up");
        let backend =
            c8dr_kind::KindBackend::connect(config.clone(), &plan, runner, factory.clone())
                .await
                .expect("connected")
                .with_store_launcher(Arc::new(FakeMinio(fake.clone())));
        backend.start().await.expect("installed");
        Self {
            fake,
            backend,
            factory,
            config,
            _dir: dir,
        }
    }

    /// A kube client for a region's fake API server.
    pub async fn client(&self, region: c8dr_core::region::RegionId) -> kube::Client {
        self.factory
            .client(&self.config.context(region))
            .await
            .expect("client")
    }
}
