"""The three backends on the same models: same optimum, verified decisions; CP-SAT's integer
scaling and its stated error bound; CBC's bound read from its log; export to MPS and LP."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pulp
import pytest
import scipy.sparse as sp
from ortools.sat.python import cp_model

from fluxopt.allocate import SolveSettings, allocate
from fluxopt.constraints.ruleset import load_constraint_set
from fluxopt.generate import PRESETS, generate
from fluxopt.instance import Instance
from fluxopt.model.blocks import ColumnBlock, LinearModel, RowBlock
from fluxopt.model.build import build_model
from fluxopt.problem import build_problem
from fluxopt.schema.problems import FluxoptError
from fluxopt.solvers.base import SolveOptions, Status, available, get_solver
from fluxopt.solvers.cbc import read_bound, to_pulp
from fluxopt.solvers.cpsat import scale_to_integers, to_cp_model
from fluxopt.solvers.export import export_model
from fluxopt.solvers.highs import new_highs
from fluxopt.verify import verify

RULES = load_constraint_set("lec-default")
SMALL = replace(PRESETS["tiny"], name="small", units_per_month=20, applicants=90, residences=8)
INSTANCES = {"tiny-1": ("tiny", 1), "tiny-2": ("tiny", 2), "small-2": (SMALL, 2)}
EXACT = {"mip_gap": 1e-6, "time_limit": 30.0}
BACKENDS = ("highs", "cpsat", "cbc")


@pytest.fixture(scope="module")
def instances() -> dict[str, Instance]:
    return {name: generate(preset, seed) for name, (preset, seed) in INSTANCES.items()}


def test_every_backend_is_registered() -> None:
    assert set(BACKENDS) <= set(available())
    with pytest.raises(FluxoptError, match="unknown solver"):
        get_solver("gurobi-by-mistake")


@pytest.mark.parametrize("name", list(INSTANCES))
def test_backends_reach_the_same_optimum(instances: dict[str, Instance], name: str) -> None:
    instance = instances[name]
    objectives = {}
    for backend in BACKENDS:
        allocation = allocate(instance, RULES, settings=SolveSettings(solver=backend, **EXACT))
        assert allocation.status is Status.OPTIMAL, (backend, allocation.result.message)
        report = verify(
            instance, RULES, allocation.decisions.orientation, allocation.decisions.shortlist
        )
        assert report.ok, (backend, report.text())
        assert allocation.bound is not None
        assert allocation.bound <= allocation.objective + 1e-6
        objectives[backend] = allocation.objective
    assert objectives["cpsat"] == pytest.approx(objectives["highs"], rel=1e-6, abs=1e-6)
    assert objectives["cbc"] == pytest.approx(objectives["highs"], rel=1e-6, abs=1e-6)


def hand_model(
    cost: list[float],
    lower: list[float],
    upper: list[float],
    integer: list[bool],
    rows: list[list[float]],
    row_lower: list[float],
    row_upper: list[float],
    offset: float = 0.0,
) -> LinearModel:
    """A small model given densely, with one column block and one row block."""
    n, m = len(cost), len(rows)
    return LinearModel(
        cost=np.array(cost, dtype=np.float64),
        col_lower=np.array(lower, dtype=np.float64),
        col_upper=np.array(upper, dtype=np.float64),
        integer=np.array(integer, dtype=bool),
        matrix=sp.csr_matrix(np.array(rows, dtype=np.float64)),
        row_lower=np.array(row_lower, dtype=np.float64),
        row_upper=np.array(row_upper, dtype=np.float64),
        columns={"x": ColumnBlock("x", 0, n, pd.DataFrame({"i": range(n)}), True)},
        rows={"r": RowBlock("r", 0, m, pd.DataFrame({"i": range(m)}), "test")},
        offset=offset,
    )


def quota_like_model() -> LinearModel:
    """Binaries x0..x3 with quota-like fractional rows, an unbounded slack and a free helper.

    min (1/3) x0 + 0.7 x1 + 0.45 x2 + 0.2 x3 + 200 s + 0 w + 10
    s.t. x0 + x1 + x2 + x3 = 2
         0.75 x0 - 0.25 x1 - 0.25 x2 + 0.75 x3 + s >= 0.1   (at least 25 % of {x0, x3})
         w - 0.3 x2 + 0.7 x3 >= -0.3                        (w has no lower bound)
         w <= 0.7
    """
    return hand_model(
        cost=[1 / 3, 0.7, 0.45, 0.2, 200.0, 0.0],
        lower=[0, 0, 0, 0, 0, -np.inf],
        upper=[1, 1, 1, 1, np.inf, 0.7],
        integer=[True, True, True, True, False, False],
        rows=[
            [1, 1, 1, 1, 0, 0],
            [0.75, -0.25, -0.25, 0.75, 1, 0],
            [0, 0, -0.3, 0.7, 0, 1],
        ],
        row_lower=[2, 0.1, -0.3],
        row_upper=[2, np.inf, np.inf],
        offset=10.0,
    )


def test_scaling_gives_integers_and_keeps_every_integer_point() -> None:
    model = quota_like_model()
    scaled = scale_to_integers(model, resolution=1000)
    assert scaled.matrix.dtype == np.int64
    assert np.isfinite(scaled.lower).all()
    assert np.isfinite(scaled.upper).all()
    # continuous columns on the grid of their row: 1/20 (quarters and tenths), 1/10
    assert scaled.col_scale.tolist() == [1, 1, 1, 1, 20, 10]
    assert scaled.grid_loss == 0.0
    # the slack's cap and the helper's implied lower bound are finite and not too tight
    assert scaled.upper[4] >= 2 * 20
    assert scaled.lower[5] <= -1.0 * 10
    # rows are multiplied by the least multiple that makes them integral
    assert scaled.row_scale.tolist() == [1, 20, 10]
    coarse = scale_to_integers(model, resolution=5)
    assert coarse.col_scale[4] == 5
    assert coarse.grid_loss == pytest.approx(200.0 / 5)
    # any integer point of the scaled rows is feasible in the float model, and back
    y = np.array([1, 0, 0, 1, 0, 0])
    x = scaled.to_float(y)
    assert model.check_feasible(x) == []
    activity = scaled.matrix @ y
    assert np.all(activity >= scaled.row_lower)
    assert np.all(activity <= scaled.row_upper)


def test_cpsat_objective_over_the_scale_matches_the_float_objective() -> None:
    model = quota_like_model()
    huge = replace_cost(model, model.cost * 1e9)
    for candidate in (model, huge):
        scaled = scale_to_integers(candidate)
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        assert solver.solve(to_cp_model(scaled)) == cp_model.OPTIMAL
        y = np.asarray(solver.response_proto.solution, dtype=np.int64)
        stated = scaled.rounding_error(y)
        assert abs(solver.objective_value - scaled.objective(y)) <= 1e-6 * max(
            1.0, abs(scaled.objective(y))
        )
        float_objective = candidate.objective(scaled.to_float(y))
        noise = 1e-12 * max(1.0, abs(float_objective))
        assert abs(scaled.objective(y) - float_objective) <= stated + noise
    assert scale_to_integers(huge).scale < scale_to_integers(model).scale
    assert scale_to_integers(huge).residue.max() > 0


def replace_cost(model: LinearModel, cost: np.ndarray) -> LinearModel:
    return LinearModel(
        cost=cost,
        col_lower=model.col_lower,
        col_upper=model.col_upper,
        integer=model.integer,
        matrix=model.matrix,
        row_lower=model.row_lower,
        row_upper=model.row_upper,
        columns=model.columns,
        rows=model.rows,
        offset=model.offset,
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_backends_on_a_hand_model(backend: str) -> None:
    # best: x0 and x3 (cost 1/3 + 0.2; the quota row 1.5 >= 0.1 needs no slack); w free
    result = get_solver(backend).solve(quota_like_model(), SolveOptions(mip_gap=0.0))
    assert result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(10 + 1 / 3 + 0.2, abs=1e-6)
    assert result.x is not None
    assert result.x[:4].tolist() == [1, 0, 0, 1]


@pytest.mark.parametrize("backend", BACKENDS)
def test_backends_report_an_infeasible_model(backend: str) -> None:
    model = hand_model([1.0], [0], [1], [True], [[1.0]], [2.0], [np.inf])
    result = get_solver(backend).solve(model, SolveOptions(time_limit=5))
    assert result.status is Status.INFEASIBLE
    assert result.x is None


def test_cpsat_bound_is_a_bound_of_the_float_model() -> None:
    # a slack whose optimum (0.4 x 200) is not on a coarse grid: the bound must stay below
    model = hand_model(
        [1.0, 200.0], [0, 0], [1, np.inf], [True, False], [[1.0, 1.0]], [1.4], [np.inf]
    )
    exact = get_solver("highs").solve(model, SolveOptions(mip_gap=0.0)).objective
    solver = type(get_solver("cpsat"))(resolution=3)
    result = solver.solve(model, SolveOptions(mip_gap=0.0))
    assert result.status is Status.OPTIMAL
    assert result.bound is not None
    assert result.objective is not None
    assert result.bound <= exact + 1e-9 <= result.objective + 1e-9
    assert result.objective - exact <= 200.0 / 3 + 1e-9


CBC_TIME_LIMIT_LOG = """\
Cbc0010I After 0 nodes, 1 on tree, 89.9 best solution, best possible 85.2 (3.10 seconds)
Cbc0005I Partial search - best objective 89.749755 (best possible 85.684585), took 0 iterations
Result - Stopped on time limit

Objective value:                89.74975530
Lower bound:                    85.685
Gap:                            0.05
"""
CBC_GAP_LOG = """\
Cbc0011I Exiting as integer gap of 0.0041 less than 1e-10 or 0.1%
Cbc0001I Search completed - best objective 12.5, took 10 iterations and 0 nodes (0.01 seconds)
Result - Optimal solution found

Objective value:                12.50000000
"""


def test_cbc_bound_read_from_its_log() -> None:
    assert read_bound(CBC_TIME_LIMIT_LOG, 89.74975530) == pytest.approx(85.684585)
    assert read_bound(CBC_TIME_LIMIT_LOG, 89.74975530 + 7.0) == pytest.approx(92.684585)
    assert read_bound(CBC_GAP_LOG, 12.5) == pytest.approx(12.5 - 0.0041)
    completed = "Cbc0001I Search completed - best objective 3\nObjective value: 3\n"
    assert read_bound(completed, 3.0) == 3.0
    assert read_bound("Result - Stopped on time limit\n", 3.0) is None


def test_pulp_problem_has_ranged_rows_twice_and_the_offset() -> None:
    model = hand_model(
        [1.0, 2.0], [0, 0], [1, 1], [True, True], [[1.0, 1.0]], [1.0], [2.0], offset=5.0
    )
    problem, variables = to_pulp(model)
    assert len(variables) == 2
    assert sorted(c.name for c in problem.constraints()) == ["r0_hi", "r0_lo"]
    assert {v.name for v in problem.variables()} == {"x0", "x1", "objective_offset"}


@pytest.fixture(scope="module")
def tiny_model(instances: dict[str, Instance]) -> LinearModel:
    model, _ = build_model(build_problem(instances["tiny-1"], RULES))
    return model


def test_exported_mps_gives_the_same_optimum(tiny_model: LinearModel, tmp_path: Path) -> None:
    optimum = get_solver("highs").solve(tiny_model, SolveOptions(mip_gap=0.0)).objective
    path = export_model(tiny_model, tmp_path / "batch.mps")
    highs = new_highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("mip_rel_gap", 0.0)
    highs.readModel(str(path))
    highs.run()
    assert highs.getInfo().objective_function_value == pytest.approx(optimum, abs=1e-6)
    # the CBC that PuLP drives reads the file itself (PuLP's own MPS reader has no RANGES)
    cbc = pulp.apis.coin_api.pulp_cbc_path
    solution = tmp_path / "batch.sol"
    subprocess.run(
        [cbc, str(path), "-ratio", "0", "-solve", "-solution", str(solution)],
        check=True,
        capture_output=True,
    )
    first_line = solution.read_text().splitlines()[0]
    assert first_line.startswith("Optimal")
    assert float(first_line.split()[-1]) == pytest.approx(optimum, abs=1e-5)


def test_exported_lp_file_reads_back(tiny_model: LinearModel, tmp_path: Path) -> None:
    path = export_model(tiny_model, tmp_path / "batch.lp")
    text = path.read_text()
    assert "first_0" in text
    assert "objective_offset" in text
    highs = new_highs()
    highs.setOptionValue("output_flag", False)
    highs.readModel(str(path))
    assert highs.getNumCol() == tiny_model.num_cols + 1
    with pytest.raises(FluxoptError, match=r"\.mps or \.lp"):
        export_model(tiny_model, tmp_path / "batch.xlsx")
