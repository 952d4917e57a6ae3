r"""Run many scenarios in parallel on Dask, with a result cache that makes re-runs resume.

Where tasks run
    ``scheduler=None`` starts a local cluster of one single-threaded worker process per core
    (``LocalCluster(n_workers=cores, threads_per_worker=1, processes=True)``); a
    ``tcp://host:port`` address uses an existing Dask scheduler and its workers, to go past
    one machine (every worker must see the base instance at the same path); ``"inline"``
    runs the scenarios one after another in this process (the sequential reference of the
    benchmark, and quick runs). Each task is :func:`fluxopt.scenarios.task.run_scenario`:
    it receives the base's path and the scenario as plain data, reads the instance itself,
    solves with one solver thread, and returns a plain row.
Failures
    A scenario that fails returns a row with ``status = "error"`` and the message; a task
    lost with its worker is recomputed on another worker by the scheduler (and retried up
    to ``retries`` times if it raised); a task that still fails gives an error row. The
    other scenarios always finish. A scheduler that cannot be reached raises
    :class:`SchedulerError` before anything runs; a scheduler lost during the sweep turns
    every scenario not finished yet into an error row ("the Dask scheduler was lost") and
    sets :attr:`SweepOutcome.scheduler_lost`; the rows that finished are kept (and cached).
Cache and resume
    Each finished scenario is written to ``<out>/results/<key>.json``, where the key is
    :math:`\operatorname{sha256}` of the scenario's specification (without its name), the
    hashes of the base instance's files, of the constraint set and grid files it uses, and
    the fluxopt version. A second run with the same inputs loads those files and submits
    nothing; error rows are not cached, so a failed scenario is tried again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from fluxopt import __version__
from fluxopt.constraints.ruleset import constraints_dir
from fluxopt.scenarios.apply import check_rule_files, instance_yaml, rule_names
from fluxopt.scenarios.spec import Scenario
from fluxopt.scenarios.task import error_message, run_scenario
from fluxopt.schema.problems import FluxoptError

RESULTS_DIR = "results"
INLINE = "inline"
OnRow = Callable[[dict[str, Any], bool], None]
"""Called with each row as it arrives, and whether it came from the cache."""


@dataclass
class SweepOutcome:
    """The rows of a sweep and what it took to get them."""

    rows: pd.DataFrame
    """One row per scenario, in the order of the scenarios (see :mod:`.task`)."""
    submitted: int
    """Tasks run (submitted to Dask, or run inline)."""
    reused: int
    """Scenarios whose row came from the cache."""
    out: Path
    scheduler_lost: bool = False
    """Whether the Dask scheduler was lost before every scenario finished."""

    @property
    def failed(self) -> int:
        """Scenarios whose row is an error."""
        return int((self.rows["status"] == "error").sum()) if len(self.rows) else 0


def run_sweep(
    base: Path | str,
    scenarios: tuple[Scenario, ...] | list[Scenario],
    out: Path | str,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    retries: int = 2,
    on_row: OnRow | None = None,
) -> SweepOutcome:
    """Run every scenario not already in ``out``'s cache; return all rows (module docstring).

    The constraint sets and grids the scenarios read are checked first: an invalid one
    raises :class:`~fluxopt.schema.problems.InvalidInputError` before anything is written.
    """
    base_path = Path(base).resolve()
    check_rule_files(base_path, scenarios)
    out_path = Path(out)
    cache = out_path / RESULTS_DIR
    cache.mkdir(parents=True, exist_ok=True)
    digest = base_digest(base_path)
    keys = [scenario_key(s, base_path, digest) for s in scenarios]
    rows: dict[str, dict[str, Any]] = {}
    todo: dict[str, Scenario] = {}
    for key, scenario in zip(keys, scenarios, strict=True):
        cached = read_cached(cache, key)
        if cached is not None:
            rows[key] = cached
            if on_row is not None:
                on_row({**cached, "scenario": scenario.name}, True)
        else:
            todo.setdefault(key, scenario)

    def finish(key: str, row: dict[str, Any]) -> None:
        row = {**row, "key": key}
        if row.get("status") != "error":
            write_cached(cache, key, row)
        rows[key] = row
        if on_row is not None:
            on_row({**row, "scenario": todo[key].name}, False)

    lost = False
    if todo:
        run = _run_inline if scheduler == INLINE else _run_dask
        lost = run(str(base_path), digest, todo, finish, scheduler, workers, retries)
    table = pd.DataFrame(
        [{**rows[key], "scenario": s.name} for key, s in zip(keys, scenarios, strict=True)]
    )
    reused = sum(1 for key in keys if key not in todo)
    return SweepOutcome(
        rows=table, submitted=len(todo), reused=reused, out=out_path, scheduler_lost=lost
    )


def _run_inline(
    base: str,
    digest: str,
    todo: dict[str, Scenario],
    finish: Callable[[str, dict[str, Any]], None],
    scheduler: str | None,
    workers: int | None,
    retries: int,
) -> bool:
    for key, scenario in todo.items():
        finish(key, run_scenario(base, scenario.model_dump(mode="json"), digest))
    return False


def _run_dask(
    base: str,
    digest: str,
    todo: dict[str, Scenario],
    finish: Callable[[str, dict[str, Any]], None],
    scheduler: str | None,
    workers: int | None,
    retries: int,
) -> bool:
    """Run the scenarios on Dask; return whether the scheduler was lost on the way."""
    from distributed import as_completed

    token = uuid.uuid4().hex[:8]
    done: set[str] = set()
    with quiet_dask_logs(), dask_client(scheduler, workers) as client:
        futures = {
            client.submit(
                run_scenario,
                base,
                scenario.model_dump(mode="json"),
                digest,
                key=f"fluxopt-scenario-{key[:16]}-{token}",
                pure=False,
                retries=retries,
            ): key
            for key, scenario in todo.items()
        }
        lost = False
        try:
            for future in as_completed(futures):
                key = futures[future]
                try:
                    row = future.result()
                except Exception as exc:  # the task failed (lost worker, retries spent)
                    gone = _scheduler_gone(client, exc)
                    lost = lost or gone
                    row = _error_row(todo[key], LOST_MESSAGE if gone else error_message(exc))
                finish(key, row)
                done.add(key)
        except (OSError, TimeoutError, asyncio.CancelledError) as exc:
            if not _scheduler_gone(client, exc):
                raise
            lost = True
        for key in todo:
            if key not in done:
                finish(key, _error_row(todo[key], LOST_MESSAGE))
                lost = True
        return lost


LOST_MESSAGE = "the Dask scheduler was lost before this scenario finished; run the sweep again"


class SchedulerError(FluxoptError):
    """The Dask scheduler named by the user cannot be reached."""


def _error_row(scenario: Scenario, message: str) -> dict[str, Any]:
    return {"scenario": scenario.name, "kind": scenario.kind, "status": "error", "error": message}


def _scheduler_gone(client: Any, exc: BaseException) -> bool:
    """Whether ``exc`` comes from a lost connection to the scheduler rather than the task."""
    if "scheduler-connection-lost" in str(exc):
        return True
    return getattr(client, "status", "running") not in ("running", "connecting", "newly-created")


@contextlib.contextmanager
def quiet_dask_logs() -> Iterator[None]:
    """Keep Dask's own error logs (and their tracebacks) off the screen during a sweep.

    What matters reaches the user as rows and messages of fluxopt (module docstring).
    """
    names = ["distributed"] + [
        name for name in logging.root.manager.loggerDict if name.startswith("distributed.")
    ]
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@contextlib.contextmanager
def dask_client(scheduler: str | None, workers: int | None = None) -> Iterator[Any]:
    """A Dask client on ``scheduler`` (an address), or on a local cluster sized to the cores."""
    from distributed import Client, LocalCluster

    with contextlib.ExitStack() as stack:
        if scheduler:
            try:
                client = stack.enter_context(Client(scheduler))
            except (OSError, TimeoutError, ValueError) as exc:
                text = str(exc).strip()
                reason = text.splitlines()[0] if text else type(exc).__name__
                raise SchedulerError(
                    f"cannot reach the Dask scheduler {scheduler}: {reason}; check the address "
                    "and that the scheduler runs, or leave out --scheduler for a local cluster"
                ) from exc
        else:
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=workers or available_cores(),
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",
                    silence_logs=logging.ERROR,
                )
            )
            client = stack.enter_context(Client(cluster))
        yield client


def available_cores() -> int:
    """Cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return max(len(os.sched_getaffinity(0)), 1)
    return max(os.cpu_count() or 1, 1)


def base_digest(folder: Path) -> str:
    """sha256 over the names and contents of the instance folder's files."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        digest.update(path.name.encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def scenario_key(scenario: Scenario, base: Path, digest: str) -> str:
    """The cache key of a scenario on a base: what it computes, with what, by which version."""
    payload = {
        "scenario": scenario.spec(),
        "base": digest,
        "rule_files": rule_file_digests(scenario, base),
        "version": __version__,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def rule_file_digests(scenario: Scenario, base: Path) -> dict[str, str]:
    """sha256 of the constraint-set and grid files the scenario reads (by what it names)."""
    out: dict[str, str] = {}
    for kind, name in rule_names(scenario, instance_yaml(base), Path(base)).items():
        if not name:
            continue
        path = _rule_file(kind, name, base)
        out[kind] = (
            hashlib.sha256(path.read_bytes()).hexdigest() if path is not None else f"missing:{name}"
        )
    return out


def _rule_file(kind: str, name: str, base: Path) -> Path | None:
    from fluxopt.schema.problems import FluxoptError
    from fluxopt.scoring import resolve_grid

    if kind == "grid":
        try:
            return resolve_grid(name, base)
        except FluxoptError:
            return None
    path = Path(name)
    if not path.suffix:
        path = constraints_dir() / f"{name}.yaml"
    return path if path.is_file() else None


def read_cached(cache: Path, key: str) -> dict[str, Any] | None:
    """The cached row of ``key``, or ``None`` (also for an unreadable file)."""
    path = cache / f"{key}.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    row = data.get("row") if isinstance(data, dict) else None
    return row if isinstance(row, dict) else None


def write_cached(cache: Path, key: str, row: dict[str, Any]) -> None:
    """Write a row to the cache atomically (a file appears whole or not at all)."""
    path = cache / f"{key}.json"
    partial = path.with_suffix(f".{uuid.uuid4().hex[:6]}.part")
    partial.write_text(
        json.dumps({"key": key, "version": __version__, "row": row}, default=_plain, indent=1),
        encoding="utf-8",
    )
    partial.replace(path)


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)
