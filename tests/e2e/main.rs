//! End-to-end tests: the real `c8dr` binary against the embedded twin.
