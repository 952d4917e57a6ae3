"""Instances: loading, saving, lossless round trips between formats, derived columns."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import rewrite_table
from fluxopt.derive import derive_applicants
from fluxopt.instance import Instance, TableFormat, instance_from_tables, load_instance
from fluxopt.schema.coerce import read_raw
from fluxopt.schema.declaration import schema
from fluxopt.schema.problems import InvalidInputError


@pytest.fixture
def rich_instance_dir(hand_instance_dir: Path) -> Path:
    """The hand instance plus an undeclared column with empty cells (a warning, kept)."""

    def add_note(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(note=["ground floor", "", "to repaint", "", "", "007"])

    rewrite_table(hand_instance_dir, "units", add_note)
    return hand_instance_dir


def assert_same_tables(left: Instance, right: Instance) -> None:
    assert list(left.tables) == list(right.tables)
    for name in left.tables:
        pd.testing.assert_frame_equal(left.tables[name], right.tables[name], obj=name)


def assert_same_config(left: Instance, right: Instance) -> None:
    assert left.config.model_copy(update={"tables": {}}) == right.config.model_copy(
        update={"tables": {}}
    )


def test_tables_have_the_declared_types(hand_instance_dir: Path) -> None:
    instance = load_instance(hand_instance_dir)
    units, applicants, history = instance.units, instance.tables["applicants"], instance.history
    assert units["available_on"].dtype == "datetime64[s]"
    assert units["rooms"].dtype == "int64"
    assert units["rent"].dtype == "float64"
    assert str(instance.tables["units"]["qpv"].dtype) == "boolean"  # optional, no default
    assert instance.tables["units"]["commune"].isna().sum() == 5  # taken from the residence
    assert instance.tables["units"]["charges"].tolist()[2] == 0.0  # default of an empty cell
    assert str(applicants["wished_rooms"].dtype) == "Int64"
    assert applicants["wished_rooms"].isna().sum() == 1
    assert str(history["q1"].dtype) == "boolean"
    assert history["q1"].isna().sum() == 2
    assert instance.tables["conventions"]["method"].tolist() == [
        "negotiated",
        "stock_share",
        "negotiated",
    ]


def test_round_trip_csv_parquet_xlsx_csv(rich_instance_dir: Path, tmp_path: Path) -> None:
    original = load_instance(rich_instance_dir)
    assert [w.column for w in original.warnings] == ["note"]
    assert original.tables["units"]["note"].isna().sum() == 3
    current = original
    for fmt in ("parquet", "xlsx", "csv"):
        folder = current.save(tmp_path / fmt, fmt)
        assert (
            sorted(p.suffix for p in folder.glob("*.*") if p.name != "instance.yaml")
            == [f".{fmt}"] * 8
        )
        current = load_instance(folder)
        assert_same_tables(original, current)
        assert_same_config(original, current)
    assert current.tables["units"]["note"].tolist()[-1] == "007"


def test_mixed_formats_in_one_folder(rich_instance_dir: Path, tmp_path: Path) -> None:
    original = load_instance(rich_instance_dir)
    formats: dict[str, TableFormat] = {"units": "parquet", "applicants": "xlsx"}
    folder = original.save(tmp_path / "mixed", formats)
    assert (folder / "units.parquet").exists()
    assert (folder / "applicants.xlsx").exists()
    assert (folder / "holders.csv").exists()
    config = yaml.safe_load((folder / "instance.yaml").read_text(encoding="utf-8"))
    assert config["tables"]["units"] == "units.parquet"
    assert config["tables"]["applicants"] == "applicants.xlsx"
    assert_same_tables(original, load_instance(folder))


def test_save_replaces_a_table_written_in_another_format(
    hand_instance_dir: Path, tmp_path: Path
) -> None:
    instance = load_instance(hand_instance_dir)
    folder = instance.save(tmp_path / "out", "csv")
    (folder / "units.old.csv").write_text("kept", encoding="utf-8")
    instance.save(folder, {"units": "parquet"})
    assert not (folder / "units.csv").exists()
    assert (folder / "units.parquet").exists()
    assert (folder / "units.old.csv").read_text(encoding="utf-8") == "kept"
    assert_same_tables(instance, load_instance(folder))


def test_tables_may_live_in_a_subfolder(hand_instance_dir: Path) -> None:
    data = hand_instance_dir / "data"
    data.mkdir()
    (hand_instance_dir / "applicants.csv").rename(data / "demandes.csv")
    with (hand_instance_dir / "instance.yaml").open("a", encoding="utf-8") as handle:
        handle.write("tables:\n  applicants: data/demandes.csv\n")
    assert len(load_instance(hand_instance_dir).applicants) == 10


def test_an_empty_history_is_optional(hand_instance_dir: Path, tmp_path: Path) -> None:
    (hand_instance_dir / "history.csv").unlink()
    instance = load_instance(hand_instance_dir)
    assert instance.history.empty
    assert list(instance.history.columns) == list(schema()["history"].columns)
    folder = instance.save(tmp_path / "out")
    assert not (folder / "history.csv").exists()
    assert load_instance(folder).history.empty


def test_derived_columns_are_never_written(hand_instance_dir: Path, tmp_path: Path) -> None:
    instance = load_instance(hand_instance_dir)
    assert "q1" in instance.applicants.columns  # computed on demand
    for fmt in ("csv", "parquet", "xlsx"):
        folder = instance.save(tmp_path / fmt, fmt)
        for name, spec in schema().items():
            path = folder / f"{name}.{fmt}"
            if not path.exists():
                continue
            written = set(read_raw(path).columns)
            assert not written & set(spec.derived), (fmt, name)
            assert written == set(instance.tables[name].columns), (fmt, name)


def test_derived_columns_in_an_input_file_are_recomputed(hand_instance_dir: Path) -> None:
    def add_bogus(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(q1="true", wait_months="99", consumption_units="7")

    rewrite_table(hand_instance_dir, "applicants", add_bogus)
    rewrite_table(hand_instance_dir, "units", lambda frame: frame.assign(segment="x|y|z"))
    instance = load_instance(hand_instance_dir)
    ignored = sorted((w.table, w.column) for w in instance.warnings)
    assert ignored == [
        ("applicants", "consumption_units"),
        ("applicants", "q1"),
        ("applicants", "wait_months"),
        ("units", "segment"),
    ]
    assert all(w.message == "derived column ignored; it is computed" for w in instance.warnings)
    assert all(w.severity == "warning" and w.hint for w in instance.warnings)
    clean = derive_applicants(
        instance.tables["applicants"],
        instance.residences,
        instance.thresholds,
        instance.config.wait_reference,
    )
    pd.testing.assert_frame_equal(instance.applicants, clean)
    assert instance.applicants["consumption_units"].tolist()[0] == 1.0
    assert "x|y|z" not in set(instance.units["segment"])


def test_instance_from_tables_equals_the_loaded_one(hand_instance_dir: Path) -> None:
    loaded = load_instance(hand_instance_dir)
    rebuilt = instance_from_tables(loaded.config, loaded.tables)
    assert_same_tables(loaded, rebuilt)
    assert rebuilt.warnings == []


def test_instance_from_tables_reports_a_missing_table(hand_instance_dir: Path) -> None:
    loaded = load_instance(hand_instance_dir)
    tables = {k: v for k, v in loaded.tables.items() if k != "holders"}
    with pytest.raises(InvalidInputError) as info:
        instance_from_tables(loaded.config, tables)
    assert [(p.table, p.message) for p in info.value.errors] == [("holders", "table is missing")]


def test_with_tables_validates_again(hand_instance_dir: Path) -> None:
    instance = load_instance(hand_instance_dir)
    units = instance.tables["units"].copy()
    units.loc[1, "rent"] = -1.0
    with pytest.raises(InvalidInputError) as info:
        instance.with_tables(units=units)
    [problem] = info.value.errors
    assert (problem.table, problem.row, problem.column) == ("units", 2, "rent")
    fewer = instance.with_tables(applicants=instance.tables["applicants"].iloc[:4])
    assert len(fewer.applicants) == 4
    assert len(instance.applicants) == 10


def test_summary(hand_instance_dir: Path) -> None:
    summary = load_instance(hand_instance_dir).summary()
    assert summary["units"] == 6
    assert summary["units_in_flux"] == 4
    assert summary["units_in_qpv_share"] == pytest.approx(2 / 6)
    assert summary["fragile_residences"] == 1
    assert summary["epcis"] == 2
    assert summary["applicants"] == 10
    assert summary["q1_share"] == pytest.approx(2 / 10)
    assert summary["dalo_share"] == pytest.approx(2 / 10)
    assert summary["history_events"] == 4
    assert summary["territory"] == "Doubs"
