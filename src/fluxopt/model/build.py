r"""Build the first-stage model: variables, each rule family, then the objective.

The objective is a loss to minimise, zero for a perfect batch:

.. math:: W_{unfilled} \cdot \#\{u \text{ fillable, left empty}\}
          + W_{value} \sum_p (1 - v_p)\, first_p
          + \sum_{\text{soft rules}} W_{level} \cdot \text{shortfall}

A unit is *fillable* when it has a candidate or may go to a holder in ``direct`` mode (who
proposes its own candidates: the unit counts as filled, with a neutral value loss of 1/2).
"""

from __future__ import annotations

import numpy as np

from fluxopt.constraints.channel import add_channels
from fluxopt.constraints.flux import add_flux
from fluxopt.constraints.locks import add_locks
from fluxopt.constraints.orientation import add_orientation
from fluxopt.constraints.quota import add_quota
from fluxopt.constraints.shortlist import add_shortlist
from fluxopt.model.blocks import LinearModel, ModelBuilder
from fluxopt.model.variables import Variables, add_variables
from fluxopt.problem import AllocationProblem

DIRECT_VALUE_LOSS = 0.5
"""Value loss counted for a unit filled by a holder in direct mode (its candidates are not
known to the landlord)."""


def build_model(problem: AllocationProblem) -> tuple[LinearModel, Variables]:
    """The model of one batch, family by family, in the order of the constraint set."""
    builder = ModelBuilder(name=f"fluxopt-{problem.instance.name}")
    var = add_variables(builder, problem)
    if problem.rules.families.orientation.enabled:
        add_orientation(builder, problem, var)
    add_shortlist(builder, problem, var)
    add_channels(builder, problem, var)
    add_flux(builder, problem, var)
    for rule in problem.rules.active_quotas:
        add_quota(builder, problem, var, rule)
    add_locks(builder, problem, var)
    add_objective(builder, problem, var)
    return builder.build(), var


def direct_rows(problem: AllocationProblem) -> np.ndarray:
    """Coverage rows whose holder is in direct mode."""
    direct = problem.holders["mode"].to_numpy() == "direct"
    return np.flatnonzero(direct[problem.coverage["holder"].to_numpy(dtype=np.int64)])


def fillable_units(problem: AllocationProblem) -> np.ndarray:
    """Units that have a candidate or may go to a holder in direct mode."""
    fillable = np.bincount(problem.graph.unit, minlength=problem.num_units) > 0
    units_direct = problem.coverage["unit"].to_numpy(dtype=np.int64)[direct_rows(problem)]
    fillable[units_direct] = True
    return fillable


def add_objective(builder: ModelBuilder, problem: AllocationProblem, var: Variables) -> None:
    """Fill reward and value loss on ``first``, fill reward on direct orientations."""
    weights = problem.rules.weights
    loss = weights.value * (1.0 - problem.graph.value)
    builder.add_cost(var.first, loss - weights.unfilled)
    direct = direct_rows(problem)
    if len(direct):
        cost = np.zeros(var.orient.size)
        cost[direct] = weights.value * DIRECT_VALUE_LOSS - weights.unfilled
        builder.add_cost(var.orient, cost)
    builder.offset += weights.unfilled * float(fillable_units(problem).sum())
