"""Render the benchmark records as ``benchmarks/RESULTS.md``: targets, shortfalls, tables.

Definitions used by the tables:

- **objective**: the model objective of a strategy's decisions under fluxopt's model of the
  batch (:func:`fluxopt.evaluate.objective_of`), a loss to minimise: 10,000 per fillable
  unit left empty, 200 per attribution missing from a quota or unit outside a holder's flux
  band, 20 per attribution above a mixity cap, 5 per unit of segment-mix deviation, plus
  the value lost by the first-ranked candidates (each in [0, 1]);
- **filled**: units with a first-ranked applicant or oriented to a holder in direct mode;
- **quota groups**: the (rule, group) rows of the verifier's quota table; a group is
  *attainable* when at least one strategy's decisions meet it in the same run, and a
  strategy *misses* it when its own decisions attribute units in the group without meeting
  the rule;
- **finishes**: a MILP run that proves its gap within the time limit (status ``optimal``).
"""

from __future__ import annotations

from typing import Any

Record = dict[str, Any]

STRATEGY_ORDER = (
    "fluxopt-highs",
    "fluxopt-cpsat",
    "fluxopt-cbc",
    "greedy",
    "naive-pulp",
)
FLOOR_ORDER = ("lp-relaxation", "min-cost-flow")
TARGET_SECONDS = {"medium": 5.0, "large": 60.0}
TARGET_GAP = 0.005
TARGET_MEMORY_MB = 4096.0
TARGET_BUILD_SHARE = 0.20
TARGET_SPEEDUP = 10.0


def render(meta: dict[str, Any], records: list[Record], others: dict[str, Record]) -> str:
    """The whole RESULTS.md text."""
    presets = list(dict.fromkeys(r["preset"] for r in records))
    lines = _header(meta)
    targets: list[tuple[str, str, str, bool | None]] = []
    sections: list[str] = []
    for preset in presets:
        of_preset = {r["strategy"]: r for r in records if r["preset"] == preset}
        targets += _targets(preset, of_preset)
        sections += _preset_section(preset, of_preset)
    lines += ["## Targets", ""]
    lines += _table(
        ["target", "preset", "measured", "met"],
        [[t, p, m, _yes(ok)] for t, p, m, ok in targets],
    )
    lines += ["", "## Shortfalls", ""]
    missed = [f"- **{p}**: {t} — {m}." for t, p, m, ok in targets if ok is False]
    unknown = [f"- **{p}**: {t} — not measured ({m})." for t, p, m, ok in targets if ok is None]
    lines += missed + unknown if missed or unknown else ["None: every target above is met."]
    lines += ["", *sections]
    lines += _others(others)
    return "\n".join(lines).rstrip() + "\n"


def _header(meta: dict[str, Any]) -> list[str]:
    machine = meta.get("machine", {})
    return [
        "# Benchmark results",
        "",
        f"Written by `{meta.get('command', 'python -m benchmarks.run').strip()}` "
        f"(`make bench`), started {meta.get('started', '?')}, "
        f"{meta.get('wall_seconds', '?')} s in all. Every figure below was measured in that "
        "one run; rerunning `make bench` refreshes them all.",
        "",
        f"Machine: {machine.get('cores', '?')} cores, {machine.get('memory_gb', '?')} GB, "
        f"{machine.get('system', '?')}, load average {machine.get('load_average_1min', '?')} "
        f"at the start (other work on the machine slows every figure alike); Python "
        f"{machine.get('python', '?')}, HiGHS {machine.get('highspy', '?')}, OR-Tools "
        f"{machine.get('ortools', '?')}, PuLP {machine.get('pulp', '?')} (CBC bundled).",
        "",
        "Instances: `fluxopt.generate` presets, seed 1, constraint set `lec-default`, the "
        "wait-based default score. Each strategy runs once, end to end (scoring, candidate "
        "graph, model, solve, alternates), in a fresh worker process, one after the other; "
        "every solver gets one thread, the preset's time limit and a relative gap of 0.1 %. "
        "Peak memory: RSS of the worker and of the solver processes it starts, sampled every "
        "20 ms with psutil (the whole process, instance included). The objective is the "
        "model objective of each strategy's decisions (a loss: lower is better; see "
        "`benchmarks/report.py` for the definitions of objective, filled, attainable quota "
        "groups and of a run that finishes). In the targets, *fluxopt* is the pipeline with "
        "its default backend (`fluxopt-highs`).",
        "",
    ]


def _targets(preset: str, runs: dict[str, Record]) -> list[tuple[str, str, str, bool | None]]:
    out: list[tuple[str, str, str, bool | None]] = []
    flux = runs.get("fluxopt-highs")
    greedy = runs.get("greedy")
    naive = runs.get("naive-pulp")
    if flux is None:
        return out
    total = _seconds(flux, "total")
    if preset in TARGET_SECONDS:
        limit = TARGET_SECONDS[preset]
        out.append(
            (
                f"end to end ≤ {limit:g} s",
                preset,
                f"{_s(total)} s ({_status(flux)})",
                None if total is None or not _solved(flux) else total <= limit,
            )
        )
    build = _seconds(flux, "build")
    if preset == "large" and total:
        share = (build or 0.0) / total
        out.append(
            (
                "model build ≤ 20 % of end to end",
                preset,
                f"{share:.1%} ({_s(build)} s of {_s(total)} s)",
                share <= TARGET_BUILD_SHARE if _solved(flux) else None,
            )
        )
    peak = flux.get("peak_rss_mb")
    if preset == "large" and peak is not None:
        out.append(
            ("peak memory ≤ 4 GB", preset, f"{peak:,.0f} MB", float(peak) <= TARGET_MEMORY_MB)
        )
    gap = flux.get("gap")
    if gap is not None:
        shown = f"{gap:.2%}"
    elif flux.get("objective") is None:
        shown = "no solution"
    else:
        shown = f"no bound reported ({flux.get('message', '')})"
    out.append(
        ("gap to the bound ≤ 0.5 %", preset, shown, None if gap is None else gap <= TARGET_GAP)
    )
    out.append(_speed_target(preset, flux, naive))
    if greedy is not None:
        out += _quality_targets(preset, flux, greedy, runs)
    return out


def _speed_target(
    preset: str, flux: Record, naive: Record | None
) -> tuple[str, str, str, bool | None]:
    name = "≥ 10× faster than naive-pulp where it finishes, objective equal or better"
    if naive is None:
        return name, preset, "naive-pulp not run", None
    if naive.get("status") != "optimal":
        limit = naive.get("time_limit", 0)
        best = naive.get("objective")
        detail = f"naive-pulp did not finish in {limit:.0f} s" + (
            f" (best objective {best:,.2f} vs fluxopt {_o(flux.get('objective'))})"
            if best is not None
            else " (no solution)"
        )
        return name, preset, detail, None
    ratio = _ratio(_seconds(naive, "total"), _seconds(flux, "total"))
    objective_ok = _le(flux.get("objective"), naive.get("objective"))
    measured = (
        f"{_x(ratio)} (naive {_s(_seconds(naive, 'total'))} s, fluxopt "
        f"{_s(_seconds(flux, 'total'))} s); objective {_o(flux.get('objective'))} vs "
        f"{_o(naive.get('objective'))}"
    )
    ok = ratio is not None and ratio >= TARGET_SPEEDUP and objective_ok
    return name, preset, measured, ok if _solved(flux) else None


def _quality_targets(
    preset: str, flux: Record, greedy: Record, runs: dict[str, Record]
) -> list[tuple[str, str, str, bool | None]]:
    out: list[tuple[str, str, str, bool | None]] = []
    if not flux.get("verified") or not greedy.get("verified"):
        return [("quotas and fill vs greedy", preset, "fluxopt has no verified solution", None)]
    attainable = attainable_groups(runs)
    flux_missed = missed_groups(flux, attainable)
    greedy_missed = missed_groups(greedy, attainable)
    out.append(
        (
            "all attainable quota groups met",
            preset,
            f"fluxopt misses {len(flux_missed)} of {len(attainable)} attainable"
            + (f" ({_names(flux_missed)})" if flux_missed else ""),
            not flux_missed,
        )
    )
    out.append(
        (
            "greedy misses attainable quota groups",
            preset,
            f"greedy misses {len(greedy_missed)}"
            + (f" ({_names(greedy_missed)})" if greedy_missed else ""),
            bool(greedy_missed),
        )
    )
    filled, greedy_filled = flux.get("units_filled", 0), greedy.get("units_filled", 0)
    out.append(
        (
            "fills at least as many units as greedy",
            preset,
            f"{filled} vs {greedy_filled} of {flux.get('units', '?')}",
            filled >= greedy_filled,
        )
    )
    return out


def attainable_groups(runs: dict[str, Record]) -> set[tuple[str, str]]:
    """Quota groups met by at least one strategy's decisions."""
    return {
        (g["rule"], g["group"])
        for record in runs.values()
        for g in record.get("quota_groups", [])
        if g["met"]
    }


def missed_groups(record: Record, attainable: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """Attainable groups that a strategy's decisions attribute units in without meeting."""
    return sorted(
        (g["rule"], g["group"])
        for g in record.get("quota_groups", [])
        if not g["met"] and (g["rule"], g["group"]) in attainable
    )


def _preset_section(preset: str, runs: dict[str, Record]) -> list[str]:
    sizes = next((r for r in runs.values() if r.get("columns")), None)
    title = f"## Preset `{preset}`"
    lines = [title, ""]
    if sizes is not None:
        lines += [
            f"{sizes.get('units', '?'):,} units; {sizes.get('eligible_pairs', 0):,} eligible "
            f"pairs, {sizes.get('candidate_pairs', 0):,} in the candidate graph; model of "
            f"{sizes.get('columns', 0):,} columns, {sizes.get('rows', 0):,} rows, "
            f"{sizes.get('nonzeros', 0):,} nonzeros. Time limit "
            f"{sizes.get('time_limit', 0):.0f} s per MILP run.",
            "",
        ]
    lines += ["### Strategies", ""]
    header = [
        "strategy",
        "status",
        "pairs s",
        "build s",
        "solve s",
        "extract s",
        "total s",
        "peak MB",
        "objective",
        "bound",
        "gap",
        "filled",
        "quota groups met",
        "violations",
    ]
    rows = []
    for name in STRATEGY_ORDER:
        record = runs.get(name)
        if record is None:
            continue
        groups = record.get("quota_groups", [])
        rows.append(
            [
                name,
                _status(record),
                _s(_seconds(record, "pairs")),
                _s(_seconds(record, "build")),
                _s(_seconds(record, "solve")),
                _s(_seconds(record, "extract")),
                _s(_seconds(record, "total")),
                _mb(record.get("peak_rss_mb")),
                _o(record.get("objective")),
                _o(record.get("bound")),
                _pct(record.get("gap")),
                f"{record.get('units_filled', '-')} / {record.get('units', '-')}",
                f"{sum(g['met'] for g in groups)} / {len(groups)}" if groups else "-",
                str(record.get("violations", "-")),
            ]
        )
    lines += _table(header, rows)
    notes = [
        f"- {name}: {runs[name].get('message', '')}"
        for name in STRATEGY_ORDER
        if name in runs and runs[name].get("message")
    ]
    lines += [
        "",
        "How each run ended (the solver's or the pipeline's own words):",
        "",
        *notes,
        "",
        "The solve of `naive-pulp` includes PuLP writing the model file for CBC and reading "
        "the solution back; that of `fluxopt-cbc` includes making the PuLP problem from the "
        "model's arrays; that of `fluxopt-cpsat` includes scaling the model to integers.",
    ]
    lines += ["", "### Reference floors", ""]
    floor_rows = []
    for name in FLOOR_ORDER:
        record = runs.get(name)
        if record is None:
            continue
        floor_rows.append(
            [
                name,
                record.get("status", "-"),
                _s(_seconds(record, "solve")),
                _o(record.get("objective")),
                _mb(record.get("peak_rss_mb")),
                record.get("message", ""),
            ]
        )
    lines += _table(["floor", "status", "solve s", "optimum", "peak MB", "detail"], floor_rows)
    lines += ["", "### Ratios", ""]
    lines += _table(["comparison", "value"], _ratio_rows(runs))
    return [*lines, ""]


def _ratio_rows(runs: dict[str, Record]) -> list[list[str]]:
    flux = runs.get("fluxopt-highs", {})
    greedy = runs.get("greedy", {})
    naive = runs.get("naive-pulp", {})
    rows = []
    if naive:
        ratio = _ratio(_seconds(naive, "total"), _seconds(flux, "total"))
        finished = naive.get("status") == "optimal"
        rows.append(
            [
                "naive-pulp time / fluxopt time (end to end)",
                f"{_x(ratio)}"
                + (
                    ""
                    if finished
                    else f" (naive-pulp did not finish in {naive['time_limit']:.0f} s)"
                ),
            ]
        )
        rows.append(
            [
                "naive-pulp build / fluxopt build",
                _x(_ratio(_seconds(naive, "build"), _seconds(flux, "build"))),
            ]
        )
        rows.append(
            [
                "objective: fluxopt vs naive-pulp",
                f"{_o(flux.get('objective'))} vs {_o(naive.get('objective'))}",
            ]
        )
    if greedy:
        delta = None
        if flux.get("objective") is not None and greedy.get("objective") is not None:
            delta = greedy["objective"] - flux["objective"]
        rows.append(
            [
                "objective: fluxopt vs greedy (loss; greedy − fluxopt)",
                f"{_o(flux.get('objective'))} vs {_o(greedy.get('objective'))} ({_o(delta)})",
            ]
        )
        rows.append(
            [
                "units filled: fluxopt vs greedy",
                f"{flux.get('units_filled', '-')} vs {greedy.get('units_filled', '-')}",
            ]
        )
        attainable = attainable_groups(runs)
        rows.append(
            [
                "attainable quota groups met: fluxopt vs greedy",
                f"{len(attainable) - len(missed_groups(flux, attainable))} vs "
                f"{len(attainable) - len(missed_groups(greedy, attainable))} of {len(attainable)}"
                if flux.get("verified")
                else "fluxopt has no verified solution",
            ]
        )
    lp = runs.get("lp-relaxation", {})
    if lp:
        rows.append(
            [
                "fluxopt solve / LP relaxation solve",
                _x(_ratio(_seconds(flux, "solve"), _seconds(lp, "solve"))),
            ]
        )
    return rows


def _others(others: dict[str, Record]) -> list[str]:
    lines = ["## Other benchmarks (their drivers, called by the runner)", ""]
    generate = others.get("generate")
    if generate and generate.get("status") == "done":
        f = generate["figures"]
        lines.append(
            f"- Generator (`benchmarks/bench_generate.py`, preset {f.get('preset')}): "
            f"{f.get('units'):,} units, {f.get('applicants'):,} applicants, generated in "
            f"{f.get('generate_seconds', 0):.1f} s (peak RSS "
            f"{f.get('generate_peak_rss_mb', 0):,.0f} MB), validated again from its files in "
            f"{f.get('validate_seconds', 0):.1f} s (peak {f.get('validate_peak_rss_mb', 0):,.0f}"
            f" MB), {f.get('validation_errors')} validation error(s)."
        )
    else:
        lines.append(f"- Generator: {_other_status(generate)}.")
    scoring = others.get("scoring")
    if scoring and scoring.get("status") == "done":
        f = scoring["figures"]
        lines.append(
            f"- Scoring (`benchmarks/bench_scoring.py`): {f.get('rows', 0):,.0f} applicants × "
            f"{f.get('entries', 0):.0f} grid entries in {f.get('seconds', 0):.2f} s "
            f"({f.get('rows_per_second', 0):,.0f} rows/s), peak traced memory "
            f"{f.get('peak_memory_mb', 0):,.0f} MB (tracemalloc)."
        )
    else:
        lines.append(f"- Scoring: {_other_status(scoring)}.")
    sweep = others.get("sweep")
    if sweep and sweep.get("status") in ("done", "stored"):
        f = sweep["figures"]
        when = (
            f" measured by its own run (`python benchmarks/bench_sweep.py`) on "
            f"{f.get('measured_at')}, not in this run"
            if sweep.get("status") == "stored"
            else ""
        )
        lines.append(
            f"- Sweep (`benchmarks/bench_sweep.py`{when}): {f.get('scenarios')} "
            f"{f.get('preset', 'medium')} scenarios, each solve limited to "
            f"{f.get('time_limit')} s, "
            f"sequential {f.get('sequential_s')} s, parallel on {f.get('workers')} workers "
            f"{f.get('parallel_s')} s, speed-up {f.get('speedup')} (target {f.get('target')})."
        )
    else:
        lines.append(
            "- Sweep (`benchmarks/bench_sweep.py`): not run by `make bench` (about 15 minutes "
            "on its own, beyond the suite's 30-minute budget); run "
            "`python -m benchmarks.run --sweep` or its driver."
            if sweep is None
            else f"- Sweep: {_other_status(sweep)}."
        )
    return [*lines, ""]


def _other_status(record: Record | None) -> str:
    if record is None:
        return "not run"
    return f"{record.get('status')}: {record.get('message', '')}".rstrip(": ")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def _seconds(record: Record, phase: str) -> float | None:
    value = record.get("seconds", {}).get(phase)
    return None if value is None else float(value)


def _solved(record: Record) -> bool:
    return record.get("status") in ("optimal", "feasible")


def _status(record: Record) -> str:
    status = record.get("status", "?")
    limit = record.get("time_limit", 0)
    if record.get("strategy") == "greedy" and status == "feasible":
        return "heuristic (no bound)"
    if status == "feasible":
        return f"feasible at the {limit:.0f} s limit"
    if status == "time_limit":
        return f"no solution in {limit:.0f} s"
    return str(status)


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def _le(a: float | None, b: float | None, tol: float = 1e-6) -> bool:
    return a is not None and b is not None and a <= b + tol * max(1.0, abs(b))


def _names(groups: list[tuple[str, str]], limit: int = 6) -> str:
    shown = ", ".join(f"{r} {g}" for r, g in groups[:limit])
    return shown + (f", … {len(groups) - limit} more" if len(groups) > limit else "")


def _yes(ok: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "n/a"}[ok]


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _o(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}×"
