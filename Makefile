# c8dr tasks. On a fresh machine: `make drill` runs the 8.8 drill on the embedded twin,
# `make test` runs everything CI runs.

CARGO ?= cargo
# Extra arguments for `make drill`, e.g. `make drill ARGS="--lost-region 0"`.
ARGS ?=

.PHONY: drill test lint unit-tests doc-tests browser bench fmt clean help

help:
	@echo "make drill   run the Camunda 8.8 dual-region drill on the embedded twin (ARGS=... for c8dr run)"
	@echo "make test    formatting, lints, unit, end-to-end and doc tests (what CI runs)"
	@echo "make bench   drill wall time and harness overhead on the twin (release build)"
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

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
	rm -rf c8dr-reports
