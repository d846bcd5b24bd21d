"""The characterization workload of `litmus-bench harness`, run on the Python original.

The original is PyPI `litmus-test` 0.3.1 (package `litmus`) or its successor `testerkit` 0.6.0
(package `testerkit`), installed in their own venv (.venv-anchor, made by
`LITMUS_SETUP_ANCHOR=1 scripts/setup.sh`). The workload is the Swift one: one run, one step,
a product of three 10-point axes (1,000 vectors), 10 limited measurements per vector, the
event log attached, finalize, session end, log closed, and the run's Parquet file on disk
(the original writes it from its runs daemon, which this script starts on the data directory
as its pytest plugin does, and stops at the end).

A warm-up run with 10 vectors starts the original's daemons first; the timed run then starts
from opening the event store (the Swift bench times the same span: the run logger opening
its log, through its Parquet file).

Prints one line, for litmus-bench to read:

    anchor package=<name> version=<v> vectors=<n> measurements=<n> seconds=<total> parquet_seconds=<wait>

usage: characterization.py {litmus,testerkit} DATA_DIR [--c-points N]
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from importlib.metadata import version
from pathlib import Path

PACKAGES = {"litmus": "litmus-test", "testerkit": "testerkit"}


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="the characterization workload on the Python original")
    parser.add_argument("package", choices=sorted(PACKAGES), help="litmus (litmus-test 0.3.1) or testerkit (0.6.0)")
    parser.add_argument("data_dir", type=Path, help="an empty directory for the original's data and daemons")
    parser.add_argument("--c-points", type=int, default=10, choices=range(1, 11), metavar="1..10",
                        help="points of the third axis (vectors = 100 x this; default 10: 1,000 vectors)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the Parquet file")
    return parser.parse_args()


class Original:
    """The few entry points of the original the workload needs, from either package."""

    def __init__(self, package: str) -> None:
        def module(name: str):
            return importlib.import_module(f"{package}.{name}")

        self.package = package
        self.version = version(PACKAGES[package])
        self.EventStore = module("queries").EventStore
        events = module("data.events")
        self.SessionStarted, self.RunStarted, self.SessionEnded = events.SessionStarted, events.RunStarted, events.SessionEnded
        self.TestHarness = module("execution.harness").TestHarness
        self.RunScope = module("execution.run_scope").RunScope
        self.set_current_run_scope = module("execution._state").set_current_run_scope
        self.Limit = importlib.import_module(package).Limit
        self.runs_daemon = module("data.runs_duckdb_manager")
        self.events_daemon = module("data.duckdb_manager")


def run_once(original: Original, data_dir: Path, c_points: int, timeout: float) -> tuple[int, float, float]:
    """One run of the workload; returns (measurements, seconds to the Parquet file, seconds waited for it)."""
    names = [f"m{i}" for i in range(10)]
    limits = {name: original.Limit(low=0, high=100, unit="V") for name in names}
    config = {"vectors": {"expand": "product", "a": "1:10", "b": "1:10", "c": f"0.1:{c_points / 10:.1f}:0.1"}}

    start = time.perf_counter()
    store = original.EventStore(_data_dir=data_dir)
    scope = original.RunScope(uut_serial="SN-ANCHOR", station_id="bench", test_phase="characterization")
    run = scope.test_run
    log = store.get_event_log(run.session_id)
    scope.event_log = log
    log.emit(original.SessionStarted.from_station(
        session_id=run.session_id, station_id=run.station_id, station_hostname=run.station_hostname))
    log.emit(original.RunStarted(
        session_id=run.session_id, run_id=run.id, station_id=run.station_id, station_hostname=run.station_hostname,
        uut_serial_number=run.uut.serial, test_phase=run.test_phase))
    # Both are needed for vector events (the Swift harness always records its vectors).
    original.set_current_run_scope(scope)
    harness = original.TestHarness(config=config, logger=scope, step_name="characterize", limits=limits,
                                   session_id=run.session_id)

    def body(vector):
        x = vector["c"]
        for name in names:
            harness.measure(name, x * 10)

    harness.run_all(body, step_name="characterize")
    scope.finalize()
    log.emit(original.SessionEnded(session_id=run.session_id))
    log.close()
    original.set_current_run_scope(None)

    waited = time.perf_counter()
    prefix = str(run.id).replace("-", "")[:8]
    runs = data_dir / "runs"
    while not any(prefix in p.name for p in runs.rglob("*.parquet")):
        if time.perf_counter() - waited > timeout:
            raise SystemExit(f"characterization.py: no Parquet file for run {run.id} under {runs} after {timeout:.0f} s")
        time.sleep(0.005)
    end = time.perf_counter()
    store.close()
    return len(harness.vectors) * len(names), end - start, end - waited


def main() -> None:
    arguments = parse_arguments()
    original = Original(arguments.package)
    data_dir = arguments.data_dir.resolve()
    runs_dir = data_dir / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    # The materializer: the original writes a run's Parquet file from its runs daemon.
    original.runs_daemon.acquire(runs_dir)
    try:
        run_once(original, data_dir, 1, arguments.timeout)  # warm-up: daemons started, code loaded
        measurements, seconds, waited = run_once(original, data_dir, arguments.c_points, arguments.timeout)
    finally:
        original.runs_daemon.release(runs_dir)
        # Stop the daemons this script started on its data directory.
        original.runs_daemon.RunsDuckDBManager(runs_dir).force_restart()
        original.events_daemon.DuckDBDaemonManager(data_dir / "events").force_restart()
    print(f"anchor package={original.package} version={original.version} vectors={measurements // 10} "
          f"measurements={measurements} seconds={seconds:.6f} parquet_seconds={waited:.6f}", flush=True)


if __name__ == "__main__":
    main()
    sys.exit(0)
