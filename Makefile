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

# The nightly pipeline, locally: for each lost region, fresh clusters, the drill on the real
# chart, clusters removed whatever happened. CHART_VERSION=13.x.y overrides the pinned chart.
KIND_REPORTS ?= c8dr-reports/kind
kind-drill:
	$(CARGO) build --locked --release -p c8dr-cli
	@status=0; for region in 1 0; do \
		./target/release/c8dr clusters up || { status=3; break; }; \
		./target/release/c8dr run --backend kind --lost-region $$region \
			$${CHART_VERSION:+--chart-version $$CHART_VERSION} \
			--report-dir $(KIND_REPORTS)/lost$$region || status=$$?; \
		./target/release/c8dr clusters down || true; \
	done; exit $$status

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
	rm -rf c8dr-reports
