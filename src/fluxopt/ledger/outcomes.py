"""Import the allocation committee's decisions into the ledger, all or nothing.

An outcomes file (CSV or XLSX) has one row per decision:

============== ========================================================================
column         meaning
============== ========================================================================
unit_id        a unit of a recorded batch (required)
decision       ``attributed`` (to a listed applicant), ``holder_candidate`` (to a
               candidate the holder proposed itself), ``refused`` (the applicant or the
               committee refused; the unit returns to the next batch), ``no_attribution``
               (the committee attributed nothing; the unit returns) (required)
applicant_id   who was attributed (required for the first two) or who refused
month          the batch the decision answers (default: the unit's latest batch)
decided_on     date of the committee (ISO 8601, optional)
note           free text (optional)
============== ========================================================================

Checks, all run before anything is written: known columns and decisions, units in a
recorded batch (and the batch the unit is now in), attributed applicants on that unit's
shortlist, holder candidates in the instance's applicants, at most one attribution per
unit and per applicant (in the file and against the ledger). Any problem rejects the whole
file with the list of problems. Importing decisions on a unit replaces that unit's earlier
outcomes in the same batch, so importing the same file twice records it once.

A unit already **attributed** in the ledger keeps its attribution: rows of a later file
that would change it (another applicant, another decision, or no attribution) are set
aside, each listed with its row and the recorded attribution, unless ``replace`` is given;
the file's other rows are recorded (a partial import, :attr:`ImportResult.set_aside`).
The same attribution given again is not a change.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fluxopt.cells import restore_frame
from fluxopt.instance import Instance, load_instance
from fluxopt.ledger.schema import (
    ATTRIBUTING,
    DECISIONS,
    BatchRow,
    OrientationRow,
    OutcomeImportRow,
    OutcomeRow,
    ShortlistRow,
)
from fluxopt.ledger.store import Ledger, now_text
from fluxopt.schema.csvfile import UnknownEncodingError, read_csv_file
from fluxopt.schema.problems import FluxoptError, Problem, ProblemLog

TABLE = "outcomes"
REQUIRED = ("unit_id", "decision")
OPTIONAL = ("applicant_id", "month", "decided_on", "note")
ALIASES = {
    "attributed": "attributed",
    "attribution": "attributed",
    "attribue": "attributed",
    "holder_candidate": "holder_candidate",
    "holder_proposed": "holder_candidate",
    "refused": "refused",
    "refusal": "refused",
    "refus": "refused",
    "no_attribution": "no_attribution",
    "non_attribution": "no_attribution",
    "not_attributed": "no_attribution",
}
UNIT_COLUMNS = (
    "holder_id",
    "holder_kind",
    "residence_id",
    "commune",
    "epci",
    "qpv",
    "fragile",
    "lec_applies",
    "segment",
    "rooms",
    "financing",
    "construction_period",
)
FLAG_COLUMNS = (
    "q1",
    "priority",
    "dalo",
    "renewal_relocation",
    "is_transfer",
    "employer_action_logement",
    "state_agent",
)


@dataclass
class ImportResult:
    """What an import recorded."""

    import_id: int
    rows: int
    decisions: dict[str, int] = field(default_factory=dict)
    units_attributed: int = 0
    units_returned: int = 0
    set_aside: list[Problem] = field(default_factory=list)
    """Rows not recorded: they would change a recorded attribution (see ``replace``)."""


def read_outcomes(path: Path) -> pd.DataFrame:
    """Read an outcomes file (CSV or XLSX) with every cell as text.

    A CSV file may be UTF-8, Windows-1252 or Latin-1, with commas, semicolons or tabs
    (:mod:`fluxopt.schema.csvfile`). Ids that fluxopt neutralised when it wrote them (a
    quote before a formula character, :mod:`fluxopt.cells`) are read back as they were.
    """
    if not path.exists():
        raise FluxoptError(f"no outcomes file {path}")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        frame = pd.read_excel(path, dtype=str).fillna("")
    else:
        try:
            frame, _ = read_csv_file(path)
        except (UnicodeDecodeError, UnknownEncodingError) as exc:
            raise FluxoptError(f"cannot read the outcomes file {path}: {exc}") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    return restore_frame(frame.apply(lambda column: column.astype(str).str.strip()))


def import_outcomes(
    path: Path,
    ledger: Ledger,
    instance: Instance | Path | None = None,
    *,
    replace: bool = False,
) -> ImportResult:
    """Check an outcomes file against the ledger and record it in one transaction.

    Without ``replace``, rows that would change a recorded attribution are set aside and
    listed in the result; the other rows are recorded.
    """
    frame = read_outcomes(path)
    rows, set_aside = check_outcomes(frame, ledger, instance, path.name, replace=replace)
    import_row = {
        "file_name": path.name,
        "file_hash": hashlib.sha256(path.read_bytes()).hexdigest(),
        "rows": len(rows),
        "imported_at": now_text(),
    }
    if rows.empty:
        return ImportResult(import_id=0, rows=0, set_aside=set_aside)
    pairs = sorted(set(zip(rows["batch_id"], rows["unit_id"], strict=True)))
    import_id = ledger.record_outcomes(import_row, rows, pairs)
    attributing = rows.assign(attributing=rows["decision"].isin(ATTRIBUTING))
    final = attributing.groupby(["batch_id", "unit_id"])["attributing"].any()
    return ImportResult(
        import_id=import_id,
        rows=len(rows),
        decisions={str(k): int(v) for k, v in rows["decision"].value_counts().items()},
        units_attributed=int(final.sum()),
        units_returned=int((~final).sum()),
        set_aside=set_aside,
    )


def check_outcomes(
    frame: pd.DataFrame,
    ledger: Ledger,
    instance: Instance | Path | None,
    file_name: str = TABLE,
    *,
    replace: bool = False,
) -> tuple[pd.DataFrame, list[Problem]]:
    """The rows to record and the rows set aside; raise once with every problem found."""
    log = ProblemLog()
    missing = [c for c in REQUIRED if c not in frame.columns]
    for column in missing:
        log.error(TABLE, "required column is missing", f"add a column {column!r}", column=column)
    unknown = [c for c in frame.columns if c not in (*REQUIRED, *OPTIONAL)]
    for column in unknown:
        log.error(
            TABLE,
            "unknown column",
            f"known columns: {', '.join(REQUIRED + OPTIONAL)}",
            column=column,
        )
    log.raise_if_errors(f"outcomes file {file_name}")
    data = frame.reindex(columns=[*REQUIRED, *OPTIONAL], fill_value="").reset_index(drop=True)
    data["row"] = np.arange(1, len(data) + 1)
    data["given"] = data["decision"]
    key = data["decision"].str.lower().str.replace(r"[\s-]+", "_", regex=True)
    data["decision"] = key.map(ALIASES).fillna("")
    _cell_checks(data, log)
    placed = _place_units(data, ledger, log)
    _applicant_checks(placed, ledger, log)
    placed["recorded"] = ""
    changing = pd.Series(False, index=placed.index) if replace else _reattributions(placed, ledger)
    set_aside = ProblemLog()
    for row, unit, text in placed.loc[changing, ["row", "unit_id", "recorded"]].itertuples(
        index=False
    ):
        set_aside.error(
            TABLE,
            text,
            "pass --replace to replace the recorded outcome of this unit",
            row=int(row),
            column="unit_id",
            key=unit,
        )
    if log.errors:
        log.extend(set_aside.problems)
    kept = placed[~changing].reset_index(drop=True)
    people = _instance_applicants(kept, ledger, instance, log)
    log.raise_if_errors(f"outcomes file {file_name}")
    return _rows(kept, ledger, people), set_aside.problems


def _reattributions(data: pd.DataFrame, ledger: Ledger) -> pd.Series:
    """Rows on a unit whose recorded attribution the file changes (with a ``recorded`` text).

    A unit's attribution is its attributing decision and applicant; the file changes it when
    its rows on the unit do not give the same one (another applicant, another decision, or
    none).
    """
    outcomes = ledger.frame(OutcomeRow)
    imports = ledger.frame(OutcomeImportRow).set_index("import_id")["file_name"]
    recorded = outcomes[outcomes["decision"].isin(ATTRIBUTING)]
    if recorded.empty:
        return pd.Series(False, index=data.index)
    before = {
        (b, u): (d, a, str(imports.get(i, "")))
        for b, u, d, a, i in recorded[
            ["batch_id", "unit_id", "decision", "applicant_id", "import_id"]
        ].itertuples(index=False)
    }
    given = data[data["decision"].isin(ATTRIBUTING)]
    after = {
        (b, u): (d, a)
        for b, u, d, a in given[["batch_id", "unit_id", "decision", "applicant_id"]].itertuples(
            index=False
        )
    }
    pairs = list(zip(data["batch_id"], data["unit_id"], strict=True))
    in_file = set(pairs)
    changed = {
        pair: was for pair, was in before.items() if pair in in_file and after.get(pair) != was[:2]
    }
    mask = pd.Series([pair in changed for pair in pairs], index=data.index)
    data.loc[mask, "recorded"] = [
        f"unit {unit} is already attributed ({changed[(batch, unit)][0]}) to applicant "
        f"{changed[(batch, unit)][1]} in the batch of {batch} (file "
        f"{changed[(batch, unit)][2] or '?'}); this row would change that"
        for batch, unit in (pairs[i] for i in np.flatnonzero(mask.to_numpy()))
    ]
    return mask


def _pairs(frame: pd.DataFrame) -> pd.MultiIndex:
    """The (batch, unit) pairs of a table."""
    return pd.MultiIndex.from_arrays([frame["batch_id"].astype(str), frame["unit_id"].astype(str)])


def _error(log: ProblemLog, rows: pd.DataFrame, column: str, message: str, hint: str) -> None:
    """One problem per row of ``rows`` (each with its own message, ``{}`` = the cell)."""
    shown = "decision" if column == "given" else column
    for row, value, unit in zip(rows["row"], rows[column], rows["unit_id"], strict=True):
        log.error(TABLE, message.format(value), hint, row=int(row), column=shown, key=unit or None)


def _cell_checks(data: pd.DataFrame, log: ProblemLog) -> None:
    bad = data[data["decision"] == ""]
    _error(log, bad, "given", "unknown decision {!r}", f"use one of {', '.join(DECISIONS)}")
    _error(
        log, data[data["unit_id"] == ""], "unit_id", "required value is empty", "fill in the unit"
    )
    needs = data["decision"].isin(ATTRIBUTING) & (data["applicant_id"] == "")
    _error(
        log,
        data[needs],
        "applicant_id",
        "an attribution needs the applicant",
        "fill in who was attributed the unit",
    )
    dates = pd.to_datetime(
        data["decided_on"].where(data["decided_on"] != ""), errors="coerce", format="ISO8601"
    )
    bad_date = (data["decided_on"] != "") & dates.isna()
    _error(log, data[bad_date], "decided_on", "{!r} is not a date", "write it as YYYY-MM-DD")
    twice = data[data["decision"].isin(ATTRIBUTING)].duplicated("unit_id", keep="first")
    _error(
        log,
        data[data["decision"].isin(ATTRIBUTING)][twice],
        "unit_id",
        "unit {} is attributed twice in the file",
        "keep one attribution per unit",
    )
    attributed = data[data["decision"].isin(ATTRIBUTING) & (data["applicant_id"] != "")]
    twice = attributed.duplicated("applicant_id", keep="first")
    _error(
        log,
        attributed[twice],
        "applicant_id",
        "applicant {} is attributed two units",
        "an applicant is attributed one unit",
    )
    flags = data.assign(
        attributing=data["decision"].isin(ATTRIBUTING),
        nothing=data["decision"] == "no_attribution",
    ).groupby("unit_id")[["attributing", "nothing"]]
    mixed = flags.transform("any").all(axis=1)
    _error(
        log,
        data[mixed & (data["decision"] == "no_attribution")],
        "decision",
        "{} contradicts an attribution of the same unit",
        "keep one of the two",
    )


def _place_units(data: pd.DataFrame, ledger: Ledger, log: ProblemLog) -> pd.DataFrame:
    """Each row with the batch it answers (``batch_id``) and the unit's orientation."""
    orientations = ledger.frame(OrientationRow)
    latest = orientations.sort_values("batch_month").drop_duplicates("unit_id", keep="last")
    latest_batch = latest.set_index("unit_id")["batch_id"]
    given = data["month"] != ""
    data["batch_id"] = np.where(given, data["month"], data["unit_id"].map(latest_batch).fillna(""))
    known = data["unit_id"].isin(set(orientations["unit_id"]))
    _error(
        log,
        data[~known & (data["unit_id"] != "")],
        "unit_id",
        "unit {} is in no batch of the ledger",
        "use a unit of a recorded batch",
    )
    in_batch = pd.Series(_pairs(data).isin(_pairs(orientations)), index=data.index)
    _error(
        log,
        data[known & given & ~in_batch],
        "month",
        "the batch of {} has not this unit",
        "leave month empty or give the month of a batch that holds the unit",
    )
    later = known & given & in_batch & (data["unit_id"].map(latest_batch) != data["batch_id"])
    moved = data[later].copy()
    moved["month"] = moved["unit_id"].map(latest_batch)
    _error(
        log,
        moved,
        "month",
        "the unit was offered again in the batch of {}",
        "record the decision against its latest batch (leave month empty)",
    )
    return data.merge(
        orientations.drop(columns=["batch_month"]), on=["batch_id", "unit_id"], how="left"
    )


def _applicant_checks(data: pd.DataFrame, ledger: Ledger, log: ProblemLog) -> None:
    shortlists = ledger.frame(ShortlistRow)
    listed = data.merge(
        shortlists[["batch_id", "unit_id", "applicant_id", "rank"]],
        on=["batch_id", "unit_id", "applicant_id"],
        how="left",
    )["rank"]
    data["rank"] = listed.to_numpy()
    needs_list = data["decision"].isin(("attributed", "refused")) & (data["applicant_id"] != "")
    off = data[
        needs_list & data["rank"].isna() & data["batch_id"].ne("") & data["holder_id"].notna()
    ]
    everywhere = set(shortlists["applicant_id"])
    _error(
        log,
        off[off["applicant_id"].isin(everywhere)],
        "applicant_id",
        "applicant {} is not on this unit's shortlist",
        "use decision holder_candidate if the holder proposed its own candidate",
    )
    _error(
        log,
        off[~off["applicant_id"].isin(everywhere)],
        "applicant_id",
        "unknown applicant {}",
        "use an applicant listed for the unit",
    )
    outcomes = ledger.frame(OutcomeRow)
    kept = outcomes[~_pairs(outcomes).isin(_pairs(data))]
    housed = set(kept.loc[kept["decision"].isin(ATTRIBUTING), "applicant_id"])
    again = data["decision"].isin(ATTRIBUTING) & data["applicant_id"].isin(housed)
    _error(
        log,
        data[again],
        "applicant_id",
        "applicant {} is already attributed a unit",
        "an applicant is attributed one unit",
    )


def _instance_applicants(
    data: pd.DataFrame, ledger: Ledger, instance: Instance | Path | None, log: ProblemLog
) -> pd.DataFrame | None:
    """Flags of holder candidates from the instance (``None`` when there are none)."""
    own = data[(data["decision"] == "holder_candidate") & data["holder_id"].notna()]
    if own.empty:
        return None
    loaded = _load(own, ledger, instance, log)
    if loaded is None:
        return None
    people = loaded.applicants.set_index("applicant_id")
    unknown = own[~own["applicant_id"].isin(people.index)]
    _error(
        log,
        unknown,
        "applicant_id",
        "unknown applicant {}",
        "a holder's candidate must be a registered applicant of the instance",
    )
    thresholds = loaded.thresholds.set_index("epci")["q1_threshold"]
    found = own[own["applicant_id"].isin(people.index)]
    flags = people.loc[found["applicant_id"], list(FLAG_COLUMNS[1:])].reset_index()
    income = people.loc[found["applicant_id"], "income_per_uc"].to_numpy()
    flags["q1"] = income <= found["epci"].map(thresholds).to_numpy(dtype=float)
    flags["unit_id"] = found["unit_id"].to_numpy()
    return flags


def _load(
    own: pd.DataFrame, ledger: Ledger, instance: Instance | Path | None, log: ProblemLog
) -> Instance | None:
    """The instance given, or the one the batch was solved on (``None`` when unavailable)."""
    if isinstance(instance, Instance):
        return instance
    if instance is None:
        folders = ledger.frame(BatchRow).set_index("batch_id")["instance_folder"]
        folder = str(folders.get(own["batch_id"].iloc[0], ""))
        instance = Path(folder) if folder else None
    if instance is None or not instance.exists():
        log.error(
            TABLE,
            "holder candidates are checked against the instance's applicants, and the "
            "instance folder is not available",
            "pass --instance",
            column="applicant_id",
        )
        return None
    return load_instance(instance)


def _rows(data: pd.DataFrame, ledger: Ledger, people: pd.DataFrame | None) -> pd.DataFrame:
    """The outcome rows to insert: decision, unit snapshot, applicant flags."""
    shortlists = ledger.frame(ShortlistRow)
    flags = data[["batch_id", "unit_id", "applicant_id"]].merge(
        shortlists[["batch_id", "unit_id", "applicant_id", *FLAG_COLUMNS]],
        on=["batch_id", "unit_id", "applicant_id"],
        how="left",
    )
    out = data.copy()
    for column in FLAG_COLUMNS:
        out[column] = flags[column].fillna(False).astype(bool).to_numpy()
    if people is not None:
        own = (out["decision"] == "holder_candidate").to_numpy()
        by_unit = people.set_index("unit_id")
        for column in FLAG_COLUMNS:
            values = out.loc[own, "unit_id"].map(by_unit[column]).fillna(False).astype(bool)
            out.loc[own, column] = values.to_numpy()
    out["month"] = out["batch_id"]
    out["rank"] = out["rank"].astype("Int64")
    columns = [
        "batch_id",
        "month",
        "unit_id",
        "decision",
        "applicant_id",
        "rank",
        "decided_on",
        "note",
        *UNIT_COLUMNS,
        *FLAG_COLUMNS,
    ]
    return out[columns].reset_index(drop=True)
