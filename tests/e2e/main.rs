//! End-to-end tests: the real `c8dr` binary driving whole drills against the embedded twin over
//! real HTTP on loopback. Every test gets its own twin on ephemeral ports, so they run in parallel.

mod cli;
mod drill;
mod interrupt;
mod invalid_input;
mod mutate;
mod objectives;
mod oracle;
mod page_replay;
mod rehearsal;
mod report_html;
mod scenario_edit;
mod stages;
mod support;
