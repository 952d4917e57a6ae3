"""Publication of a batch's papers as a step of its own: finish, undo, and check it.

A batch is committed in the ledger, then its papers are published into their folder
(:mod:`fluxopt.papers`), then the publication is recorded (``published_at``). A batch
committed and not published is **half-published**: the process stopped, or the folder
could not be written, between the two steps. Then:

- every command that writes the ledger refuses, and every command that reads it warns,
  with the two commands below (:func:`half_published_message`);
- ``fluxopt ledger publish --batch M`` finishes it (:func:`finish_publication`): the staged
  papers move into place and the publication is recorded;
- ``fluxopt ledger rollback --batch M`` undoes it (:func:`undo_publication`): the papers
  already moved are removed and the replaced ones put back, then the ledger is restored as
  it was before the batch (the batch it replaced, with its outcomes; stale marks cleared).

``fluxopt ledger check`` (:func:`check_ledger`) compares the ledger with the folders it
published: each folder's marker (present, same ledger, batch and run ids), each paper's
hash, and the rows of ``orientation.csv`` and ``shortlist.csv`` against the ledger's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from fluxopt import papers
from fluxopt.ledger.lock import locked
from fluxopt.ledger.schema import OrientationRow, ShortlistRow
from fluxopt.ledger.store import Ledger
from fluxopt.schema.problems import PartialResultError, RefusedError


def half_published_message(ledger: Ledger, rows: pd.DataFrame) -> str:
    """What a half-published batch is and the exact commands that finish or undo it."""
    lines = []
    for row in rows.itertuples(index=False):
        batch = f"--batch {row.batch_id} --ledger {ledger.option}"
        lines.append(
            f"batch {row.batch_id} is committed in the ledger but its papers were not "
            f"published in {row.out_dir}. Finish it with: fluxopt ledger publish {batch} — "
            f"or undo it with: fluxopt ledger rollback {batch}"
        )
    return "\n".join(lines)


def refuse_if_half_published(ledger: Ledger) -> None:
    """Refuse to write a ledger that holds a half-published batch."""
    rows = ledger.half_published()
    if not rows.empty:
        raise RefusedError(half_published_message(ledger, rows))


def half_published_warning(ledger: Ledger) -> str:
    """The half-published batches of a ledger, for read-only commands ('' when none)."""
    rows = ledger.half_published()
    return half_published_message(ledger, rows) if not rows.empty else ""


def publish_batch(ledger: Ledger, batch_id: str, run_id: str, staging: Path, target: Path) -> None:
    """Publish a committed batch's papers and record it; a failure leaves it half-published."""
    try:
        papers.publish(staging, target)
        ledger.mark_published(batch_id, run_id)
    except Exception as exc:
        rows = ledger.half_published()
        raise PartialResultError(
            f"the batch {batch_id} is recorded in the ledger but its papers could not be "
            f"published ({exc}).\n{half_published_message(ledger, rows)}"
        ) from exc


def finish_publication(ledger: Ledger, batch_id: str) -> Path:
    """Move a half-published batch's staged papers into place; record the publication."""
    with locked(ledger, f"publication of batch {batch_id}"):
        row = _half_published_row(ledger, batch_id)
        target = Path(row["out_dir"])
        staging = papers.staging_dir(target, row["run_id"])
        papers.publish(staging, target)
        ledger.mark_published(batch_id, row["run_id"])
    return target


def undo_publication(ledger: Ledger, batch_id: str) -> dict[str, Any]:
    """Undo a half-published batch: the folder and the ledger as before it."""
    with locked(ledger, f"undo of batch {batch_id}"):
        row = _half_published_row(ledger, batch_id)
        target = Path(row["out_dir"])
        papers.unpublish(papers.staging_dir(target, row["run_id"]), target, row["run_id"])
        return ledger.undo_batch(batch_id)


def _half_published_row(ledger: Ledger, batch_id: str) -> dict[str, Any]:
    row = ledger.batch(batch_id)
    if row is None:
        raise RefusedError(f"the ledger {ledger.name} has no batch {batch_id}")
    if row["published_at"]:
        raise RefusedError(
            f"batch {batch_id} was published on {row['published_at']} in {row['out_dir']}; "
            "there is nothing to finish or undo"
        )
    return row


@dataclass
class CheckReport:
    """What ``fluxopt ledger check`` found: disagreements, and notes that are not."""

    folders: list[Path] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """The ledger and the folders agree."""
        return not self.findings


def check_ledger(ledger: Ledger, folders: list[Path], year: int | None = None) -> CheckReport:
    """Compare the ledger with the folders it published (all of its batches' by default)."""
    report = CheckReport()
    batches = ledger.batches(year)
    records: list[dict[str, Any]] = [
        {str(k): v for k, v in row.items()} for row in batches.to_dict("records")
    ]
    half = ledger.half_published()
    if not half.empty:
        report.findings.append(half_published_message(ledger, half))
    for row in records:
        if row["stale"]:
            report.notes.append(f"batch {row['month']} is stale: {row['stale']}; run it again")
    if not folders:
        folders = [Path(str(row["out_dir"])) for row in records if row["published_at"]]
    by_id = {str(row["batch_id"]): row for row in records}
    for folder in folders:
        report.folders.append(folder)
        report.findings.extend(f"{folder}: {text}" for text in _check_folder(ledger, folder, by_id))
    return report


def _check_folder(ledger: Ledger, folder: Path, by_id: dict[str, dict[str, Any]]) -> list[str]:
    if not folder.is_dir():
        return ["the folder is missing"]
    try:
        marker = papers.read_marker(folder)
    except papers.MarkerError as exc:
        return [f"its marker is unreadable ({exc})"]
    if marker is None:
        return [f"no {papers.MARKER}: not a folder of published papers, or its marker was removed"]
    if marker.kind != "published":
        return [f"its marker is that of a {marker.kind} folder, not of published papers"]
    if marker.ledger_id != ledger.ledger_id:
        return [f"holds papers of another ledger ({marker.ledger})"]
    row = by_id.get(marker.batch_id)
    if row is None:
        return [f"holds batch {marker.batch_id}, which the ledger does not have"]
    if marker.run_id != row["run_id"]:
        return [
            f"holds run {marker.run_id} of batch {marker.batch_id}; the ledger recorded run "
            f"{row['run_id']} (its papers are elsewhere, or were never published)"
        ]
    found = []
    for name, digest in sorted(marker.files.items()):
        path = folder / name
        if not path.is_file():
            found.append(f"{name} is missing")
        elif papers.digest_file(path) != digest:
            found.append(f"{name} was changed after publication")
    found.extend(_compare_decisions(ledger, folder, marker.batch_id))
    return found


def _compare_decisions(ledger: Ledger, folder: Path, batch_id: str) -> list[str]:
    """Rows of ``orientation.csv`` and ``shortlist.csv`` against the ledger's rows."""
    tables = (
        ("orientation.csv", OrientationRow, ["unit_id", "holder_id"]),
        ("shortlist.csv", ShortlistRow, ["unit_id", "rank", "applicant_id"]),
    )
    found = []
    for name, model, key in tables:
        path = folder / name
        if not path.is_file():
            continue
        written = pd.read_csv(path, dtype=str, keep_default_na=False)
        if not set(key) <= set(written.columns):
            found.append(f"{name} lacks the columns {', '.join(key)}")
            continue
        recorded = ledger.frame(model, months=[batch_id])
        mine = set(written[key].astype(str).itertuples(index=False, name=None))
        theirs = set(recorded[key].astype(str).itertuples(index=False, name=None))
        if mine != theirs:
            only_file, only_ledger = sorted(mine - theirs), sorted(theirs - mine)
            found.append(
                f"{name} differs from the ledger: {len(only_file)} row(s) only in the file "
                f"{only_file[:3]}, {len(only_ledger)} only in the ledger {only_ledger[:3]}"
            )
    return found
