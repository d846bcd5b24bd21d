# The two commands of the README, plus the benchmark. Each installs what is missing first.
.PHONY: setup setup-build run test bench install-sdk

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

## The tests (Swift Testing). The Python environments the tests read results back with are
## created while the package builds (their output follows the build's).
test:
	@./scripts/setup.sh packages
	@mkdir -p .build; ./scripts/setup.sh venvs > .build/setup-venvs.log 2>&1 & venvs=$$!; \
	swift build --build-tests; built=$$?; \
	wait $$venvs; prepared=$$?; cat .build/setup-venvs.log; \
	if [ $$prepared -ne 0 ]; then echo "make test: setting up the Python environments failed (exit $$prepared), see above" >&2; exit $$prepared; fi; \
	exit $$built
	swift test --skip-build --disable-xctest

## Benchmarks: ratios against baselines measured in the same run; the Python original
## (installed into .venv-anchor on first use) is measured on the characterization workload.
bench:
	@LITMUS_SETUP_PYTHON=0 LITMUS_SETUP_ANCHOR=1 ./scripts/setup.sh
	swift build -c release
	.build/release/litmus-bench

## The driver SDK for plugins built out of tree: litmus_driver.h into $(PREFIX)/include/litmus
## and litmus-driver.pc into $(PREFIX)/lib/pkgconfig (`pkg-config --cflags litmus-driver`).
## Needs no build. DESTDIR is honoured for packaging.
PREFIX ?= /usr/local
ABI_HEADER := Sources/CLitmusDriverABI/include/litmus_driver.h
ABI_VERSION = $(shell sed -n 's/^\#define LITMUS_ABI_MAJOR \([0-9]*\).*/\1/p' $(ABI_HEADER)).$(shell sed -n 's/^\#define LITMUS_ABI_MINOR \([0-9]*\).*/\1/p' $(ABI_HEADER))
install-sdk:
	install -d $(DESTDIR)$(PREFIX)/include/litmus $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(ABI_HEADER) $(DESTDIR)$(PREFIX)/include/litmus/litmus_driver.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@ABI@|$(ABI_VERSION)|' scripts/litmus-driver.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/litmus-driver.pc
	@echo "Installed the Litmus driver SDK (ABI $(ABI_VERSION)) to $(PREFIX). Use: PKG_CONFIG_PATH=$(PREFIX)/lib/pkgconfig pkg-config --cflags litmus-driver"
