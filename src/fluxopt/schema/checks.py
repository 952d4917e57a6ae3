"""Checks of typed tables: per-column rules through pandera, then rules across tables.

Column rules (bounds, allowed values, patterns, uniqueness) are generated from the
declaration and run by pandera in lazy mode, so that every failing cell is found in one
pass. Rules across tables (references, shares per perimeter, consistency of a unit with its
residence, household composition) are plain vectorised pandas checks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from fluxopt.schema.declaration import ColumnSpec, TableSpec, schema
from fluxopt.schema.problems import ProblemLog

SHARE_SUM_TOLERANCE = 1e-9


def pandera_schema(spec: TableSpec) -> pa.DataFrameSchema:
    """Build the pandera schema of one declared table (types are coerced beforehand)."""
    columns: dict[str, pa.Column] = {}
    for name, col in spec.columns.items():
        checks: list[pa.Check] = []
        if col.min is not None:
            bound = col.min
            checks.append(
                pa.Check.gt(bound, name="gt")
                if col.min_exclusive
                else pa.Check.ge(bound, name="ge")
            )
        if col.max is not None:
            checks.append(pa.Check.le(col.max, name="le"))
        if col.enum is not None:
            checks.append(pa.Check.isin(list(col.enum), name="isin"))
        if col.pattern is not None:
            checks.append(pa.Check.str_matches(col.pattern, name="pattern"))
        columns[name] = pa.Column(
            checks=checks, nullable=True, unique=col.unique, required=False, coerce=False
        )
    return pa.DataFrameSchema(columns, strict=False, name=spec.name)


def check_columns(log: ProblemLog, spec: TableSpec, frame: pd.DataFrame) -> None:
    """Run the table's pandera schema and report every failing cell."""
    try:
        pandera_schema(spec).validate(frame, lazy=True)
    except SchemaErrors as exc:
        _report_failures(log, spec, frame, exc.failure_cases)


def _report_failures(
    log: ProblemLog, spec: TableSpec, frame: pd.DataFrame, cases: pd.DataFrame
) -> None:
    key_name = spec.key_columns[0]
    keys = frame.get(key_name)
    for record in cases.to_dict("records"):
        column = str(record.get("column"))
        col = spec.columns.get(column)
        if col is None:
            continue
        check = str(record.get("check"))
        index = record.get("index")
        row = int(index) + 1 if index is not None and not pd.isna(index) else None
        key = None
        if keys is not None and row is not None:
            key_value = keys.iloc[row - 1]
            key = None if pd.isna(key_value) else str(key_value)
        message, hint = _explain(col, check, record.get("failure_case"))
        log.error(spec.name, message, hint, row=row, column=column, key=key)


def _explain(col: ColumnSpec, check: str, value: Any) -> tuple[str, str]:
    unit = f" {col.unit}" if col.unit else ""
    if check.startswith(("ge", "gt")):
        sign = ">" if col.min_exclusive else "≥"
        kind = "negative" if col.min == 0 and not col.min_exclusive else "too small"
        return (
            f"{value!r} is {kind}",
            f"{col.name} must be {sign} {col.min:g}{unit} ({col.description})",
        )
    if check.startswith("le"):
        return f"{value!r} is too large", f"{col.name} must be ≤ {col.max:g}{unit}"
    if check.startswith("isin"):
        allowed = ", ".join(col.enum or ())
        return f"{value!r} is not an allowed value", f"use one of: {allowed}"
    if check.startswith("pattern") or check.startswith("str_matches"):
        return f"{value!r} has the wrong form", col.description
    if "unique" in check or "duplicate" in check:
        return f"duplicate {col.name} {value!r}", f"each {col.name} must appear once"
    return f"{value!r} fails check {check}", col.description


def check_table_present(log: ProblemLog, spec: TableSpec, frame: pd.DataFrame) -> None:
    """A required table must have at least one row."""
    if spec.required and frame.empty:
        log.error(spec.name, "table is empty", f"a {spec.name} table needs at least one row")


def check_references(log: ProblemLog, tables: dict[str, pd.DataFrame]) -> None:
    """Every declared ``references`` column must point at an existing row."""
    for spec in schema().values():
        frame = tables.get(spec.name)
        if frame is None:
            continue
        for col in spec.columns.values():
            if col.references is None or col.name not in frame:
                continue
            target_table, target_column = col.references.split(".")
            target = tables.get(target_table)
            if target is None or target_column not in target:
                continue
            values = frame[col.name]
            dangling = values.notna() & ~values.isin(set(target[target_column].dropna()))
            hint = f"add it to {target_table} or correct the {col.name}"
            if col.references == "thresholds.epci":
                hint = "add the EPCI's first-quartile threshold to the thresholds table"
            _report_rows(
                log,
                spec,
                frame,
                dangling,
                col.name,
                f"{{value!r}} is not in {target_table}.{target_column}",
                hint,
            )


def _report_rows(
    log: ProblemLog,
    spec: TableSpec,
    frame: pd.DataFrame,
    mask: pd.Series,
    column: str | None,
    message: str,
    hint: str,
    severity: str = "error",
) -> None:
    key_name = spec.key_columns[0]
    for pos in np.flatnonzero(mask.to_numpy()):
        value = frame[column].iloc[pos] if column else None
        key = frame[key_name].iloc[pos] if key_name in frame else None
        report = log.error if severity == "error" else log.warning
        report(
            spec.name,
            message.format(value=value),
            hint,
            row=int(pos) + 1,
            column=column,
            key=None if pd.isna(key) else str(key),
        )


def check_consistency(log: ProblemLog, tables: dict[str, pd.DataFrame]) -> None:
    """Rules that span columns or tables, beyond single-column checks."""
    specs = schema()
    _check_units_against_residences(log, specs["units"], tables)
    _check_stock_holders(log, specs["units"], tables)
    _check_households(log, specs["applicants"], tables.get("applicants"))
    _check_conventions(log, specs["conventions"], tables)
    _check_ceilings(log, specs["ceilings"], tables)
    _check_wishes(log, specs["applicants"], tables)


def _check_units_against_residences(
    log: ProblemLog, spec: TableSpec, tables: dict[str, pd.DataFrame]
) -> None:
    units, residences = tables.get("units"), tables.get("residences")
    if units is None or residences is None or units.empty:
        return
    merged = (
        units[["residence_id"]].merge(
            residences[["residence_id", "commune", "epci", "qpv"]],
            on="residence_id",
            how="left",
            validate="many_to_one",
        )
        if residences["residence_id"].is_unique
        else None
    )
    if merged is None:
        return
    for column in ("commune", "epci", "qpv"):
        given = units[column]
        expected = merged[column]
        mismatch = given.notna() & expected.notna() & (given.astype(str) != expected.astype(str))
        _report_rows(
            log,
            spec,
            units,
            mismatch.reset_index(drop=True),
            column,
            f"{{value!r}} differs from the residence's {column}",
            f"leave {column} empty to take the residence's value, or correct the residence",
        )


def _check_stock_holders(log: ProblemLog, spec: TableSpec, tables: dict[str, pd.DataFrame]) -> None:
    units, holders = tables.get("units"), tables.get("holders")
    if units is None or holders is None or units.empty:
        return
    status = units["flux_status"].astype(str)
    stock = status.str.startswith("stock:")
    holder_ids = status.str.slice(len("stock:"))
    dangling = stock & ~holder_ids.isin(set(holders["holder_id"].dropna()))
    _report_rows(
        log,
        spec,
        units,
        dangling,
        "flux_status",
        "{value!r} names a holder that is not in holders",
        "write stock:<holder_id> with a holder_id of the holders table",
    )


def _check_households(log: ProblemLog, spec: TableSpec, applicants: pd.DataFrame | None) -> None:
    if applicants is None or applicants.empty:
        return
    size = applicants["household_size"]
    total = applicants["adults"] + applicants["children"]
    mismatch = (size.notna() & total.notna() & (size != total)).fillna(False).astype(bool)
    _report_rows(
        log,
        spec,
        applicants,
        mismatch,
        "household_size",
        "household_size {value} differs from adults + children",
        "household_size must equal adults + children",
    )
    lapsed = (
        applicants["expires_on"].notna()
        & applicants["filed_on"].notna()
        & (applicants["expires_on"] < applicants["filed_on"])
    )
    _report_rows(
        log,
        spec,
        applicants,
        lapsed,
        "expires_on",
        "demand expires before it was filed",
        "correct filed_on or expires_on",
    )


def _check_conventions(log: ProblemLog, spec: TableSpec, tables: dict[str, pd.DataFrame]) -> None:
    conventions = tables.get("conventions")
    if conventions is None or conventions.empty:
        return
    neither = conventions["share"].isna() & conventions["annual_volume"].isna()
    _report_rows(
        log,
        spec,
        conventions,
        neither,
        "share",
        "neither share nor annual_volume is given",
        "give the share of the flux basis (0..1) or a yearly volume",
    )
    both = conventions["share"].notna() & conventions["annual_volume"].notna()
    _report_rows(
        log,
        spec,
        conventions,
        both,
        "share",
        "both share and annual_volume are given",
        "keep one of share or annual_volume",
    )
    shares = conventions.dropna(subset=["share"])
    totals = shares.groupby(["perimeter_kind", "perimeter_id"], dropna=False)["share"].sum()
    for (kind, perimeter), total in zip(totals.index, totals.to_numpy(), strict=True):
        if total > 1 + SHARE_SUM_TOLERANCE:
            log.error(
                "conventions",
                f"shares on {kind} {perimeter} sum to {total:.3f}, over 1",
                "the holders' shares of one perimeter cannot exceed the whole flux; lower them",
                column="share",
                key=f"{kind} {perimeter}",
            )
    duplicated = conventions.duplicated(
        ["holder_id", "perimeter_kind", "perimeter_id"], keep="first"
    )
    _report_rows(
        log,
        spec,
        conventions,
        duplicated,
        "holder_id",
        "holder {value!r} has a second convention on the same perimeter",
        "merge the two conventions into one",
    )
    _check_perimeters(log, spec, conventions, tables)


def _check_perimeters(
    log: ProblemLog, spec: TableSpec, conventions: pd.DataFrame, tables: dict[str, pd.DataFrame]
) -> None:
    residences = tables.get("residences")
    if residences is None:
        return
    known = {
        "epci": set(residences["epci"].dropna()),
        "commune": set(residences["commune"].dropna()),
    }
    for kind, ids in known.items():
        unknown = (conventions["perimeter_kind"] == kind) & ~conventions["perimeter_id"].isin(ids)
        _report_rows(
            log,
            spec,
            conventions,
            unknown,
            "perimeter_id",
            f"{{value!r}} is not an {kind} of any residence",
            f"use the {kind} of one of the landlord's residences",
        )


def _check_ceilings(log: ProblemLog, spec: TableSpec, tables: dict[str, pd.DataFrame]) -> None:
    ceilings, units = tables.get("ceilings"), tables.get("units")
    if ceilings is None or units is None or ceilings.empty:
        return
    have = set(zip(ceilings["financing"], ceilings["category"], strict=True))
    for financing in sorted(set(units["financing"].dropna())):
        missing = [c for c in range(1, 7) if (financing, c) not in have]
        if missing:
            log.error(
                "ceilings",
                f"financing {financing} has no ceiling for categories {missing}",
                "give a ceiling for every category 1..6 of each financing class the units use",
                column="category",
                key=financing,
            )
    duplicated = ceilings.duplicated(["financing", "category"])
    _report_rows(
        log,
        spec,
        ceilings,
        duplicated,
        "category",
        "second ceiling for the same financing and category {value}",
        "keep one row per pair",
    )


def _check_wishes(log: ProblemLog, spec: TableSpec, tables: dict[str, pd.DataFrame]) -> None:
    applicants, residences = tables.get("applicants"), tables.get("residences")
    if applicants is None or residences is None or applicants.empty:
        return
    communes = set(residences["commune"].dropna())
    wishes = applicants["wished_communes"].fillna("").str.split(";")
    flat = wishes.explode().str.strip()
    flat = flat[flat != ""]
    outside = flat[~flat.isin(communes)]
    if not outside.empty:
        count = outside.index.nunique()
        examples = ", ".join(sorted(set(outside))[:5])
        log.warning(
            "applicants",
            f"{count} applicant(s) wish communes where the landlord has no residence "
            f"(e.g. {examples}); those wishes are kept but cannot be met here",
            "nothing to fix if the demand file is shared with other landlords",
            column="wished_communes",
        )
    no_wish = applicants["wished_communes"].notna() & wishes.map(
        lambda items: not any(i.strip() for i in items)
    ).astype(bool)
    _report_rows(
        log,
        spec,
        applicants,
        no_wish,
        "wished_communes",
        "no commune is wished",
        "list at least one commune, separated by ';'",
    )
