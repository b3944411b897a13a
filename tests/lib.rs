//! End-to-end tests of c8dr live in `e2e/`; this library is empty.
