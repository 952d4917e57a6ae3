"""The synthetic instance generator: determinism, validity, committed instances, CLI."""

from __future__ import annotations

import filecmp
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from fluxopt.cli.app import cli
from fluxopt.generate import GENERATOR_VERSION, PRESETS, generate, generate_to
from fluxopt.generate.holders import LANDLORD_ID, covering_share
from fluxopt.generate.measure import generate_and_validate
from fluxopt.generate.sampling import pick, quota_counts, shuffled_labels
from fluxopt.instance import load_instance

INSTANCES = Path(__file__).resolve().parents[1] / "instances"


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file())


def _same_files(left: Path, right: Path) -> list[str]:
    """Names of the files that differ between two folders (or exist in only one)."""
    names = sorted(set(_files(left)) | set(_files(right)))
    return [
        name
        for name in names
        if not (left / name).exists()
        or not (right / name).exists()
        or not filecmp.cmp(left / name, right / name, shallow=False)
    ]


# --- sampling helpers -------------------------------------------------------------------


def test_quota_counts_sum_and_largest_remainder() -> None:
    counts = quota_counts(10, [0.25, 0.25, 0.5])
    assert counts.sum() == 10
    assert counts.tolist() == [3, 2, 5]  # remainders 0.5/0.5/0: the earlier share wins


def test_shuffled_labels_are_exact_in_share() -> None:
    rng = np.random.default_rng(0)
    labels = shuffled_labels(rng, 1000, ["a", "b"], [0.3, 0.7])
    assert (labels == "a").sum() == 300


def test_pick_marks_exactly_k_and_never_zero_weight() -> None:
    rng = np.random.default_rng(0)
    weights = np.array([0.0, 1.0, 1.0, 5.0, 0.0, 2.0])
    chosen = pick(rng, weights, 3)
    assert chosen.sum() == 3
    assert not chosen[[0, 4]].any()
    assert pick(rng, weights, 10).sum() == 4  # only four rows have a positive weight


def test_pick_favours_heavy_rows() -> None:
    rng = np.random.default_rng(1)
    weights = np.r_[np.full(500, 10.0), np.full(500, 1.0)]
    chosen = pick(rng, weights, 100)
    assert chosen[:500].sum() > 3 * chosen[500:].sum()


# --- determinism and validity -----------------------------------------------------------


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    generate_to("tiny", 7, tmp_path / "a")
    generate_to("tiny", 7, tmp_path / "b")
    assert _same_files(tmp_path / "a", tmp_path / "b") == []


def test_other_seed_gives_other_files(tmp_path: Path) -> None:
    generate_to("tiny", 7, tmp_path / "a")
    generate_to("tiny", 8, tmp_path / "b")
    differing = _same_files(tmp_path / "a", tmp_path / "b")
    assert {"units.csv", "applicants.csv"} <= set(differing)


@pytest.mark.parametrize("preset", ["tiny", "demo", "medium"])
def test_presets_load_without_errors(tmp_path: Path, preset: str) -> None:
    generate_to(preset, 3, tmp_path)
    instance = load_instance(tmp_path)
    spec = PRESETS[preset]
    assert len(instance.units) == spec.units
    assert len(instance.applicants) == spec.applicants
    assert instance.config.months == spec.months
    assert instance.config.generator is not None
    assert instance.config.generator.version == GENERATOR_VERSION
    assert not [w for w in instance.warnings if w.column != "wished_communes"]


def test_tiny_is_small_and_round() -> None:
    instance = generate("tiny", 1)
    units, applicants = instance.units, instance.applicants
    assert len(units) == 8
    assert len(applicants) == 30
    assert len(instance.residences) <= 5
    assert units["commune"].nunique() <= 3
    assert 1 <= len(instance.thresholds) <= 2
    assert instance.config.months == ("2026-01",)
    for column in ("rent", "charges", "surface_m2"):
        assert (units[column] == units[column].round(0)).all()
    assert (applicants["annual_income"] % 100 == 0).all()


def test_reference_date_is_first_day_of_period() -> None:
    config = generate("tiny", 1).config
    assert config.reference_date is not None
    assert config.reference_date.isoformat() == "2026-01-01"
    assert config.constraints == "lec-default"
    assert config.grid == ""


def test_every_commune_has_a_residence_and_every_epci_a_threshold() -> None:
    instance = generate("medium", 2)
    assert set(instance.units["epci"]) <= set(instance.thresholds["epci"])
    assert set(instance.residences["epci"]) == set(instance.thresholds["epci"])


def test_shares_covering_any_unit_leave_the_landlord_a_tenth() -> None:
    for preset in ("tiny", "demo", "medium"):
        instance = generate(preset, 5)
        total = covering_share(
            instance.units, instance.conventions, instance.config.territory.department
        )
        assert total.max() <= 0.90, preset
        assert LANDLORD_ID in set(instance.holders["holder_id"])
        assert LANDLORD_ID not in set(instance.conventions["holder_id"])


def test_large_preset_sizes_without_writing() -> None:
    spec = PRESETS["large"]
    assert spec.units == 3000
    assert spec.applicants == 100_000
    assert spec.epcis == 20


# --- committed instances ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["tiny", "demo"])
def test_committed_instance_equals_fresh_generation(tmp_path: Path, name: str) -> None:
    committed = INSTANCES / name
    config = load_instance(committed).config
    assert config.generator is not None
    generate_to(config.generator.preset, config.generator.seed, tmp_path)
    assert _same_files(committed, tmp_path) == []


def test_demo_files_stay_small() -> None:
    total = sum(p.stat().st_size for p in (INSTANCES / "demo").iterdir())
    assert total < 5_000_000


# --- command line -----------------------------------------------------------------------


def test_cli_help_lists_presets() -> None:
    result = CliRunner().invoke(cli, ["generate", "--help"])
    assert result.exit_code == 0
    for name in PRESETS:
        assert name in result.output


def test_cli_generates_tiny(tmp_path: Path) -> None:
    out = tmp_path / "tiny"
    result = CliRunner().invoke(cli, ["generate", "--preset", "tiny", "--seed", "1", str(out)])
    assert result.exit_code == 0, result.output
    assert _same_files(out, INSTANCES / "tiny") == []
    units = pd.read_csv(out / "units.csv")
    assert len(units) == 8


def test_cli_refuses_non_empty_folder_without_force(tmp_path: Path) -> None:
    (tmp_path / "note.txt").write_text("keep me", encoding="utf-8")
    runner = CliRunner()
    refused = runner.invoke(cli, ["generate", "--preset", "tiny", str(tmp_path)])
    assert refused.exit_code == 2
    assert not (tmp_path / "units.csv").exists()
    forced = runner.invoke(cli, ["generate", "--preset", "tiny", "--force", str(tmp_path)])
    assert forced.exit_code == 0
    assert (tmp_path / "units.csv").exists()


# --- benchmark driver (smoke size) ------------------------------------------------------


def test_benchmark_driver_smoke(tmp_path: Path) -> None:
    measure = generate_and_validate("tiny", 1, tmp_path)
    assert measure.validation_errors == 0
    assert measure.units == 8
    assert measure.generate_seconds > 0
    assert measure.validate_seconds > 0
    assert measure.generate_peak_rss_mb > 0
    figures = measure.as_dict()
    assert figures["validate_over_generate"] == pytest.approx(
        measure.validate_seconds / measure.generate_seconds
    )
