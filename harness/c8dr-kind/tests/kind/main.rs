//! c8dr-kind tests: generated artifacts, the drill's command listing, kube-rs calls against a
//! scripted API server, the backend executing the whole drill against scripted clusters. Live
//! tests (`#[ignore]`) need docker, kind and helm.

mod artifacts;
mod backend_run;
mod diagnostics;
mod drill;
mod fake_kind;
mod heal;
mod kube_mock;
mod live;
mod portforward;
mod safety;
mod shared_directory;
