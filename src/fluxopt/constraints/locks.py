r"""Locks: human overrides that the solve must honour.

- ``orient`` (unit ``u`` goes to holder ``h``): :math:`orient_{u,h} + s \ge 1`;
- ``require`` (applicant ``a`` first for ``u``): :math:`first_{u,a} + s \ge 1`;
- ``exclude`` (never ``a`` for ``u``): the pair is removed from the candidate graph.

The slack ``s`` is fixed to 0 (a lock is hard); it exists so that a lock that contradicts
another hard rule is named by the infeasibility diagnosis instead of failing blindly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fluxopt.model.blocks import ModelBuilder
from fluxopt.model.variables import Variables, slack_block
from fluxopt.problem import AllocationProblem
from fluxopt.schema.problems import InvalidInputError, Problem


def add_locks(builder: ModelBuilder, problem: AllocationProblem, var: Variables) -> None:
    """Rows ``locks`` for orient and require locks."""
    locks = problem.locks
    if not problem.rules.families.locks.enabled or locks.empty:
        return
    locks = locks[locks["action"] != "exclude"].reset_index(drop=True)
    if locks.empty:
        return
    cov = problem.coverage
    cov_index = pd.Series(
        np.arange(len(cov)), index=pd.MultiIndex.from_arrays([cov["unit"], cov["holder"]])
    )
    graph = problem.graph
    pair_index = pd.Series(
        np.arange(len(graph)), index=pd.MultiIndex.from_arrays([graph.unit, graph.applicant])
    )
    cols = np.zeros(len(locks), dtype=np.int64)
    problems: list[Problem] = []
    records = zip(
        locks["action"].astype(str),
        locks["unit"].to_numpy(dtype=np.int64),
        locks["holder"].to_numpy(dtype=np.int64),
        locks["applicant"].to_numpy(dtype=np.int64),
        locks["unit_id"].astype(str),
        locks["holder_id"].astype(str),
        strict=True,
    )
    for i, (action, unit, holder, applicant, unit_id, holder_id) in enumerate(records):
        if action == "orient":
            if (unit, holder) not in cov_index.index:
                problems.append(
                    Problem(
                        "locks",
                        f"holder {holder_id} cannot receive unit {unit_id}",
                        "no convention of that holder covers the unit",
                        row=i + 1,
                    )
                )
                continue
            cols[i] = var.orient.index(int(cov_index[(unit, holder)]))
        else:
            cols[i] = var.first.index(int(pair_index[(unit, applicant)]))
    if problems:
        raise InvalidInputError("locks", problems)
    labels = locks[["unit_id", "action", "holder_id", "applicant_id"]]
    slack = slack_block(builder, "locks:slack", labels, problem.rules.weights.unfilled, True)
    n = len(locks)
    builder.add_rows(
        "locks",
        "locks",
        labels,
        np.concatenate([np.arange(n), np.arange(n)]),
        np.concatenate([cols, slack.positions]),
        np.ones(2 * n),
        lower=1.0,
    )
