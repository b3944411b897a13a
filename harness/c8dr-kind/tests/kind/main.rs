//! c8dr-kind tests: generated artifacts, the drill's command listing, kube-rs calls against a
//! scripted API server. Live tests (`#[ignore]`) need docker, kind and helm.

mod artifacts;
mod drill;
mod kube_mock;
mod live;
