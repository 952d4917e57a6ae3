"""Checks of typed tables: per-column rules through pandera, then rules across tables.

Column rules (bounds, allowed values, patterns, uniqueness) are generated from the
declaration and run by pandera in lazy mode, so that every failing cell is found in one
pass. Rules across tables (references, shares per perimeter, consistency of a unit with its
residence, household composition) are plain vectorised pandas checks.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from fluxopt.schema.declaration import ColumnSpec, TableSpec, schema
from fluxopt.schema.problems import ProblemLog, Severity

SHARE_SUM_TOLERANCE = 1e-9
"""Slack allowed when adding shares (floating point), so that 0.7 + 0.3 is not over 1."""

CheckKind = Literal["min", "max", "enum", "pattern"]


def column_check_kinds(col: ColumnSpec) -> list[CheckKind]:
    """The value checks of a column, in the order the pandera schema runs them."""
    kinds: list[CheckKind] = []
    if col.min is not None:
        kinds.append("min")
    if col.max is not None:
        kinds.append("max")
    if col.enum is not None:
        kinds.append("enum")
    if col.pattern is not None:
        kinds.append("pattern")
    return kinds


def pandera_schema(spec: TableSpec) -> pa.DataFrameSchema:
    """Build the pandera schema of one declared table (types are coerced beforehand).

    Each column gets, in the order of :func:`column_check_kinds`: a lower bound (``>`` or
    ``≥``), an upper bound ``≤``, a set of allowed values, a regular expression; and a
    uniqueness rule that reports every repeat after the first. Empty cells pass (required
    cells were reported when read). Columns without any such rule are left out.
    """
    columns: dict[str, pa.Column] = {}
    for name, col in spec.columns.items():
        if not column_check_kinds(col) and not col.unique:
            continue
        checks: list[pa.Check] = []
        for kind in column_check_kinds(col):
            if kind == "min":
                assert col.min is not None
                checks.append(pa.Check.gt(col.min) if col.min_exclusive else pa.Check.ge(col.min))
            elif kind == "max":
                checks.append(pa.Check.le(col.max))
            elif kind == "enum":
                checks.append(pa.Check.isin(list(col.enum or ())))
            else:
                checks.append(pa.Check.str_matches(str(col.pattern)))
        columns[name] = pa.Column(
            checks=checks,
            nullable=True,
            unique=col.unique,
            report_duplicates="exclude_first",
            required=False,
            coerce=False,
        )
    return pa.DataFrameSchema(columns, strict=False, name=spec.name)


@cache
def _table_schema(table: str) -> pa.DataFrameSchema:
    return pandera_schema(schema()[table])


def check_columns(log: ProblemLog, spec: TableSpec, frame: pd.DataFrame) -> None:
    """Run the table's pandera schema and report every failing cell."""
    try:
        _table_schema(spec.name).validate(frame, lazy=True)
    except SchemaErrors as exc:
        _report_failures(log, spec, frame, exc.failure_cases)


def _report_failures(
    log: ProblemLog, spec: TableSpec, frame: pd.DataFrame, cases: pd.DataFrame
) -> None:
    """Turn pandera's failure cases into problems, one group per column and check."""
    key_name = spec.key_columns[0]
    keys = frame[key_name] if key_name in frame.columns else None
    cases = cases[cases["index"].notna() & cases["column"].isin(list(spec.columns))]
    for (column, check), group in cases.groupby(["column", "check"], sort=False):
        col = spec.columns[str(column)]
        number = group["check_number"].iloc[0]
        kinds = column_check_kinds(col)
        if "uniqueness" in str(check) or number is None or pd.isna(number):
            kind = "unique"
        else:
            kind = kinds[int(number)]
        positions = group["index"].astype("int64").to_numpy()
        order = np.argsort(positions, kind="stable")
        positions = positions[order]
        values = group["failure_case"].to_numpy()[order]
        for template, hint, chunk in _explain(col, kind, positions, values):
            log.cells(
                spec.name,
                col.name,
                positions[chunk],
                template,
                hint,
                values=list(values[chunk]),
                keys=None if keys is None else keys.iloc[positions[chunk]],
            )


def _explain(
    col: ColumnSpec, kind: str, positions: np.ndarray, values: np.ndarray
) -> list[tuple[str, str, np.ndarray]]:
    """Message template, hint and the failures each applies to, for one failed check.

    A lower bound of 0 reads "negative" for values below 0 (money, sizes); a bound of 0
    that excludes 0 reads "is not positive" for a zero; shares read "outside [0, 1]".
    """
    everything = np.arange(len(positions))
    unit = f" {col.unit}" if col.unit else ""
    is_share = col.min == 0 and col.max == 1
    if kind in ("min", "max") and is_share:
        return [
            (
                "{value!r} is outside [0, 1]",
                f"{col.name} is a share: write it as a fraction between 0 and 1 "
                f"(e.g. 0.25 for 25 %)",
                everything,
            )
        ]
    if kind == "min":
        sign = ">" if col.min_exclusive else "≥"
        hint = f"{col.name} must be {sign} {col.min:g}{unit} ({col.description})"
        if col.min == 0:
            numbers = np.asarray(values, dtype="float64")
            negative = np.flatnonzero(numbers < 0)
            zero = np.flatnonzero(numbers >= 0)
            parts = [("{value!r} is negative", hint, negative)]
            if zero.size:
                parts.append(("{value!r} is not positive", hint, zero))
            return parts
        return [("{value!r} is too small", hint, everything)]
    if kind == "max":
        return [("{value!r} is too large", f"{col.name} must be ≤ {col.max:g}{unit}", everything)]
    if kind == "enum":
        allowed = ", ".join(col.enum or ())
        return [("{value!r} is not an allowed value", f"use one of: {allowed}", everything)]
    if kind == "pattern":
        return [("{value!r} has the wrong form", col.description, everything)]
    return [
        (
            f"duplicate {col.name} {{value!r}}",
            f"each {col.name} must appear once; rename or remove the repeated row",
            everything,
        )
    ]


def check_table_present(log: ProblemLog, spec: TableSpec, frame: pd.DataFrame) -> None:
    """A required table must have at least one row."""
    if spec.required and len(frame) == 0:
        log.error(
            spec.name,
            "table is empty",
            f"a {spec.name} table needs at least one row: {spec.description}",
        )


def check_references(log: ProblemLog, tables: dict[str, pd.DataFrame]) -> None:
    r"""Every declared ``references`` column must point at an existing row.

    For a column :math:`c` of table :math:`T` referring to :math:`T'.c'`, every non-empty
    value must belong to :math:`\{T'.c'\}`.
    """
    for spec in schema().values():
        frame = tables.get(spec.name)
        if frame is None or frame.empty:
            continue
        for col in spec.columns.values():
            if col.references is None or col.name not in frame.columns:
                continue
            target_table, target_column = col.references.split(".")
            target = tables.get(target_table)
            if target is None or target_column not in target.columns:
                continue
            values = frame[col.name]
            known = target[target_column].dropna().unique()
            dangling = values.notna() & ~values.isin(known)
            hint = f"add it to {target_table} or correct the {col.name}"
            if col.references == "thresholds.epci":
                hint = "add the EPCI's first-quartile threshold to the thresholds table"
            report_rows(
                log,
                spec,
                frame,
                dangling,
                col.name,
                f"{{value!r}} is not in {target_table}.{target_column}",
                hint,
            )


def report_rows(
    log: ProblemLog,
    spec: TableSpec,
    frame: pd.DataFrame,
    mask: pd.Series | np.ndarray,
    column: str | None,
    message: str,
    hint: str,
    severity: Severity = "error",
) -> None:
    """Report each row where ``mask`` holds (at most the listed number, then a count)."""
    positions = np.flatnonzero(np.asarray(mask, dtype=bool))
    if positions.size == 0:
        return
    key_name = spec.key_columns[0]
    log.cells(
        spec.name,
        column,
        positions,
        message,
        hint,
        values=frame[column].iloc[positions] if column else None,
        keys=frame[key_name].iloc[positions] if key_name in frame.columns else None,
        severity=severity,
    )


def check_consistency(
    log: ProblemLog, tables: dict[str, pd.DataFrame], department: str | None = None
) -> None:
    """Rules that span columns or tables, beyond single-column checks.

    ``department`` is the instance's ``territory.department``; when given, conventions on
    a department perimeter must name it.
    """
    specs = schema()
    _check_units_against_residences(log, specs["units"], tables)
    _check_stock_holders(log, specs["units"], tables)
    _check_households(log, specs["applicants"], tables.get("applicants"))
    _check_conventions(log, specs["conventions"], tables, department)
    _check_ceilings(log, specs["ceilings"], tables)
    _check_wishes(log, specs["applicants"], tables)


def _check_units_against_residences(
    log: ProblemLog, spec: TableSpec, tables: dict[str, pd.DataFrame]
) -> None:
    """A unit's commune, EPCI and QPV flag, when given, equal those of its residence."""
    units, residences = tables.get("units"), tables.get("residences")
    if units is None or residences is None or units.empty or residences.empty:
        return
    if not residences["residence_id"].dropna().is_unique:
        return
    by_residence = residences.dropna(subset=["residence_id"]).set_index("residence_id")
    for column in ("commune", "epci", "qpv"):
        given = units[column]
        expected = units["residence_id"].map(by_residence[column])
        mismatch = given.notna() & expected.notna() & (given.astype(str) != expected.astype(str))
        report_rows(
            log,
            spec,
            units,
            mismatch.fillna(False),
            column,
            f"{{value!r}} differs from the residence's {column}",
            f"leave {column} empty to take the residence's value, or correct the residence",
        )


def _check_stock_holders(log: ProblemLog, spec: TableSpec, tables: dict[str, pd.DataFrame]) -> None:
    """A unit still managed in stock (``stock:<holder_id>``) names an existing holder."""
    units, holders = tables.get("units"), tables.get("holders")
    if units is None or holders is None or units.empty:
        return
    status = units["flux_status"].fillna("").astype(str)
    stock = status.str.startswith("stock:")
    holder_ids = status.str.slice(len("stock:"))
    dangling = stock & ~holder_ids.isin(holders["holder_id"].dropna().unique())
    report_rows(
        log,
        spec,
        units,
        dangling,
        "flux_status",
        "{value!r} names a holder that is not in holders",
        "write stock:<holder_id> with a holder_id of the holders table",
    )


def _check_households(log: ProblemLog, spec: TableSpec, applicants: pd.DataFrame | None) -> None:
    """``household_size = adults + children``, and a demand does not lapse before filing."""
    if applicants is None or applicants.empty:
        return
    size = applicants["household_size"]
    total = applicants["adults"] + applicants["children"]
    mismatch = (size.notna() & total.notna() & (size != total)).fillna(False).astype(bool)
    report_rows(
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
    report_rows(
        log,
        spec,
        applicants,
        lapsed,
        "expires_on",
        "demand expires before it was filed",
        "correct filed_on or expires_on",
    )


def _check_conventions(
    log: ProblemLog,
    spec: TableSpec,
    tables: dict[str, pd.DataFrame],
    department: str | None,
) -> None:
    r"""Each convention gives exactly one of share and annual_volume; shares add up.

    On a perimeter :math:`p`, the holders' shares satisfy :math:`\sum_h s_{h,p} \le 1`
    (shares outside [0, 1] are reported on their own and left out of the sum).
    """
    conventions = tables.get("conventions")
    if conventions is None or conventions.empty:
        return
    neither = conventions["share"].isna() & conventions["annual_volume"].isna()
    report_rows(
        log,
        spec,
        conventions,
        neither,
        "share",
        "neither share nor annual_volume is given",
        "give the share of the flux basis (0..1) or a yearly volume",
    )
    both = conventions["share"].notna() & conventions["annual_volume"].notna()
    report_rows(
        log,
        spec,
        conventions,
        both,
        "share",
        "both share and annual_volume are given",
        "keep one of share or annual_volume",
    )
    _check_share_sums(log, conventions)
    _check_some_share(log, conventions)
    duplicated = conventions.duplicated(
        ["holder_id", "perimeter_kind", "perimeter_id"], keep="first"
    )
    report_rows(
        log,
        spec,
        conventions,
        duplicated,
        "holder_id",
        "holder {value!r} has a second convention on the same perimeter",
        "merge the two conventions into one",
    )
    _check_perimeters(log, spec, conventions, tables, department)


def _check_share_sums(log: ProblemLog, conventions: pd.DataFrame) -> None:
    share = conventions["share"].to_numpy(dtype="float64", na_value=np.nan)
    valid = (share >= 0) & (share <= 1)
    perimeter = (
        conventions["perimeter_kind"].fillna("").astype(str)
        + " "
        + conventions["perimeter_id"].fillna("").astype(str)
    ).to_numpy(dtype=object)
    codes, labels = pd.factorize(perimeter)
    totals = np.bincount(codes[valid], weights=share[valid], minlength=len(labels))
    for code in np.flatnonzero(totals > 1 + SHARE_SUM_TOLERANCE):
        rows = np.flatnonzero(valid & (codes == code)) + 1
        where = str(labels[code])
        log.error(
            "conventions",
            f"shares on {where} (rows {', '.join(str(r) for r in rows)}) "
            f"sum to {totals[code]:.3f}, over 1",
            "the holders' shares of one perimeter cannot exceed the whole flux; lower them",
            column="share",
            key=where,
        )


def _check_some_share(log: ProblemLog, conventions: pd.DataFrame) -> None:
    r"""Warn when every convention grants nothing: all shares 0 and no annual volume > 0.

    With :math:`s_c = 0` for every convention giving a share and :math:`v_c \le 0` for
    every one giving a volume, no holder receives any unit of the flux: the landlord keeps
    it all, which is allowed but almost always a data error (shares typed as percentages
    and rounded, a column left blank by an export).
    """
    share = conventions["share"].to_numpy(dtype="float64", na_value=np.nan)
    volume = conventions["annual_volume"].to_numpy(dtype="float64", na_value=np.nan)
    given = ~np.isnan(share) | ~np.isnan(volume)
    if not given.any() or bool(np.any(share[~np.isnan(share)] != 0)):
        return
    if bool(np.any(volume[~np.isnan(volume)] > 0)):
        return
    log.warning(
        "conventions",
        f"every convention grants nothing: the {int(given.sum())} share(s) or volume(s) "
        "given are all 0, so no holder receives any unit and the landlord keeps the flux",
        "check the share column (fractions between 0 and 1, e.g. 0.25 for 25 %)",
        column="share",
    )


def _check_perimeters(
    log: ProblemLog,
    spec: TableSpec,
    conventions: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    department: str | None,
) -> None:
    """A perimeter names the instance's department, or an EPCI or commune of a residence."""
    if department is not None:
        elsewhere = (conventions["perimeter_kind"] == "department") & (
            conventions["perimeter_id"] != department
        )
        report_rows(
            log,
            spec,
            conventions,
            elsewhere.fillna(False),
            "perimeter_id",
            f"department {{value!r}} is not the instance's department {department!r}",
            "correct perimeter_id, or territory.department in instance.yaml",
        )
    residences = tables.get("residences")
    if residences is None:
        return
    known = {
        "epci": residences["epci"].dropna().unique(),
        "commune": residences["commune"].dropna().unique(),
    }
    for kind, ids in known.items():
        unknown = (conventions["perimeter_kind"] == kind) & ~conventions["perimeter_id"].isin(ids)
        report_rows(
            log,
            spec,
            conventions,
            unknown.fillna(False),
            "perimeter_id",
            f"{{value!r}} is not an {kind} of any residence",
            f"use the {kind} of one of the landlord's residences",
        )


def _check_ceilings(log: ProblemLog, spec: TableSpec, tables: dict[str, pd.DataFrame]) -> None:
    """Every financing class the units use has a ceiling for each category 1..6."""
    ceilings, units = tables.get("ceilings"), tables.get("units")
    if ceilings is None or units is None or ceilings.empty:
        return
    have = set(zip(ceilings["financing"], ceilings["category"], strict=True))
    for financing in sorted(set(units["financing"].dropna())):
        if financing not in (spec.columns["financing"].enum or ()):
            continue
        missing = [c for c in range(1, 7) if (financing, c) not in have]
        if missing:
            log.error(
                "ceilings",
                f"financing {financing} has no ceiling for categories "
                + ", ".join(str(c) for c in missing),
                "give a ceiling for every category 1..6 of each financing class the units use",
                column="category",
                key=financing,
            )
    duplicated = ceilings.duplicated(["financing", "category"])
    report_rows(
        log,
        spec,
        ceilings,
        duplicated,
        "category",
        "second ceiling for the same financing and category {value}",
        "keep one row per pair",
    )


def _check_wishes(log: ProblemLog, spec: TableSpec, tables: dict[str, pd.DataFrame]) -> None:
    """Each applicant wishes at least one commune; wishes outside the territory only warn."""
    applicants, residences = tables.get("applicants"), tables.get("residences")
    if applicants is None or residences is None or applicants.empty:
        return
    communes = residences["commune"].dropna().unique()
    wishes = applicants["wished_communes"].fillna("").str.split(";")
    flat = wishes.explode().str.strip()
    flat = flat[flat.notna() & (flat != "")]
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
    no_wish = applicants["wished_communes"].notna() & ~applicants.index.isin(flat.index)
    report_rows(
        log,
        spec,
        applicants,
        no_wish,
        "wished_communes",
        "no commune is wished",
        "list at least one commune, separated by ';'",
    )
