r"""Filters of the rule sets: the columns each kind may name, and their evaluation over a table.

A filter is an expression of :mod:`fluxopt.rules.expression` that selects rows: a unit
filter (a quota's ``scope``), an applicant filter (a channel's ``admits``, a quota's
``share``) or a holder filter (``holders``). When a rule set is loaded, each filter is
checked against the declared columns of its table (:data:`UNIT_FILTER`,
:data:`APPLICANT_FILTER`, :data:`HOLDER_FILTER`: the columns of the data reference, the
ones fluxopt derives, and for units those a batch adds). When it is evaluated
(:func:`filter_mask`), an empty filter selects every row and a missing value counts as
false: :math:`\text{mask}_i = [\,f(\text{row}_i) \text{ is true}\,]`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
import pandas as pd

from fluxopt.rules.expression import ExpressionError, parse_expression
from fluxopt.rules.operations import EvaluationError
from fluxopt.schema.declaration import schema
from fluxopt.schema.problems import FluxoptError

BATCH_UNIT_COLUMNS: tuple[str, ...] = (
    "lec_applies",
    "cap_q1_share",
    "cap_priority_share",
    "channel",
)
"""Unit columns a batch adds before the rules read them (``problem._batch_units``): whether
the LEC quotas apply in the unit's EPCI, the residence's mixity caps, and the unit's channel
(``flux``, ``stock`` or its exclusion)."""


@dataclass(frozen=True)
class FilterKind:
    """A kind of filter: what it selects and the table whose columns it may name."""

    label: str
    table: str
    extra: tuple[str, ...] = ()

    @cached_property
    def columns(self) -> frozenset[str]:
        """Declared and derived columns of the table, and the extra ones."""
        spec = schema()[self.table]
        return frozenset([*spec.columns, *spec.derived, *self.extra])


UNIT_FILTER = FilterKind("unit filter", "units", BATCH_UNIT_COLUMNS)
APPLICANT_FILTER = FilterKind("applicant filter", "applicants")
HOLDER_FILTER = FilterKind("holder filter", "holders")


def filter_problem(text: str, kind: FilterKind) -> ExpressionError | None:
    """The first problem of a filter against its table's columns (``None``: fine or empty)."""
    if not text.strip():
        return None
    try:
        parse_expression(text, kind.columns)
    except ExpressionError as exc:
        return exc
    return None


def filter_mask(frame: pd.DataFrame, text: str, table: str) -> npt.NDArray[np.bool_]:
    """Evaluate a filter into one true/false per row of ``frame``; empty means every row.

    The text goes through the same allow-list as at load (it is compiled once and cached);
    a table that lacks a column the filter names, or values the filter cannot combine,
    raise a :class:`~fluxopt.schema.problems.FluxoptError` naming the table and the filter.
    """
    if not text.strip():
        return np.ones(len(frame), dtype=bool)
    try:
        return parse_expression(text).mask(frame)
    except ExpressionError as exc:
        raise FluxoptError(f"the {table} filter {text!r} is refused: {exc.message}") from exc
    except EvaluationError as exc:
        raise FluxoptError(f"cannot evaluate the {table} filter {text!r}: {exc}") from exc
