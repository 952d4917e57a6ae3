"""The exit-code table (0 done, 1 unexpected, 2 invalid or refused, 3 violations, 4 partial),
checked output folders and time limits, and a scheduler that cannot be reached or is lost."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import dask
import distributed  # noqa: F401  (loads its config defaults before any dask.config.set)
import pandas as pd
import pytest
from click.testing import CliRunner

from fluxopt.allocate import SolveSettings
from fluxopt.cli.app import cli
from fluxopt.cli.exits import ExitCode
from fluxopt.schema.problems import FluxoptError

TINY = Path(__file__).resolve().parents[1] / "instances" / "tiny"
SWEEP = """\
name: s
defaults: {time_limit: 10}
scenarios:
  - {name: a}
  - {name: b, tolerance: 2}
  - {name: c, tolerance: 3}
"""


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_help_shows_the_exit_code_table() -> None:
    code, output = invoke("--help")
    assert code == ExitCode.DONE
    for line in (
        "0  done",
        "1  unexpected error",
        "2  invalid input or refused",
        "3  verification found violations",
        "4  partial",
    ):
        assert line in output


def test_exit_0_done_and_2_invalid(tmp_path: Path) -> None:
    assert invoke("validate", str(TINY))[0] == 0
    broken = tmp_path / "broken"
    shutil.copytree(TINY, broken)
    (broken / "holders.csv").write_text("holder_id,kind\nX,magic\n", encoding="utf-8")
    code, output = invoke("validate", str(broken))
    assert code == ExitCode.INVALID == 2
    assert "invalid" in output


def test_exit_3_when_the_verifier_finds_violations(tmp_path: Path) -> None:
    out = tmp_path / "solve"
    code, output = invoke("solve", str(TINY), "-o", str(out), "--time-limit", "20")
    assert code == 0, output
    shortlist = pd.read_csv(out / "shortlist.csv", dtype=str)
    first = shortlist[shortlist["rank"] == "1"]
    assert len(first) >= 2
    tampered = shortlist.copy()
    tampered.loc[first.index[1], "applicant_id"] = first.iloc[0]["applicant_id"]
    tampered.to_csv(out / "shortlist.csv", index=False)
    code, output = invoke("verify", str(TINY), str(out))
    assert code == ExitCode.VIOLATIONS == 3, output


def test_exit_1_on_an_unexpected_error_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(path: object) -> None:
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr("fluxopt.cli.instance_cmds.validate_path", broken)
    result = CliRunner().invoke(cli, ["validate", str(TINY)])
    assert result.exit_code == ExitCode.UNEXPECTED == 1
    assert "unexpected error: RuntimeError: disk on fire; run with --debug" in result.output
    assert "Traceback" not in result.output
    assert "second line" not in result.output
    debug = CliRunner().invoke(cli, ["--debug", "validate", str(TINY)])
    assert isinstance(debug.exception, RuntimeError)


TIME_LIMIT_COMMANDS = {
    "solve": ["solve", str(TINY), "-o", "{out}"],
    "baseline": ["baseline", str(TINY), "-o", "{out}"],
    "batch": ["batch", str(TINY), "-m", "2026-01", "--ledger", "{out}/l.db", "-o", "{out}/b"],
    "simulate": ["simulate", str(TINY), "-o", "{out}", "--scheduler", "inline"],
    "price": ["price", str(TINY), "-o", "{out}", "--scheduler", "inline"],
}


@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf", "soon"])
@pytest.mark.parametrize("command", sorted(TIME_LIMIT_COMMANDS))
def test_time_limit_must_be_finite_and_positive(command: str, value: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = [a.replace("{out}", str(out)) for a in TIME_LIMIT_COMMANDS[command]]
    code, output = invoke(*args, "--time-limit", value)
    assert code == ExitCode.INVALID, output
    assert "--time-limit" in output
    assert "seconds" in output
    assert not out.exists()


def test_time_limit_is_checked_in_the_library_and_scenario_files(tmp_path: Path) -> None:
    for value in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(FluxoptError, match="finite number of seconds"):
            SolveSettings(time_limit=value)
    sweep = tmp_path / "s.yaml"
    sweep.write_text("scenarios:\n  - {name: a, time_limit: .inf}\n", encoding="utf-8")
    code, output = invoke("sweep", str(TINY), str(sweep), "-o", str(tmp_path / "o"))
    assert code == ExitCode.INVALID
    assert "time_limit" in output


def read_only_folder(tmp_path: Path) -> Path:
    """A folder that refuses new files: a chmod 555 folder, or /sys for a superuser."""
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    for candidate in (folder, Path("/sys")):
        try:
            with tempfile.TemporaryFile(dir=candidate):
                pass
        except OSError:
            return candidate
    pytest.skip("no read-only folder available to this user")


OUTPUT_COMMANDS = {
    "solve": ["solve", str(TINY), "-o", "{ro}/out"],
    "solve --export": ["solve", str(TINY), "-o", "{rw}", "--export", "{ro}/model.mps"],
    "baseline": ["baseline", str(TINY), "-o", "{ro}/out"],
    "sweep": ["sweep", str(TINY), "{sweep}", "-o", "{ro}/out", "--scheduler", "inline"],
    "simulate": ["simulate", str(TINY), "-o", "{ro}/out", "--scheduler", "inline"],
    "price": ["price", str(TINY), "-o", "{ro}/out", "--scheduler", "inline"],
    "score": ["score", str(TINY), "--grid", "lyon-additive", "--out", "{ro}/out"],
    "bilan": ["bilan", "--year", "2026", "--ledger", "{rw}/l.db", "-o", "{ro}/out"],
    "generate": ["generate", "--preset", "tiny", "{ro}/out"],
    "flux plan": ["flux", "plan", str(TINY), "--csv", "{ro}/plan.csv"],
    "flux compare": ["flux", "compare", str(TINY), "--csv", "{ro}/compare.csv"],
    "flux trajectory": ["flux", "trajectory", str(TINY), "--csv", "{ro}/t.csv"],
    "outcomes simulate": [
        "outcomes",
        "simulate",
        "-m",
        "2026-01",
        "--ledger",
        "{rw}/l.db",
        "-o",
        "{ro}/o.csv",
    ],
}


@pytest.mark.parametrize("command", sorted(OUTPUT_COMMANDS))
def test_read_only_output_is_refused_before_any_work(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_only = read_only_folder(tmp_path)

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("work started before the output folder was checked")

    for target in (
        "fluxopt.cli.solve_cmds.allocate",
        "fluxopt.cli.solve_cmds.load_reported",
        "fluxopt.cli.bench_cmds.run_strategy",
        "fluxopt.cli.whatif_cmds.run_with_progress",
        "fluxopt.cli.score_cmds.load_reported",
        "fluxopt.cli.flux_cmds.load_reported",
        "fluxopt.cli.generate_cmds.generate",
    ):
        monkeypatch.setattr(target, never, raising=False)
    sweep = tmp_path / "s.yaml"
    sweep.write_text(SWEEP, encoding="utf-8")
    writable = tmp_path / "rw"
    values = {"{ro}": str(read_only), "{rw}": str(writable), "{sweep}": str(sweep)}
    args = []
    for arg in OUTPUT_COMMANDS[command]:
        for key, value in values.items():
            arg = arg.replace(key, value)
        args.append(arg)
    code, output = invoke(*args)
    assert code == ExitCode.INVALID, output
    assert "not writable" in output
    assert "Traceback" not in output
    assert not writable.exists()


def test_an_output_that_is_a_file_is_refused(tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("keep", encoding="utf-8")
    code, output = invoke("solve", str(TINY), "-o", str(taken))
    assert code == ExitCode.INVALID
    assert "is a file" in output
    assert taken.read_text(encoding="utf-8") == "keep"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unreachable_scheduler_is_a_one_line_error(tmp_path: Path) -> None:
    sweep = tmp_path / "s.yaml"
    sweep.write_text(SWEEP, encoding="utf-8")
    address = f"tcp://127.0.0.1:{free_port()}"
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        code, output = invoke("sweep", str(TINY), str(sweep), "-o", str(tmp_path / "o"),
                              "--scheduler", address)  # fmt: skip
    assert code == ExitCode.INVALID, output
    assert f"cannot reach the Dask scheduler {address}" in output
    assert "Traceback" not in output


def wait_for_port(port: int, seconds: float = 60.0) -> None:
    """Wait until something listens on the local port."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    pytest.fail(f"nothing listens on port {port} after {seconds} s")


@pytest.mark.dask
@pytest.mark.timeout(240)
def test_a_lost_scheduler_ends_the_sweep_with_status_4(tmp_path: Path) -> None:
    bindir = Path(sys.executable).parent
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen(
        [str(bindir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
         "--no-dashboard"], **quiet,
    )  # fmt: skip
    worker = subprocess.Popen(
        [str(bindir / "dask"), "worker", address, "--nthreads", "1", "--nworkers", "1",
         "--no-dashboard"], cwd=tmp_path, env={**os.environ, "OMP_NUM_THREADS": "1"}, **quiet,
    )  # fmt: skip
    out = tmp_path / "o"
    sweep = tmp_path / "s.yaml"
    sweep.write_text(SWEEP, encoding="utf-8")
    wait_for_port(port)

    def kill_after_first_result() -> None:
        deadline = time.monotonic() + 200
        while time.monotonic() < deadline:
            if list((out / "results").glob("*.json")):
                scheduler.kill()
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_after_first_result, daemon=True)
    try:
        killer.start()
        with dask.config.set({"distributed.comm.timeouts.connect": "10s"}):
            code, output = invoke("sweep", str(TINY), str(sweep), "-o", str(out),
                                  "--scheduler", address)  # fmt: skip
    finally:
        scheduler.kill()
        worker.kill()
        scheduler.wait()
        worker.wait()
    assert code == ExitCode.PARTIAL == 4, output
    assert "the Dask scheduler was lost" in output
    assert "Traceback" not in output
    table = pd.read_csv(out / "compare.csv")
    assert (table["status"] != "error").sum() >= 1
    assert (table["status"] == "error").sum() >= 1
