"""A sweep on a real Dask scheduler with two workers, each a separate process on loopback.

The scheduler and the workers are started with the ``dask`` command of the environment;
the scheduler writes its address to a scheduler file. One worker is killed while the sweep
runs: the scheduler recomputes its tasks on the other worker and every row still arrives.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fluxopt.scenarios.spec import Scenario
from fluxopt.scenarios.sweep import run_sweep

pytestmark = [pytest.mark.dask, pytest.mark.timeout(120)]

TINY = Path(__file__).resolve().parents[1] / "instances" / "tiny"
DASK = Path(sys.executable).with_name("dask")
START_TIMEOUT = 40.0


@dataclass
class Cluster:
    address: str
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]]


def _wait_for(condition: object, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not start within {START_TIMEOUT:g} s")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    from distributed import Client

    scheduler_file = tmp_path / "scheduler.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    started: list[subprocess.Popen[bytes]] = []

    def launch(*args: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [str(DASK), *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        started.append(process)
        return process

    try:
        scheduler = launch(
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(scheduler_file),
        )
        _wait_for(scheduler_file.exists, "the scheduler")
        workers = [
            launch(
                "worker",
                "--scheduler-file",
                str(scheduler_file),
                "--host",
                "127.0.0.1",
                "--nthreads",
                "1",
                "--no-nanny",
                "--no-dashboard",
                "--name",
                f"w{i}",
            )
            for i in range(2)
        ]
        with Client(scheduler_file=str(scheduler_file), timeout=START_TIMEOUT) as client:
            client.wait_for_workers(2, timeout=START_TIMEOUT)
            address = client.scheduler.address
        yield Cluster(address=address, scheduler=scheduler, workers=workers)
    finally:
        for process in reversed(started):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def eight_scenarios() -> list[Scenario]:
    batches = [
        Scenario(name=f"batch {method}", method=method, time_limit=10)
        for method in ("stock_share", "turnover_weighted", "unique_rights", "negotiated")
    ]
    years = [
        Scenario(
            name=f"two months, refusals {rate}",
            time_limit=10,
            simulate={"months": 2, "refusal_rate": rate},
        )
        for rate in (0.0, 0.2, 0.4, 0.6)
    ]
    return batches + years


def test_a_sweep_survives_a_worker_killed_mid_run(cluster: Cluster, tmp_path: Path) -> None:
    pids = {process.pid for process in cluster.workers}
    killed: list[int] = []
    rows_before_kill: list[dict[str, object]] = []

    def on_row(row: dict[str, object], cached: bool) -> None:
        if killed:
            return
        rows_before_kill.append(row)
        victim = next(p for p in cluster.workers if p.pid == row["worker_pid"])
        victim.kill()
        killed.append(victim.pid)

    scenarios = eight_scenarios()
    outcome = run_sweep(TINY, scenarios, tmp_path / "out", scheduler=cluster.address, on_row=on_row)

    assert len(killed) == 1
    assert cluster.workers[0].poll() is not None or cluster.workers[1].poll() is not None
    rows = outcome.rows
    assert len(rows) == 8
    assert list(rows["scenario"]) == [s.name for s in scenarios]
    assert (rows["status"] != "error").all(), rows[["scenario", "status", "error"]]
    assert set(rows["worker_pid"]) <= pids
    # after the kill the surviving worker computes the rest (the killed one may at most have
    # finished one more task in the instant before it died)
    survivor = (pids - set(killed)).pop()
    late = rows[~rows["scenario"].isin([r["scenario"] for r in rows_before_kill])]
    assert len(late) == 7
    assert (late["worker_pid"] == survivor).sum() >= len(late) - 1
    assert set(rows.loc[rows["kind"] == "simulation", "months"]) == {2}

    again = run_sweep(TINY, scenarios, tmp_path / "out", scheduler=cluster.address)
    assert (again.submitted, again.reused) == (0, 8)
