//! The replay engine: runs the procedure page's commands
//! (`fixtures/procedure-8.8/curl-region*-lost.txt`) against a twin, only the host changed, and
//! checks every answer. The twin is an [`Env`]: in this process (the conformance test
//! `replay`) or a `c8dr twin serve --manual-clock` process (the end-to-end test
//! `page_replay`, which compiles this file and `support.rs` into its own crate, hence
//! `super::support`).
//!
//! `kubectl port-forward` decides which region `localhost:8080`/`9600` reach; `kubectl exec
//! ... -- curl` reaches that context's Elasticsearch; `helm install|upgrade` becomes a release
//! through the control API; `!` lines are the platform steps (region loss, recreation, the
//! page's edits of `camunda-values.yml`) and the operator's pauses (cluster time on the
//! twin's manual clock).

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::support::{
    Env, assert_last_change_like, assert_one_leader_per_healthy_partition, assert_same_shape,
    assert_topology_like, at, fixture, fixtures_dir, sorted_strings, topology_partitions,
};

/// Kubernetes contexts of the fixtures: region 0 is London, region 1 Paris.
fn region_of_context(ctx: &str) -> u8 {
    match ctx {
        "london" => 0,
        "paris" => 1,
        other => panic!("unknown kube context {other}"),
    }
}

/// One step of a replay file.
#[derive(Debug)]
enum Step {
    Command {
        line: usize,
        text: String,
        expect: Vec<String>,
    },
    Directive {
        line: usize,
        text: String,
    },
}

/// Parses a replay file into steps.
fn parse_file(text: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut current: Option<(usize, String, Vec<String>)> = None;
    let mut in_command = false;
    let flush = |cur: &mut Option<(usize, String, Vec<String>)>, steps: &mut Vec<Step>| {
        if let Some((line, text, expect)) = cur.take() {
            steps.push(Step::Command { line, text, expect });
        }
    };
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if let Some(cmd) = raw.strip_prefix("$ ") {
            flush(&mut current, &mut steps);
            current = Some((line, cmd.to_owned(), Vec::new()));
            in_command = true;
        } else if let Some(exp) = raw.strip_prefix("> ") {
            in_command = false;
            match current.as_mut() {
                Some((_, _, expect)) => expect.push(exp.trim().to_owned()),
                None => panic!("line {line}: expectation without a command"),
            }
        } else if let Some(d) = raw.strip_prefix("! ") {
            in_command = false;
            flush(&mut current, &mut steps);
            steps.push(Step::Directive {
                line,
                text: d.trim().to_owned(),
            });
        } else if raw.starts_with('#') || raw.trim().is_empty() {
            in_command = false;
        } else if in_command {
            if let Some((_, text, _)) = current.as_mut() {
                text.push('\n');
                text.push_str(raw);
            }
        } else {
            panic!("line {line}: unexpected text {raw:?}");
        }
    }
    flush(&mut current, &mut steps);
    steps
}

/// Splits a shell command line into pipeline segments of words: single and double quotes
/// (adjacent quoted parts join one word), backslash escapes and line continuations. The
/// fixtures have their variables substituted, so a `$` is an error.
pub fn shell_words(cmd: &str) -> Vec<Vec<String>> {
    let mut segments = vec![Vec::new()];
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = cmd.chars().peekable();
    let push = |segments: &mut Vec<Vec<String>>, word: &mut String, in_word: &mut bool| {
        if *in_word {
            if let Some(seg) = segments.last_mut() {
                seg.push(std::mem::take(word));
            }
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => {
                            if let Some(n) = chars.next() {
                                if !matches!(n, '"' | '\\' | '$' | '\n') {
                                    word.push('\\');
                                }
                                if n != '\n' {
                                    word.push(n);
                                }
                            }
                        }
                        '$' => panic!("unsubstituted variable in {cmd}"),
                        other => word.push(other),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') | None => {}
                Some(n) => {
                    in_word = true;
                    word.push(n);
                }
            },
            '|' => {
                push(&mut segments, &mut word, &mut in_word);
                segments.push(Vec::new());
            }
            '$' => panic!("unsubstituted variable in {cmd}"),
            c if c.is_whitespace() => push(&mut segments, &mut word, &mut in_word),
            other => {
                in_word = true;
                word.push(other);
            }
        }
    }
    push(&mut segments, &mut word, &mut in_word);
    segments
}

/// A parsed `curl` invocation.
#[derive(Debug, Default)]
pub struct Curl {
    pub method: Option<String>,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub data: Option<String>,
    pub user: Option<String>,
}

/// Parses the words of a `curl` command (the first is `curl` itself).
pub fn parse_curl(words: &[String]) -> Curl {
    let mut curl = Curl::default();
    let mut it = words.iter().skip(1);
    while let Some(w) = it.next() {
        let mut value = |flag: &str| -> String {
            if w.len() > flag.len() && w.starts_with(flag) {
                w[flag.len()..].to_owned()
            } else {
                it.next()
                    .cloned()
                    .unwrap_or_else(|| panic!("{flag} without a value"))
            }
        };
        match w.as_str() {
            s if s.starts_with("-X") => curl.method = Some(value("-X")),
            "--request" => curl.method = Some(value("--request")),
            s if s.starts_with("-H") => {
                let h = value("-H");
                let (k, v) = h.split_once(':').unwrap_or((&h, ""));
                curl.headers
                    .push((k.trim().to_owned(), v.trim().to_owned()));
            }
            "--header" => {
                let h = value("--header");
                let (k, v) = h.split_once(':').unwrap_or((&h, ""));
                curl.headers
                    .push((k.trim().to_owned(), v.trim().to_owned()));
            }
            s if s.starts_with("-d") => curl.data = Some(value("-d")),
            "--data" | "--data-raw" => curl.data = Some(value("--data")),
            s if s.starts_with("-u") => curl.user = Some(value("-u")),
            "-i" | "-L" | "-s" | "-sS" | "--include" | "--location" | "--silent" => {}
            s if s.starts_with('-') => panic!("unsupported curl option {s}"),
            url => curl.url = url.to_owned(),
        }
    }
    curl
}

/// A replay in progress.
struct Replay {
    env: Env,
    /// Local port → (region, surface) of the current `kubectl port-forward`s.
    forwards: BTreeMap<u16, u8>,
    credentials: Option<(String, String)>,
    /// The page's temporary `orchestration.env` entries of `camunda-values.yml`.
    values_env: BTreeMap<String, String>,
}

/// The answer of one command: status and body (after `| jq`).
struct Outcome {
    status: u16,
    body: Value,
    text: String,
}

impl Replay {
    async fn directive(&mut self, line: usize, d: &str) {
        let parts: Vec<&str> = d.split_whitespace().collect();
        match parts.as_slice() {
            ["lose", r, mode] => self.env.lose(r.parse().unwrap_or(9), mode).await,
            ["recreate", r] => self.env.recreate(r.parse().unwrap_or(9)).await,
            ["wait", d] => {
                let d = humantime::parse_duration(d)
                    .unwrap_or_else(|e| panic!("line {line}: bad duration {d}: {e}"));
                self.env.advance(d);
            }
            ["credentials", "none"] => self.credentials = None,
            ["credentials", c] => {
                let (u, p) = c.split_once(':').unwrap_or((c, ""));
                self.credentials = Some((u.to_owned(), p.to_owned()));
            }
            ["values-env", kv] => {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                self.values_env.insert(k.to_owned(), v.to_owned());
            }
            ["values-env-remove", k] => {
                self.values_env.remove(*k);
            }
            _ => panic!("line {line}: unknown directive {d}"),
        }
    }

    async fn command(&mut self, line: usize, text: &str) -> Option<Outcome> {
        let segments = shell_words(text);
        let words = segments.first().cloned().unwrap_or_default();
        let jq = segments.get(1).map(|s| {
            assert_eq!(s.first().map(String::as_str), Some("jq"), "line {line}");
            s.get(1).cloned().unwrap_or_else(|| ".".to_owned())
        });
        let program = words.first().map(String::as_str).unwrap_or_default();
        let outcome = match program {
            "kubectl" => self.kubectl(line, &words).await?,
            "curl" => {
                let curl = parse_curl(&words);
                self.curl(line, &curl, None).await
            }
            "helm" => self.helm(line, &words).await,
            other => panic!("line {line}: unsupported program {other}"),
        };
        Some(match jq {
            Some(path) => {
                let body = at(&outcome.body, &path).cloned().unwrap_or(Value::Null);
                Outcome {
                    text: body.to_string(),
                    body,
                    status: outcome.status,
                }
            }
            None => outcome,
        })
    }

    fn flag<'a>(words: &'a [String], names: &[&str]) -> Option<&'a str> {
        words
            .iter()
            .position(|w| names.contains(&w.as_str()))
            .and_then(|i| words.get(i + 1))
            .map(String::as_str)
    }

    async fn kubectl(&mut self, line: usize, words: &[String]) -> Option<Outcome> {
        let ctx = Self::flag(words, &["--context"])
            .unwrap_or_else(|| panic!("line {line}: kubectl without --context"));
        let region = region_of_context(ctx);
        if words.iter().any(|w| w == "port-forward") {
            let ports = words
                .iter()
                .find(|w| w.contains(':') && w.chars().all(|c| c.is_ascii_digit() || c == ':'))
                .unwrap_or_else(|| panic!("line {line}: port-forward without ports"));
            let local: u16 = ports
                .split(':')
                .next()
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            self.forwards.insert(local, region);
            return None;
        }
        if words.iter().any(|w| w == "exec") {
            let dash = words
                .iter()
                .position(|w| w == "--")
                .unwrap_or_else(|| panic!("line {line}: exec without --"));
            let curl = parse_curl(&words[dash + 1..]);
            return Some(self.curl(line, &curl, Some(region)).await);
        }
        panic!("line {line}: unsupported kubectl command");
    }

    /// Sends a curl request: `localhost:8080`/`9600` go where the port-forward points,
    /// `localhost:9200` inside `kubectl exec` to that region's Elasticsearch.
    async fn curl(&mut self, line: usize, curl: &Curl, exec_region: Option<u8>) -> Outcome {
        let url = if curl.url.contains("://") {
            curl.url.clone()
        } else {
            format!("http://{}", curl.url)
        };
        let rest = url
            .strip_prefix("http://localhost:")
            .unwrap_or_else(|| panic!("line {line}: not a localhost URL: {url}"));
        let (port, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let port: u16 = port.parse().unwrap_or(0);
        let addr = match (exec_region, port) {
            (Some(r), 9200) => self.env.es(r),
            (None, 8080) => self.env.rest(self.forward(line, 8080)),
            (None, 9600) => self.env.mgmt(self.forward(line, 9600)),
            _ => panic!("line {line}: nothing listens on localhost:{port} here"),
        };
        let method = curl.method.clone().unwrap_or_else(|| {
            if curl.data.is_some() {
                "POST".to_owned()
            } else {
                "GET".to_owned()
            }
        });
        let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET);
        let mut req = self
            .env
            .client
            .request(method, format!("http://{addr}{path}"));
        for (k, v) in &curl.headers {
            req = req.header(k, v);
        }
        if let Some(data) = &curl.data {
            if !curl
                .headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                // What curl sends with -d.
                req = req.header("Content-Type", "application/x-www-form-urlencoded");
            }
            req = req.body(data.clone());
        }
        let user = curl.user.clone().map(|u| {
            let (a, b) = u.split_once(':').unwrap_or((&u, ""));
            (a.to_owned(), b.to_owned())
        });
        let auth = if port == 8080 {
            user.or_else(|| self.credentials.clone())
        } else {
            user
        };
        if let Some((u, p)) = auth {
            req = req.basic_auth(u, Some(p));
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("line {line}: no answer from {addr}: {e}"));
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        Outcome {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    fn forward(&self, line: usize, port: u16) -> u8 {
        *self
            .forwards
            .get(&port)
            .unwrap_or_else(|| panic!("line {line}: no port-forward for {port}"))
    }

    /// `helm install|upgrade [--install] NAME CHART ... --kube-context CTX ... --set k=v`:
    /// a release with the `--set` values and the current `orchestration.env` edits.
    async fn helm(&mut self, line: usize, words: &[String]) -> Outcome {
        assert!(
            matches!(
                words.get(1).map(String::as_str),
                Some("install" | "upgrade")
            ),
            "line {line}: unsupported helm command"
        );
        let ctx = Self::flag(words, &["--kube-context"])
            .unwrap_or_else(|| panic!("line {line}: helm without --kube-context"));
        let region = region_of_context(ctx);
        let mut values = serde_json::Map::new();
        let mut it = words.iter();
        while let Some(w) = it.next() {
            if w == "--set"
                && let Some((k, v)) = it.next().and_then(|kv| kv.split_once('='))
            {
                values.insert(k.to_owned(), Value::String(v.to_owned()));
            }
        }
        let release = json!({"values": values, "env": self.values_env});
        let a = self
            .env
            .put(
                self.env.control(),
                &format!("/twin/v1/regions/{region}/release"),
                Some(&release),
            )
            .await;
        Outcome {
            status: a.status,
            body: a.json(),
            text: a.text,
        }
    }
}

/// Checks one expectation line against an answer.
fn check(line: usize, expectation: &str, o: &Outcome) {
    let fail = |what: &str| -> ! {
        panic!(
            "line {line}: expected {expectation}: {what}\nanswer {}: {}",
            o.status, o.text
        )
    };
    if let Some(code) = expectation.strip_prefix("status ") {
        if code.trim().parse::<u16>().ok() != Some(o.status) {
            fail("status differs");
        }
        return;
    }
    if let Some(rest) = expectation.strip_prefix("fixture ") {
        let (name, kind) = rest.split_once(' ').unwrap_or((rest, "exact"));
        let page = fixture(name);
        match kind.trim() {
            "exact" => {
                if o.body != page {
                    fail("body differs from the fixture");
                }
            }
            "topology" => assert_topology_like(&o.body, &page),
            "topology-members" => {
                assert_eq!(
                    topology_partitions(&o.body),
                    topology_partitions(&page),
                    "line {line}"
                );
            }
            "lastchange" => assert_last_change_like(&o.body, &page),
            "snapshot-all" => {
                assert_same_shape(&o.body, &page, "");
                let (s, p) = (&o.body["snapshots"][0], &page["snapshots"][0]);
                for key in ["snapshot", "repository", "version", "state", "shards"] {
                    assert_eq!(s[key], p[key], "line {line}: {key}");
                }
                assert_eq!(sorted_strings(&s["indices"]), sorted_strings(&p["indices"]));
            }
            "status-shape" => {
                let mut page = page;
                page["snapshots"][0]["indices"] = o.body["snapshots"][0]["indices"].clone();
                assert_same_shape(&o.body, &page, "");
            }
            other => panic!("line {line}: unknown fixture comparison {other}"),
        }
        return;
    }
    if let Some(rest) = expectation.strip_prefix("partitions ") {
        let want: BTreeMap<String, Vec<u64>> = serde_json::from_str(rest)
            .unwrap_or_else(|e| panic!("line {line}: bad partitions map: {e}"));
        let got: BTreeMap<String, Vec<u64>> = topology_partitions(&o.body)
            .into_iter()
            .map(|(b, p)| (b.to_string(), p))
            .collect();
        if got != want {
            fail(&format!("partitions are {got:?}"));
        }
        return;
    }
    if expectation == "one-leader-per-partition" {
        assert_one_leader_per_healthy_partition(&o.body);
        return;
    }
    let (path, op_rest) = expectation
        .split_once(' ')
        .unwrap_or_else(|| panic!("line {line}: bad expectation {expectation}"));
    let actual = at(&o.body, path).cloned().unwrap_or(Value::Null);
    if let Some(json_text) = op_rest.strip_prefix("== ") {
        let want: Value = serde_json::from_str(json_text)
            .unwrap_or_else(|e| panic!("line {line}: bad JSON {json_text}: {e}"));
        if actual != want {
            fail(&format!("{path} is {actual}"));
        }
    } else if let Some(n) = op_rest.strip_prefix("length ") {
        let len = actual.as_array().map(Vec::len);
        if len != n.trim().parse().ok() {
            fail(&format!("{path} has length {len:?}"));
        }
    } else {
        panic!("line {line}: unknown expectation {expectation}");
    }
}

/// Replays one file of `fixtures/procedure-8.8` against `env` (a twin with the page's
/// namespaces, `camunda-london` and `camunda-paris`, on a manual clock); returns the number of
/// commands whose answers were checked.
pub async fn replay(env: Env, file: &str) -> usize {
    let text = std::fs::read_to_string(fixtures_dir().join(file)).expect("replay file");
    let steps = parse_file(&text);
    let mut r = Replay {
        env,
        forwards: BTreeMap::new(),
        credentials: None,
        values_env: BTreeMap::new(),
    };
    let mut checked = 0;
    for step in steps {
        match step {
            Step::Directive { line, text } => r.directive(line, &text).await,
            Step::Command { line, text, expect } => {
                let outcome = r.command(line, &text).await;
                match outcome {
                    Some(o) => {
                        assert!(
                            !expect.is_empty(),
                            "line {line}: an answer without expectations"
                        );
                        for e in &expect {
                            check(line, e, &o);
                        }
                        checked += 1;
                    }
                    None => assert!(expect.is_empty(), "line {line}: no answer to check"),
                }
                // An operator types the next command a moment later.
                r.env.advance(Duration::from_millis(500));
            }
        }
    }
    checked
}
