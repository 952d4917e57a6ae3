"""``make bench``: run every full-size spec once and rewrite ``benchmarks/RESULTS.md``.

Each spec of :func:`benchmarks.registry.report_specs` (every strategy end to end, and the
two floors) runs in a fresh worker process, one after the other, so that its peak memory is
its own and a run that overstays its timeout can be stopped (it is then reported as "did not
finish in N s"). The instances come from the cache (generated on the first run). The figures
of the generator's and the scoring's benchmarks are taken by calling their drivers, each in
its own worker too. The raw records go to ``benchmarks/results.json``, the tables to
``benchmarks/RESULTS.md``.

Usage::

    .venv/bin/python -m benchmarks.run [--presets medium large] [--only naive] [--no-others]
                                       [--sweep]

``--sweep`` also runs the sweep benchmark (``bench_sweep.run``: about 15 minutes on two
cores, beyond the 30-minute budget of ``make bench``, hence off by default).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from benchmarks import cache, registry
from benchmarks.measure import tree_rss_mb, worker
from benchmarks.report import render

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
RAW = HERE / "results.json"
POLL_SECONDS = 0.02


def run_in_worker(
    target: Callable[..., None], args: tuple[Any, ...], timeout: float
) -> tuple[dict[str, Any] | None, float, float]:
    """Run ``target(*args, connection)`` in a spawned process; return (record or None when it
    did not finish or sent nothing, wall seconds, peak RSS in MB of its process tree)."""
    context = mp.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=target, args=(*args, sender), daemon=False)
    started = time.perf_counter()
    process.start()
    sender.close()
    handle = psutil.Process(process.pid)
    peak = 0.0
    record: dict[str, Any] | None = None
    while True:
        peak = max(peak, tree_rss_mb(handle))
        if receiver.poll(POLL_SECONDS):
            try:
                record = receiver.recv()
            except EOFError:
                record = None
            break
        if not process.is_alive():
            break
        if time.perf_counter() - started > timeout:
            _stop(handle)
            break
    process.join(timeout=30)
    if process.is_alive():
        _stop(handle)
        process.join()
    return record, time.perf_counter() - started, peak


def _stop(handle: psutil.Process) -> None:
    """Stop a worker and the processes it started (a solver), by their ids."""
    try:
        members = [*handle.children(recursive=True), handle]
    except psutil.Error:
        return
    for member in members:
        try:
            member.kill()
        except psutil.Error:
            continue


def run_spec_isolated(spec: registry.Spec) -> dict[str, Any]:
    """Run one spec in a worker; a worker stopped at its timeout gives a 'did not finish'."""
    record, wall, peak = run_in_worker(worker, (spec.name,), spec.timeout)
    if record is None:
        record = {
            "spec": spec.name,
            "preset": spec.preset,
            "rules": spec.rules,
            "strategy": spec.strategy,
            "solver": spec.solver,
            "phase": spec.phase,
            "time_limit": spec.time_limit,
            "status": "did not finish",
            "message": f"did not finish in {spec.timeout:.0f} s (stopped)",
            "seconds": {"total": round(wall, 2)},
        }
    record["wall_seconds"] = round(wall, 2)
    record["worker_peak_rss_mb"] = round(peak, 1)
    record.setdefault("peak_rss_mb", round(peak, 1))
    return record


def _other_bench(name: str, connection: Any) -> None:
    """Worker: call another engineer's driver and send back its figures."""
    try:
        if name == "generate":
            from benchmarks import bench_generate

            figures: dict[str, Any] = dict(bench_generate.run(bench_generate.PRESET).as_dict())
        elif name == "scoring":
            from benchmarks import bench_scoring

            figures = dict(bench_scoring.run(bench_scoring.FULL_ROWS))
        else:
            from benchmarks import bench_sweep

            figures = dict(bench_sweep.run())
        connection.send({"name": name, "status": "done", "figures": figures})
    except Exception as exc:  # reported in RESULTS.md, not raised
        connection.send({"name": name, "status": "error", "message": f"{exc}"[:300]})
    connection.close()


def stored_sweep() -> dict[str, dict[str, Any]]:
    """The figures of the last stand-alone sweep benchmark, when it has been run."""
    from benchmarks.bench_sweep import STORED

    if not STORED.exists():
        return {}
    figures = json.loads(STORED.read_text(encoding="utf-8"))
    return {"sweep": {"name": "sweep", "status": "stored", "figures": figures}}


def run_others(names: list[str]) -> dict[str, dict[str, Any]]:
    """Figures of the other benchmarks, each in its own worker (30 minutes at most each)."""
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        print(f"  {name} ...", flush=True)
        record, wall, peak = run_in_worker(_other_bench, (name,), 1800.0)
        out[name] = record or {"name": name, "status": "did not finish"}
        out[name]["wall_seconds"] = round(wall, 2)
        out[name]["worker_peak_rss_mb"] = round(peak, 1)
    return out


def machine() -> dict[str, Any]:
    """What the figures were measured on (no host names)."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(package: str) -> str:
        try:
            return version(package)
        except PackageNotFoundError:
            return "?"

    return {
        "cores": psutil.cpu_count(logical=True),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average_1min": round(psutil.getloadavg()[0], 2),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.machine()}",
        "highspy": installed("highspy"),
        "ortools": installed("ortools"),
        "pulp": installed("pulp"),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the suite and write the results (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--presets", nargs="+", default=list(registry.FULL_PRESETS))
    parser.add_argument("--only", default="", help="Run only the specs whose name has this.")
    parser.add_argument("--no-others", action="store_true", help="Skip generate and scoring.")
    parser.add_argument("--sweep", action="store_true", help="Also run the sweep benchmark.")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--render",
        action="store_true",
        help="Measure nothing: write RESULTS.md again from results.json (and the stored sweep).",
    )
    args = parser.parse_args(argv)
    if args.render:
        raw = json.loads(RAW.read_text(encoding="utf-8"))
        others = {k: v for k, v in raw["others"].items() if v.get("status") != "stored"}
        others.update(stored_sweep())
        args.out.write_text(render(raw["meta"], raw["records"], others), encoding="utf-8")
        print(f"wrote {args.out} from {RAW.name}", flush=True)
        return 0
    started = time.perf_counter()
    meta: dict[str, Any] = {"machine": machine(), "started": time.strftime("%Y-%m-%d %H:%M %Z")}
    generation: dict[str, float] = {}
    records: list[dict[str, Any]] = []
    for preset in args.presets:
        _, seconds = cache.ensure_cached(preset)
        generation[preset] = round(seconds, 2)
        for spec in registry.report_specs(preset):
            if args.only and args.only not in spec.name:
                continue
            print(f"{spec.name} (limit {spec.time_limit:.0f} s) ...", flush=True)
            record = run_spec_isolated(spec)
            print(f"  {record['status']} in {record['wall_seconds']} s", flush=True)
            records.append(record)
    others: dict[str, dict[str, Any]] = {}
    if not args.no_others:
        others = run_others(["generate", "scoring", *(["sweep"] if args.sweep else [])])
        if not args.sweep:
            others.update(stored_sweep())
    meta["wall_seconds"] = round(time.perf_counter() - started, 1)
    meta["generation_seconds"] = generation
    meta["command"] = "python -m benchmarks.run " + " ".join(argv or sys.argv[1:])
    RAW.write_text(
        json.dumps({"meta": meta, "records": records, "others": others}, indent=1, default=str),
        encoding="utf-8",
    )
    args.out.write_text(render(meta, records, others), encoding="utf-8")
    print(f"wrote {args.out} in {meta['wall_seconds']} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
