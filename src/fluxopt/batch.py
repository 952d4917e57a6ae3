"""The monthly batch: from the instance and the ledger to the committee's papers, safely.

:func:`run_batch` runs one month:

1. takes the ledger's batch lock (:mod:`fluxopt.ledger.lock`: one batch per ledger at a
   time) after checking no earlier batch is half-published;
2. checks the output folder before anything is solved (:mod:`fluxopt.papers`): new or
   empty, or holding fluxopt's own papers of the same instance, month and ledger; and
   writable (the staging folder is created now);
3. reads the ledger's revision, then the instance and, from the ledger, the units returned
   by the committee in earlier batches (carried over), the year-to-date orientations and
   attributions, and the applicants to keep out (housed this year, or listed for a unit
   awaiting a decision);
4. checks the month may be (re)written (:mod:`fluxopt.months`): earlier months recorded
   and not stale (else ``allow_gap``); a month with recorded outcomes, a month followed by
   later batches that are up to date, or a month solved before on other inputs or settings
   is replaced only with ``force``; a month solved on the same inputs is replaced by
   identical rows;
5. scores the applicants (the instance's grid, else the engine's default score), solves
   the month's units (new and carried over) under the flux targets computed from the
   year to date, and verifies the result independently;
6. writes every output (committee workbook, notices, summary, report) into the staging
   folder, then **commits** the batch in one transaction, refused if the ledger's revision
   moved since step 3 (another batch or an outcomes import meanwhile); later batches of the
   year are then marked stale;
7. **publishes** the papers into the output folder, then records the publication. Should
   the process stop between the commit and the publication, the ledger says the batch is
   half-published and :mod:`fluxopt.publication` finishes or undoes it.

A failure before the commit leaves the ledger and the output folder as they were.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from fluxopt import __version__, papers
from fluxopt.allocate import Allocation, SolveSettings, allocate
from fluxopt.constraints.ruleset import ConstraintSet, constraints_dir, load_constraint_set
from fluxopt.instance import CONFIG_FILE, Instance, load_instance
from fluxopt.ledger import counters
from fluxopt.ledger.lock import locked
from fluxopt.ledger.schema import FluxPositionRow
from fluxopt.ledger.store import DEFAULT_LEDGER, BatchRecord, Ledger, now_text
from fluxopt.months import check_order, check_replaceable
from fluxopt.outcome import write_decisions
from fluxopt.publication import publish_batch, refuse_if_half_published
from fluxopt.report.committee import write_committee_workbook
from fluxopt.report.html import write_report
from fluxopt.report.notices import write_notices
from fluxopt.report.summary import BatchFacts, batch_summary, flux_trajectory, quota_table
from fluxopt.report.tables import candidate_table, default_breakdown, unit_table
from fluxopt.schema.declaration import TABLE_ORDER
from fluxopt.schema.problems import FluxoptError, RefusedError, ViolationsError
from fluxopt.verify import VerificationReport, verify
from fluxopt.ytd import YearToDate

Progress = Callable[[str], None]
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass
class BatchResult:
    """What a batch produced: where its outputs are and its headline figures."""

    batch_id: str
    month: str
    out_dir: Path
    ledger: str
    replaced: bool
    summary: dict[str, Any]
    paths: dict[str, Path]
    allocation: Allocation
    report: VerificationReport
    run_id: str = ""
    stale: list[str] | None = None
    """Later months this batch made stale (to be run again in order)."""


@dataclass
class BatchInputs:
    """What the batch reads from the ledger, and the instance it solves on."""

    instance: Instance
    unit_ids: list[str]
    new_units: list[str]
    carried: list[str]
    ytd: YearToDate
    set_aside: dict[str, set[str]]
    awaiting: int


@dataclass(frozen=True)
class Scoring:
    """The scores the batch uses and where they come from."""

    scores: pd.Series | None
    breakdown: pd.DataFrame
    grid: str
    grid_hash: str


@dataclass
class BatchPlan:
    """Everything fixed before the solve: inputs, rules, scores, and their fingerprint."""

    month: str
    instance: Instance
    rules: ConstraintSet
    rules_file: Path
    settings: SolveSettings
    inputs: BatchInputs
    scoring: Scoring
    hashes: dict[str, str]
    state: str
    fingerprint: str
    started_at: str
    previous: dict[str, Any] | None
    revision: int
    run_id: str
    out_dir: Path


def run_batch(
    instance_path: Path | str,
    month: str,
    ledger_url: str | Path = DEFAULT_LEDGER,
    out_dir: Path | str | None = None,
    constraints: str | None = None,
    grid: str | None = None,
    settings: SolveSettings | None = None,
    *,
    force: bool = False,
    allow_gap: bool = False,
    progress: Progress | None = None,
) -> BatchResult:
    """Run the batch of ``month`` and record it in the ledger (see the module docstring).

    ``out_dir`` defaults to ``out/<instance>/<month>``; ``constraints`` and ``grid`` to the
    instance's own; ``grid=""`` asks for the engine's default score.
    """
    if not MONTH.match(month):
        raise FluxoptError(f"month {month!r} is not written YYYY-MM")
    say = progress or (lambda _phase: None)
    started = time.perf_counter()
    say("load")
    instance = load_instance(instance_path)
    target = Path(out_dir) if out_dir is not None else Path("out") / instance.name / month
    with Ledger(ledger_url) as ledger:
        refuse_if_half_published(ledger)
        with locked(ledger, f"batch {month} of instance {instance.name!r}"):
            refuse_if_half_published(ledger)
            slot = papers.Marker(
                kind="staging",
                instance=instance.name,
                month=month,
                batch_id=month,
                run_id=uuid.uuid4().hex[:12],
                ledger=ledger.name,
                ledger_id=ledger.ledger_id,
                host=socket.gethostname(),
                pid=os.getpid(),
            )
            papers.clean_leftovers(target, ledger.ledger_id, keep=set())
            papers.check_out_folder(target, slot, always_written(month), force)
            staging = papers.open_staging(target, slot)
            try:
                plan = plan_batch(
                    ledger, instance, month, constraints, grid, settings, force, allow_gap
                )
                plan.run_id, plan.out_dir = slot.run_id, target.absolute()
                timings = {"load": time.perf_counter() - started}
                allocation, report = solve_batch(plan, say, timings)
                say("outputs")
                tick = time.perf_counter()
                units, candidates, summary = batch_tables(plan, ledger, allocation, report)
                paths = write_outputs(staging, allocation, report, units, candidates, summary)
                timings["outputs"] = time.perf_counter() - tick
                summary["timings"] = {k: round(v, 4) for k, v in timings.items()}
                _write_json(staging / "summary.json", summary)
                papers.seal(staging, inputs=plan.fingerprint)
                record = batch_record(plan, allocation, report, units, candidates, summary)
                say("record")
                stale = ledger.record_batch(record, revision=plan.revision)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            say("publish")
            publish_batch(ledger, month, slot.run_id, staging, target)
    return BatchResult(
        batch_id=month,
        month=month,
        out_dir=target,
        ledger=ledger.name,
        replaced=plan.previous is not None,
        summary=summary,
        paths={name: target / path.relative_to(staging) for name, path in paths.items()},
        allocation=allocation,
        report=report,
        run_id=slot.run_id,
        stale=stale,
    )


def always_written(month: str) -> list[str]:
    """The file names every batch writes into its folder."""
    return [
        "orientation.csv",
        "shortlist.csv",
        "summary.json",
        "verification.txt",
        f"committee-{month}.xlsx",
        "report.html",
    ]


def plan_batch(
    ledger: Ledger,
    instance: Instance,
    month: str,
    constraints: str | None,
    grid: str | None,
    settings: SolveSettings | None,
    force: bool,
    allow_gap: bool = False,
) -> BatchPlan:
    """Check the month may be written, read the ledger, score, and fingerprint the inputs.

    The ledger's revision is read first: whatever is read after it, a write that lands
    meanwhile moves the revision, and the commit refuses.
    """
    if instance.config.year != int(month[:4]):
        raise FluxoptError(f"month {month} is outside the instance's year {instance.config.year}")
    revision = ledger.revision()
    started_at = now_text()
    rules_file = constraint_file(constraints or instance.constraints_source)
    rules = load_constraint_set(rules_file)
    settings = settings or SolveSettings()
    previous = ledger.batch(month)
    batches = ledger.batches(int(month[:4]))
    check_replaceable(ledger, batches, instance, month, previous is not None, force)
    inputs = batch_inputs(ledger, instance, month)
    check_order(batches, instance, month, allow_gap)
    scoring = score_applicants(inputs.instance, instance.grid_source if grid is None else grid)
    hashes = input_hashes(instance, rules_file, scoring)
    state = ledger_state(inputs)
    fingerprint = _digest(
        json.dumps([month, hashes, asdict(settings), state], sort_keys=True).encode()
    )
    if previous is not None and previous["fingerprint"] != fingerprint and not force:
        rerun_of_stale = (
            bool(previous["stale"])
            and json.loads(previous["input_hashes"]) == hashes
            and previous["settings"] == json.dumps(asdict(settings), sort_keys=True)
        )
        if not rerun_of_stale:
            raise RefusedError(_changed_message(month, previous, hashes, settings, state))
    return BatchPlan(
        month,
        instance,
        rules,
        rules_file,
        settings,
        inputs,
        scoring,
        hashes,
        state,
        fingerprint,
        started_at,
        previous,
        revision,
        run_id="",
        out_dir=Path(),
    )


def solve_batch(
    plan: BatchPlan, say: Progress, timings: dict[str, float]
) -> tuple[Allocation, VerificationReport]:
    """Solve the month's units, then verify independently; refuse broken hard rules."""
    inputs = plan.inputs
    allocation = allocate(
        inputs.instance,
        plan.rules,
        month=plan.month,
        unit_ids=inputs.unit_ids,
        scores=plan.scoring.scores,
        ytd=inputs.ytd,
        settings=plan.settings,
        progress=say,
    )
    say("verify")
    tick = time.perf_counter()
    report = verify(
        inputs.instance,
        plan.rules,
        allocation.decisions.orientation,
        allocation.decisions.shortlist,
        month=plan.month,
        unit_ids=inputs.unit_ids,
        ytd=inputs.ytd,
    )
    timings.update(allocation.timings)
    timings["verify"] = time.perf_counter() - tick
    if not report.ok:
        raise ViolationsError(
            f"the verifier found {len(report.violations)} broken hard rule(s) in the batch "
            f"of {plan.month}; nothing was recorded:\n{report.text(limit=20)}"
        )
    return allocation, report


def batch_tables(
    plan: BatchPlan, ledger: Ledger, allocation: Allocation, report: VerificationReport
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """The unit and candidate tables and the summary of a solved batch."""
    inputs, month = plan.inputs, plan.month
    decisions = allocation.decisions
    units = unit_table(decisions.orientation, inputs.instance, month, set(inputs.carried))
    candidates = candidate_table(
        decisions.shortlist,
        units,
        inputs.instance.applicants,
        plan.rules,
        plan.instance.holders,
        plan.scoring.breakdown,
        grid_used=bool(plan.scoring.grid),
    )
    holders = plan.instance.holders
    facts = BatchFacts(
        batch_id=month,
        month=month,
        ledger=ledger.name,
        grid=plan.scoring.grid,
        units_new=len(inputs.new_units),
        units_carried=len(inputs.carried),
        set_aside={k: len(v) for k, v in inputs.set_aside.items()},
        awaiting_decision=inputs.awaiting,
        inputs=plan.hashes,
        holder_names=dict(zip(holders["holder_id"], holders["name"], strict=True)),
    )
    history = ledger.frame(FluxPositionRow, year=int(month[:4]), before_month=month)
    summary = batch_summary(
        allocation,
        report,
        facts,
        flux_trajectory(history, report.flux, month),
        counters.quota_counts(inputs.ytd, plan.rules),
    )
    return units, candidates, summary


def batch_record(
    plan: BatchPlan,
    allocation: Allocation,
    report: VerificationReport,
    units: pd.DataFrame,
    candidates: pd.DataFrame,
    summary: dict[str, Any],
) -> BatchRecord:
    """The rows the batch writes to the ledger."""
    month = plan.month
    quotas = quota_table(report, {q.name: q.per for q in plan.rules.active_quotas})
    return BatchRecord(
        batch=batch_row(plan, allocation, report, summary),
        orientations=units.assign(batch_id=month),
        shortlists=candidates.assign(batch_id=month),
        flux_positions=_flux_positions(report).assign(batch_id=month),
        quota_positions=quotas.rename(columns={"group": "group_key"}).assign(batch_id=month),
    )


def constraint_file(name_or_path: str) -> Path:
    """The YAML file a constraint-set name or path stands for."""
    path = Path(name_or_path)
    return path if path.suffix else constraints_dir() / f"{name_or_path}.yaml"


def batch_inputs(ledger: Ledger, instance: Instance, month: str) -> BatchInputs:
    """Units of the batch (new and carried over), year to date, applicants kept out."""
    records = counters.YearRecords.read(ledger, int(month[:4]), month)
    units = instance.units
    new_units = sorted(units.loc[units["month"] == month, "unit_id"].astype(str))
    states = records.unit_states()
    returned = states.loc[states["state"] == "returned", "unit_id"]
    carried = sorted(set(returned) - set(new_units))
    unknown = sorted(set(carried) - set(units["unit_id"].astype(str)))
    if unknown:
        raise FluxoptError(
            f"units carried over from earlier batches are not in the instance: "
            f"{', '.join(unknown[:10])}"
        )
    unit_ids = sorted(new_units + carried)
    if not unit_ids:
        raise FluxoptError(
            f"no unit becomes available in {month} and none is carried over; the instance "
            f"has units for {sorted(units['month'].unique())}"
        )
    set_aside = records.engaged_applicants()
    awaiting = int((states["state"] == "pending").sum())
    working = instance
    keep_out = set().union(*set_aside.values())
    if keep_out:
        applicants = instance.tables["applicants"]
        working = instance.with_tables(
            applicants=applicants[~applicants["applicant_id"].isin(keep_out)].reset_index(drop=True)
        )
    return BatchInputs(
        instance=working,
        unit_ids=unit_ids,
        new_units=new_units,
        carried=carried,
        ytd=records.year_to_date(exclude_units=unit_ids),
        set_aside=set_aside,
        awaiting=awaiting,
    )


def score_applicants(instance: Instance, grid: str) -> Scoring:
    """Scores under ``grid`` (a name or file), or the engine's default score when empty."""
    if not grid:
        return Scoring(None, default_breakdown(instance.applicants), "", "")
    from fluxopt.scoring import load_grid, resolve_grid, score

    path = resolve_grid(grid, base=instance.folder)
    scores = score(load_grid(path), instance.applicants)
    return Scoring(scores.total, scores.breakdown, grid, _digest(path.read_bytes()))


def input_hashes(instance: Instance, rules_file: Path, scoring: Scoring) -> dict[str, str]:
    """SHA-256 of each input file's bytes: instance.yaml, tables, constraint set, grid."""
    hashes: dict[str, str] = {}
    folder = instance.folder
    if folder is not None:
        hashes[CONFIG_FILE] = _digest((folder / CONFIG_FILE).read_bytes())
        for table in TABLE_ORDER:
            path = instance.config.table_path(folder, table)
            if path is not None and path.exists():
                hashes[path.name] = _digest(path.read_bytes())
    hashes[f"constraints:{rules_file.name}"] = _digest(rules_file.read_bytes())
    if scoring.grid:
        hashes[f"grid:{scoring.grid}"] = scoring.grid_hash
    return hashes


def ledger_state(inputs: BatchInputs) -> str:
    """SHA-256 of what the batch read from the ledger."""
    parts = [
        ",".join(inputs.carried),
        inputs.ytd.orientations.to_csv(index=False),
        inputs.ytd.attributions.to_csv(index=False),
        json.dumps({k: sorted(v) for k, v in inputs.set_aside.items()}, sort_keys=True),
    ]
    return _digest("\n".join(parts).encode())


def write_outputs(
    folder: Path,
    allocation: Allocation,
    report: VerificationReport,
    units: pd.DataFrame,
    candidates: pd.DataFrame,
    summary: dict[str, Any],
) -> dict[str, Path]:
    """Write the batch's outputs into ``folder``; return them by name."""
    month = summary["month"]
    paths = dict(write_decisions(folder, allocation, report))
    title = f"Committee shortlists {month} — {summary['instance']}"
    paths["committee"] = write_committee_workbook(
        folder / f"committee-{month}.xlsx", units, candidates, title
    )
    paths.update(
        {
            f"notice:{k}": v
            for k, v in write_notices(folder / "notices", units, candidates, month).items()
        }
    )
    paths["summary"] = _write_json(folder / "summary.json", summary)
    paths["report"] = write_report(folder / "report.html", summary)
    return paths


def batch_row(
    plan: BatchPlan,
    allocation: Allocation,
    report: VerificationReport,
    summary: dict[str, Any],
) -> dict[str, Any]:
    """The ``batches`` row of a batch."""
    instance, month = plan.instance, plan.month
    return {
        "batch_id": month,
        "year": int(month[:4]),
        "month": month,
        "instance": instance.name,
        "instance_folder": str(instance.folder.resolve()) if instance.folder else "",
        "input_hashes": json.dumps(plan.hashes, sort_keys=True),
        "grid": plan.scoring.grid,
        "grid_hash": plan.scoring.grid_hash,
        "constraint_set": plan.rules.name,
        "constraint_version": plan.rules.version,
        "constraint_hash": _digest(plan.rules_file.read_bytes()),
        "solver": plan.settings.solver,
        "settings": json.dumps(asdict(plan.settings), sort_keys=True),
        "ledger_state": plan.state,
        "fingerprint": plan.fingerprint,
        "status": str(allocation.status),
        "objective": allocation.objective,
        "bound": allocation.bound,
        "gap": allocation.gap,
        "timings": json.dumps(summary["timings"], sort_keys=True),
        "units": int(summary["units"]),
        "carried_over": int(summary["units_carried_over"]),
        "units_with_shortlist": int(summary["units_with_shortlist"]),
        "violations": len(report.violations),
        "shortfalls": len(report.shortfalls),
        "started_at": plan.started_at,
        "finished_at": now_text(),
        "fluxopt_version": __version__,
        "run_id": plan.run_id,
        "out_dir": str(plan.out_dir),
    }


def _flux_positions(report: VerificationReport) -> pd.DataFrame:
    columns = [
        "holder_id",
        "convention_id",
        "target_cumulative",
        "oriented",
        "gap",
        "tolerance",
        "within",
    ]
    if report.flux.empty:
        return pd.DataFrame(columns=columns)
    flux = report.flux[columns].copy()
    flux["convention_id"] = flux["convention_id"].fillna("").astype(str)
    return flux


def _changed_message(
    month: str,
    previous: dict[str, Any],
    hashes: dict[str, str],
    settings: SolveSettings,
    state: str,
) -> str:
    before = json.loads(previous["input_hashes"])
    changed = sorted(k for k in set(before) | set(hashes) if before.get(k) != hashes.get(k))
    if previous["settings"] != json.dumps(asdict(settings), sort_keys=True):
        changed.append("solve settings")
    if previous["ledger_state"] != state:
        changed.append("year to date in the ledger (outcomes of earlier months)")
    what = ", ".join(changed) or "inputs"
    return (
        f"the batch of {month} is recorded with other inputs (changed: {what}); pass --force "
        "to replace it"
    )


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_json(path: Path, payload: dict[str, Any]) -> Path:
    path.write_text(
        json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    return path
