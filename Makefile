# The two commands of the README, plus the benchmark. Each installs what is missing first.
.PHONY: setup setup-build run test bench

setup:
	@./scripts/setup.sh

# What building alone needs (no Python readers).
setup-build:
	@LITMUS_SETUP_PYTHON=0 ./scripts/setup.sh

## The main job: build, then run the harness example on the mock bench (a sweep with limits
## from the product spec, traceability and a Parquet run file). STATION=stations/other.yaml
## runs it on another bench.
STATION ?= stations/bench_mock.yaml
run: setup-build
	swift build
	.build/debug/litmus station check $(STATION) --open
	.build/debug/litmus-example --station $(STATION)

## The tests (Swift Testing).
test: setup
	swift build --build-tests
	swift test --skip-build --disable-xctest

## Benchmarks: ratios against baselines measured in the same run; the Python original
## (installed into .venv-anchor on first use) is measured on the characterization workload.
bench:
	@LITMUS_SETUP_PYTHON=0 LITMUS_SETUP_ANCHOR=1 ./scripts/setup.sh
	swift build -c release
	.build/release/litmus-bench
