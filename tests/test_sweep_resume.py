"""Sweeps run inline: rows, the cache that makes a second run recompute nothing, failures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from fluxopt.allocate import SolveSettings, allocate
from fluxopt.constraints.ruleset import load_constraint_set
from fluxopt.instance import load_instance
from fluxopt.scenarios.spec import Scenario
from fluxopt.scenarios.sweep import RESULTS_DIR, base_digest, run_sweep, scenario_key
from fluxopt.scenarios.task import run_scenario

TINY = Path(__file__).resolve().parents[1] / "instances" / "tiny"


def scenarios() -> list[Scenario]:
    return [
        Scenario(name="as-is", time_limit=10),
        Scenario(name="negotiated", method="negotiated", time_limit=10),
        Scenario(name="misspelt", quotas={"lec-q1-outsid-qpv": 0.3}, time_limit=10),
    ]


@pytest.fixture
def base(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny"
    shutil.copytree(TINY, folder)
    return folder


def test_a_row_holds_the_solve_and_the_verifier_figures() -> None:
    row = run_scenario(str(TINY), Scenario(name="as-is", time_limit=10).model_dump(mode="json"))
    instance = load_instance(TINY)
    rules = load_constraint_set("lec-default")
    allocation = allocate(instance, rules, settings=SolveSettings(time_limit=10))
    first = allocation.decisions.first_ranked
    assert row["status"] == "optimal"
    assert row["objective"] == pytest.approx(allocation.objective, abs=1e-6)
    assert row["units"] == len(allocation.decisions.orientation)
    assert row["priority_housed"] == int((first["priority"] | first["dalo"]).sum())
    assert row["mean_wait_housed"] == pytest.approx(first["wait_months"].mean())
    assert row["violations"] == 0
    flux_targets = {k: v for k, v in row.items() if k.startswith("flux_target:")}
    assert set(flux_targets) == {f"flux_target:{h}" for h in instance.holders["holder_id"]}
    # every flux unit is oriented once: the holders' oriented counts add up to the flux units
    oriented = sum(v for k, v in row.items() if k.startswith("flux_oriented:"))
    assert oriented == int(instance.units["in_flux"].sum())
    assert row["quota:lec-q1-outside-qpv:990000001"] == pytest.approx(0.5)
    json.dumps(row)  # plain data only


def test_a_failing_scenario_is_a_row_with_its_error() -> None:
    row = run_scenario(str(TINY), scenarios()[2].model_dump(mode="json"))
    assert row["status"] == "error"
    assert "lec-q1-outsid-qpv" in row["error"]
    assert "lec-q1-outside-qpv" in row["error"]
    bad_grid = Scenario(name="g", grid="no-such-grid").model_dump(mode="json")
    assert "no grid 'no-such-grid'" in run_scenario(str(TINY), bad_grid)["error"]
    assert run_scenario(str(TINY), {"name": "n", "colour": 1})["status"] == "error"


def test_a_second_run_recomputes_nothing_and_errors_are_tried_again(
    base: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    seen: list[tuple[str, bool]] = []
    first = run_sweep(
        base,
        scenarios(),
        out,
        scheduler="inline",
        on_row=lambda r, c: seen.append((r["scenario"], c)),
    )
    assert (first.submitted, first.reused, first.failed) == (3, 0, 1)
    assert list(first.rows["scenario"]) == ["as-is", "negotiated", "misspelt"]
    assert list(first.rows["status"]) == ["optimal", "optimal", "error"]
    assert len(list((out / RESULTS_DIR).glob("*.json"))) == 2  # error rows are not cached

    second = run_sweep(base, scenarios()[:2], out, scheduler="inline")
    assert (second.submitted, second.reused) == (0, 2)
    expected = first.rows.iloc[:2][list(second.rows.columns)].reset_index(drop=True)
    pd.testing.assert_frame_equal(second.rows, expected, check_dtype=False)

    third = run_sweep(base, scenarios(), out, scheduler="inline")
    assert (third.submitted, third.reused, third.failed) == (1, 2, 1)
    assert sorted(seen) == sorted([("as-is", False), ("negotiated", False), ("misspelt", False)])


def test_renaming_reuses_and_any_change_of_inputs_recomputes(base: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_sweep(base, scenarios()[:1], out, scheduler="inline")
    renamed = run_sweep(base, [Scenario(name="renamed", time_limit=10)], out, scheduler="inline")
    assert renamed.submitted == 0
    assert list(renamed.rows["scenario"]) == ["renamed"]
    changed = run_sweep(base, [Scenario(name="x", time_limit=11)], out, scheduler="inline")
    assert changed.submitted == 1

    scenario = scenarios()[0]
    key = scenario_key(scenario, base, base_digest(base))
    units = base / "units.csv"
    units.write_text(units.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert scenario_key(scenario, base, base_digest(base)) != key
    assert run_sweep(base, [scenario], out, scheduler="inline").submitted == 1


def test_identical_scenarios_run_once(base: Path, tmp_path: Path) -> None:
    twins = [Scenario(name="one", time_limit=10), Scenario(name="two", time_limit=10)]
    outcome = run_sweep(base, twins, tmp_path / "out", scheduler="inline")
    assert outcome.submitted == 1
    assert list(outcome.rows["scenario"]) == ["one", "two"]
    assert outcome.rows["objective"].nunique() == 1
