#!/usr/bin/env bash
# Installs what building and testing Litmus needs on a fresh Debian machine, skipping what is
# already there. Called by `make run`, `make test` and `.ci/run`.
#
#   scripts/setup.sh            Debian packages, then the Python environments
#   scripts/setup.sh packages   only the Debian packages (may ask for sudo)
#   scripts/setup.sh venvs      only the Python environments (no sudo; `make test` runs this
#                               while the package builds)
set -euo pipefail

stage="${1:-all}"
case "$stage" in
    all | packages | venvs) ;;
    *) echo "setup: unknown stage '$stage' (use: packages, venvs, or nothing for both)" >&2; exit 2 ;;
esac

if [ "$stage" != venvs ]; then
need_apt=()
for pkg in libusb-1.0-0-dev libzstd-dev zlib1g-dev pkg-config python3-venv; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
# What the tests use: an emulated USB device (umockdev), an independent VXI-11 client
# (lxi-tools), tmux to drive the interactive shell in a real terminal, and headless Chromium
# with its driver (reports and web pages checked in a real browser, PDF printing).
if [ "${LITMUS_SETUP_PYTHON:-1}" = 1 ]; then
    for pkg in umockdev libumockdev-dev lxi-tools tmux chromium chromium-driver; do
        dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
    done
fi
command -v cc >/dev/null 2>&1 || need_apt+=(gcc)
# The benchmark (make bench) makes a scratch git repository for its git-identity figures.
if [ "${LITMUS_SETUP_ANCHOR:-0}" = 1 ]; then
    command -v git >/dev/null 2>&1 || need_apt+=(git)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "setup: installing ${need_apt[*]}"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
command -v swift >/dev/null 2>&1 || { echo "setup: Swift 6.1 or newer is required (swift not on PATH)" >&2; exit 1; }
fi
[ "$stage" = packages ] && exit 0

# Python readers used by the tests to read back what Litmus writes (Parquet, JSON Lines):
# a venv in .venv, so the system Python stays untouched. LITMUS_PYTHON overrides it.
if [ "${LITMUS_SETUP_PYTHON:-1}" = 1 ]; then
    # Independent peers for the transport tests: pyvisa-py (VXI-11, HiSLIP, socket and USBTMC
    # clients), pyusb, scpipy (an SCPI server) and pyvisa-sim (its device files, to compare the sim driver with).
    if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import pyarrow, duckdb, polars, pyvisa, pyvisa_py, usb, scpipy, pyvisa_sim, selenium" >/dev/null 2>&1; then
        echo "setup: creating .venv with pyarrow, duckdb, polars, pyvisa, pyvisa-py, pyusb, scpipy, pyvisa-sim and selenium"
        python3 -m venv .venv
        .venv/bin/pip install -q --disable-pip-version-check pyarrow duckdb polars pyvisa pyvisa-py pyusb scpipy pyvisa-sim selenium
    fi
fi

# The fleet-sync tests and benchmark (litmus sync): an S3 API server on loopback (moto's
# standalone server), boto3 and DuckDB's S3 reader to read the bucket back, and the AWS CLI
# (`aws s3 sync`, the benchmark's baseline), in a venv of their own (.venv-sync). DuckDB is
# pinned to 1.5.5 there because its S3 reader (the httpfs extension) comes from PyPI as
# duckdb-extension-httpfs, published for 1.5.x; DuckDB cannot fetch extensions here.
if [ "${LITMUS_SETUP_PYTHON:-1}" = 1 ] || [ "${LITMUS_SETUP_ANCHOR:-0}" = 1 ]; then
    if [ ! -x .venv-sync/bin/python ] || ! .venv-sync/bin/python -c "import moto, boto3, awscli, duckdb, duckdb_extension_httpfs" >/dev/null 2>&1; then
        echo "setup: creating .venv-sync with moto (S3 server), boto3, awscli and duckdb 1.5.5 with httpfs"
        python3 -m venv .venv-sync
        .venv-sync/bin/pip install -q --disable-pip-version-check "moto[server]" boto3 awscli duckdb==1.5.5 duckdb-extension-httpfs==1.5.5
    fi
fi

# The benchmark's anchor (make bench sets LITMUS_SETUP_ANCHOR=1): the Python original,
# litmus-test 0.3.1 (yanked on PyPI when it was renamed, so pinned exactly) and its successor
# testerkit 0.6.0, in a venv of their own (.venv-anchor) so their many dependencies stay out
# of .venv. litmus-bench runs bench/anchor/characterization.py with it; without it, the
# comparison is skipped and says why. Both import filelock._api, which filelock 4 removed
# (they do not cap it), hence "filelock<4".
# The import tests (litmus import) also check their sample project with the originals' own
# loaders, so `make test` installs it too.
if [ "${LITMUS_SETUP_ANCHOR:-0}" = 1 ] || [ "${LITMUS_SETUP_PYTHON:-1}" = 1 ]; then
    if [ ! -x .venv-anchor/bin/python ] || ! .venv-anchor/bin/python -c "import litmus, testerkit" >/dev/null 2>&1; then
        echo "setup: creating .venv-anchor with litmus-test 0.3.1 and testerkit 0.6.0 (the benchmark's Python anchor)"
        if ! { python3 -m venv .venv-anchor &&
            .venv-anchor/bin/pip install -q --disable-pip-version-check litmus-test==0.3.1 testerkit==0.6.0 "filelock<4"; }; then
            echo "setup: could not install the Python anchor; litmus-bench will skip the comparison" >&2
        fi
    fi
fi
