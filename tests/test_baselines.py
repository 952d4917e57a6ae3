"""The baselines: greedy follows the status quo's rules; naive-pulp finds fluxopt's optimum;
both give decision tables the verifier and the objective evaluation accept."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fluxopt.allocate import SolveSettings, allocate
from fluxopt.baselines import STRATEGIES, run_strategy
from fluxopt.baselines.greedy import availability_order, greedy_assignment, greedy_decisions
from fluxopt.baselines.naive_pulp import build_naive, integer_band, solve_naive
from fluxopt.constraints.ruleset import load_constraint_set
from fluxopt.evaluate import objective_of
from fluxopt.generate import PRESETS, generate
from fluxopt.instance import Instance, load_instance
from fluxopt.model.build import build_model
from fluxopt.problem import AllocationProblem, as_chunk, build_problem
from fluxopt.schema.problems import FluxoptError
from fluxopt.solvers.base import SolveOptions, Status
from fluxopt.verify import verify

RULES = load_constraint_set("lec-default")
SMALL = replace(PRESETS["tiny"], name="small", units_per_month=20, applicants=90, residences=8)
EXACT = SolveSettings(mip_gap=1e-6, time_limit=30)


@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Instance]:
    from conftest import write_hand_instance

    hand = load_instance(write_hand_instance(tmp_path_factory.mktemp("hand") / "hand"))
    return {
        "tiny-1": generate("tiny", 1),
        "tiny-2": generate("tiny", 2),
        "small-2": generate(SMALL, 2),
        "hand": hand,
    }


@pytest.fixture(scope="module")
def problems(instances: dict[str, Instance]) -> dict[str, AllocationProblem]:
    return {name: build_problem(instance, RULES) for name, instance in instances.items()}


def reference_orientation(problem: AllocationProblem) -> list[int]:
    """The greedy orientation rule, unit by unit, in plain Python."""
    coverage = problem.coverage
    need = problem.conventions["need"].tolist()
    got = [0.0] * len(need)
    conventions_of: dict[int, list[int]] = {}
    for c, r in zip(
        problem.membership["convention_row"], problem.membership["coverage_row"], strict=True
    ):
        conventions_of.setdefault(int(r), []).append(int(c))
    holders = [-1] * problem.num_units
    for u in availability_order(problem).tolist():
        rows = [r for r in range(len(coverage)) if int(coverage["unit"].iloc[r]) == u]
        if not rows:
            continue
        fixed = [r for r in rows if bool(coverage["fixed"].iloc[r])]
        if fixed:
            chosen = fixed[0]
        else:

            def deficit(r: int) -> float:
                own = conventions_of.get(r, [])
                return max((need[c] - got[c] for c in own), default=-np.inf)

            chosen = min(rows, key=lambda r: (-deficit(r), int(coverage["holder"].iloc[r])))
        for c in conventions_of.get(chosen, []):
            got[c] += 1
        holders[u] = int(coverage["holder"].iloc[chosen])
    return holders


@pytest.mark.parametrize("name", ["tiny-1", "tiny-2", "small-2", "hand"])
def test_greedy_follows_the_status_quo(
    instances: dict[str, Instance], problems: dict[str, AllocationProblem], name: str
) -> None:
    problem = problems[name]
    unit_holder, pairs, ranks = greedy_assignment(problem)
    assert unit_holder.tolist() == reference_orientation(problem)
    graph = problem.graph
    score = problem.applicants["score"].to_numpy()
    chunk = as_chunk(graph)
    used: set[int] = set()
    by_unit: dict[int, list[tuple[int, int]]] = {}
    for pair, rank in zip(pairs.tolist(), ranks.tolist(), strict=True):
        by_unit.setdefault(int(graph.unit[pair]), []).append((rank, pair))
    for u in availability_order(problem).tolist():
        listed = [pair for _, pair in sorted(by_unit.get(u, []))]
        assert [rank for rank, _ in sorted(by_unit.get(u, []))] == list(range(1, len(listed) + 1))
        holder = int(unit_holder[u])
        admitted = (
            problem.admits[holder].members(chunk)
            if holder in problem.admits
            else np.ones(len(graph), dtype=bool)
        )
        open_pairs = [
            p
            for p in np.flatnonzero(graph.unit == u).tolist()
            if admitted[p] and int(graph.applicant[p]) not in used
        ]
        best = sorted(open_pairs, key=lambda p: -score[graph.applicant[p]])
        expected = [float(score[graph.applicant[p]]) for p in best[: len(listed)]]
        assert [float(score[graph.applicant[p]]) for p in listed] == expected
        assert len(listed) == min(len(open_pairs), RULES.families.shortlist.size)
        used.update(int(graph.applicant[p]) for p in listed)
    decisions = greedy_decisions(problem)
    assert decisions.shortlist["applicant_id"].is_unique
    report = verify(instances[name], RULES, decisions.orientation, decisions.shortlist)
    assert report.ok, report.text()


@pytest.mark.parametrize("name", ["tiny-1", "small-2"])
def test_greedy_is_never_better_than_fluxopt(instances: dict[str, Instance], name: str) -> None:
    greedy = run_strategy("greedy", instances[name], RULES)
    fluxopt = run_strategy("fluxopt", instances[name], RULES, settings=EXACT)
    assert greedy.status is Status.FEASIBLE
    assert fluxopt.status is Status.OPTIMAL
    assert greedy.objective is not None
    assert fluxopt.objective is not None
    assert greedy.objective >= fluxopt.objective - 1e-6
    assert greedy.timings["solve"] > 0
    assert greedy.units_filled <= fluxopt.units_filled


@pytest.mark.parametrize("name", ["tiny-1", "tiny-2", "small-2", "hand"])
def test_naive_pulp_finds_the_optimum_of_fluxopt(
    instances: dict[str, Instance], problems: dict[str, AllocationProblem], name: str
) -> None:
    problem = problems[name]
    naive = run_strategy("naive-pulp", instances[name], RULES, settings=EXACT, problem=problem)
    assert naive.status is Status.OPTIMAL, naive.message
    assert naive.decisions is not None
    assert naive.objective is not None
    assert naive.own_objective == pytest.approx(naive.objective, rel=1e-6, abs=1e-6)
    assert set(naive.timings) >= {"build", "solve", "extract", "total", "evaluate"}
    optimum = allocate(instances[name], RULES, settings=EXACT).objective
    assert naive.objective == pytest.approx(optimum, rel=1e-6, abs=1e-6)
    report = verify(instances[name], RULES, naive.decisions.orientation, naive.decisions.shortlist)
    assert report.ok, report.text()


def test_naive_model_is_one_variable_per_pair(problems: dict[str, AllocationProblem]) -> None:
    problem = problems["tiny-1"]
    naive = build_naive(problem)
    assert len(naive.first) == len(problem.graph)
    assert len(naive.orient) == len(problem.coverage)
    solution = solve_naive(naive, problem, SolveOptions(mip_gap=1e-6, time_limit=30))
    model, variables = build_model(problem)
    assert solution.bound is not None
    assert solution.objective is not None
    assert solution.bound <= solution.objective + 1e-9
    assert len(solution.first_pairs) > 0
    assert (solution.unit_holder >= 0).all()
    assert model.num_cols >= variables.first.size


def test_integer_band() -> None:
    assert integer_band(3.4, 1.0) == (3.0, 4.0)
    assert integer_band(3.4, 0.2) == (3.0, 4.0)
    assert integer_band(3.0, 0.0) == (3.0, 3.0)
    assert integer_band(2.5, 1.5) == (1.0, 4.0)


def test_strategies_by_name(instances: dict[str, Instance], tmp_path: Path) -> None:
    assert STRATEGIES == ("fluxopt", "greedy", "naive-pulp")
    with pytest.raises(FluxoptError, match="unknown strategy"):
        run_strategy("simulated-annealing", instances["tiny-1"], RULES)
    failed = run_strategy(
        "fluxopt", instances["tiny-1"], RULES, settings=SolveSettings(solver="no-such-solver")
    )
    assert failed.status is Status.ERROR
    assert "unknown solver" in failed.message
    assert failed.decisions is None
    assert {"pairs", "build", "solve", "total"} <= set(failed.timings)
    greedy = run_strategy("greedy", instances["tiny-1"], RULES, evaluate=False)
    assert greedy.objective is None
    model, variables = build_model(greedy.problem)  # type: ignore[arg-type]
    assert greedy.decisions is not None
    assert objective_of(greedy.problem, model, variables, greedy.decisions) > 0  # type: ignore[arg-type]


def test_baseline_command_writes_verified_tables(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from fluxopt.cli.app import cli

    tiny = Path(__file__).resolve().parents[1] / "instances" / "tiny"
    out = tmp_path / "greedy"
    result = CliRunner().invoke(cli, ["baseline", str(tiny), "-s", "greedy", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "units filled" in result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["strategy"] == "greedy"
    assert summary["violations"] == 0
    assert summary["objective"] > 0
    shortlist = pd.read_csv(out / "shortlist.csv", dtype=str)
    assert shortlist["applicant_id"].is_unique
