# c8dr tasks. On a fresh machine: `make drill` runs the 8.8 drill on the embedded twin,
# `make test` runs everything CI runs.

CARGO ?= cargo
# Extra arguments for `make drill`, e.g. `make drill ARGS="--lost-region 0"`.
ARGS ?=

.PHONY: drill test lint unit-tests doc-tests browser bench mutate kind-drill fmt clean help

help:
	@echo "make drill   run the Camunda 8.8 dual-region drill on the embedded twin (ARGS=... for c8dr run)"
	@echo "make test    formatting, lints, unit, end-to-end and doc tests (what CI runs)"
	@echo "make bench   drill wall time, harness overhead and mutation testing time on the twin (release build)"
	@echo "make mutate  procedure mutation testing of the 8.8 drill on the twin"
	@echo "make kind-drill  the 8.8 drill on two kind clusters with the real chart (needs docker, kind, helm)"
	@echo "make fmt     format the code"

drill:
	$(CARGO) run --locked -p c8dr-cli -- run $(ARGS)

test: browser lint unit-tests doc-tests

# The HTML report's end-to-end test needs a headless browser.
browser:
	@scripts/ensure-chromium.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

# nextest when installed (faster, per-test isolation); plain cargo test otherwise.
unit-tests:
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --workspace --locked --profile ci; \
	else \
		$(CARGO) test --workspace --locked; \
	fi

doc-tests:
	$(CARGO) test --workspace --doc --locked

bench:
	$(CARGO) bench --locked -p c8dr-cli --bench drill

mutate:
	$(CARGO) run --locked --release -p c8dr-cli -- mutate $(ARGS)

# The nightly pipeline, locally: the live tests (`#[ignore]`, harness/c8dr-kind/tests/kind/live.rs;
# need docker, kind >= 0.32, helm 3). For each lost region (1, then 0): fresh clusters, the drill
# on the real chart, reports (JUnit, HTML, JSON, Markdown, diagnostics on failure) in
# $(KIND_REPORTS)/lost<region>, clusters removed whatever happened; `clusters down` runs once more
# at the end in case the tests were killed. CHART_VERSION=13.x.y overrides the pinned chart,
# PRELOAD_IMAGES=img,img preloads images into the nodes. One test at a time (both create the
# c8dr-region* clusters): nextest's profile runs them exclusively, `cargo test` with one thread.
KIND_REPORTS ?= c8dr-reports/kind
kind-drill:
	@status=0; \
	export C8DR_KIND_REPORTS='$(abspath $(KIND_REPORTS))' \
		$(if $(CHART_VERSION),C8DR_CHART_VERSION='$(CHART_VERSION)') \
		$(if $(PRELOAD_IMAGES),C8DR_PRELOAD_IMAGES='$(PRELOAD_IMAGES)'); \
	if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --locked -p c8dr-kind --run-ignored only --no-fail-fast || status=$$?; \
	else \
		$(CARGO) test --locked -p c8dr-kind --test kind -- --ignored --test-threads 1 || status=$$?; \
	fi; \
	$(CARGO) run --locked -q -p c8dr-cli -- clusters down || true; \
	exit $$status

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
	rm -rf c8dr-reports
