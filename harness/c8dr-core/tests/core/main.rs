//! Integration tests of c8dr-core: validation errors, plans, the engine against a scripted fake
//! backend, and property tests. One binary (`autotests = false`) to keep link time down.

mod engine;
mod fake;
mod mutants;
mod plans;
mod props;
mod support;
mod validation;
