"""French CSV exports are read, paths from data stay in their folder, notices never collide,
and conventions that grant nothing give a warning."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import HAND_TABLES
from fluxopt.cli.app import cli
from fluxopt.instance import load_instance, validate_path
from fluxopt.report.notices import write_notices
from fluxopt.scenarios.spec import load_sweep
from fluxopt.schema.problems import InvalidInputError

FLOATS = {"units": ("surface_m2", "rent", "charges"), "applicants": ("annual_income",)}


def french_export(source: Path, target: Path, encoding: str) -> Path:
    """The instance as a spreadsheet in France exports it: ';', decimal commas, cp1252."""
    target.mkdir()
    (target / "instance.yaml").write_text(
        (source / "instance.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    for name in HAND_TABLES:
        frame = pd.read_csv(source / f"{name}.csv", dtype=str, keep_default_na=False)
        for column in FLOATS.get(name, ()):
            frame[column] = frame[column].str.replace(".", ",", regex=False)
        if name == "applicants":
            big = frame["annual_income"] != ""
            frame.loc[big, "annual_income"] = [
                f"{float(v.replace(',', '.')):,.2f}".replace(",", "\u00a0").replace(".", ",")
                for v in frame.loc[big, "annual_income"]
            ]
        text = frame.to_csv(index=False, sep=";", lineterminator="\r\n")
        (target / f"{name}.csv").write_bytes(text.encode(encoding))
    return target


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_semicolon_cp1252_export_reads_equal_to_the_utf8_file(
    hand_instance_dir: Path, tmp_path: Path, encoding: str
) -> None:
    original = load_instance(hand_instance_dir)
    export = french_export(hand_instance_dir, tmp_path / "export", encoding)
    assert "Besançon".encode(encoding) in (export / "residences.csv").read_bytes()
    assert b";" in (export / "units.csv").read_bytes()
    again = load_instance(export)
    for name in HAND_TABLES:
        pd.testing.assert_frame_equal(again.tables[name], original.tables[name])
    assert set(again.residences["commune"]) == {"Besançon", "Montbéliard"}
    detected = [w for w in again.warnings if "(detected)" in w.message]
    assert {w.table for w in detected} == set(HAND_TABLES)
    assert all("semicolon (;) separated" in w.message for w in detected)
    by_table = {w.table: w.message for w in detected}
    assert "residences.csv was read as Windows-1252 (cp1252) text" in by_table["residences"]
    assert "ceilings.csv was read as UTF-8 text" in by_table["ceilings"]  # ASCII only
    result = CliRunner().invoke(cli, ["validate", str(export)])
    assert result.exit_code == 0, result.output
    assert "semicolon (;) separated" in result.output


def test_a_utf8_comma_file_gives_no_dialect_warning(hand_instance_dir: Path) -> None:
    instance = load_instance(hand_instance_dir)
    assert not [w for w in instance.warnings if "(detected)" in w.message]


def test_conventions_that_grant_nothing_give_a_warning(hand_instance_dir: Path) -> None:
    path = hand_instance_dir / "conventions.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["share"] = frame["share"].where(frame["share"] == "", "0")
    frame["annual_volume"] = frame["annual_volume"].where(frame["annual_volume"] == "", "0")
    frame.to_csv(path, index=False)
    warnings = [p for p in validate_path(hand_instance_dir) if "grants nothing" in p.message]
    assert len(warnings) == 1
    assert warnings[0].severity == "warning"
    assert warnings[0].table == "conventions"
    frame.loc[0, "share"] = "0.1"
    frame.to_csv(path, index=False)
    assert not [p for p in validate_path(hand_instance_dir) if "grants nothing" in p.message]


def config_with(folder: Path, **changes: str) -> None:
    path = folder / "instance.yaml"
    lines = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.split(":", 1)[0] not in changes
    ]
    lines += [f"{key}: {value}" for key, value in changes.items() if key != "tables"]
    if "tables" in changes:
        lines += ["tables:", f"  units: {changes['tables']}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize(
    ("changes", "key", "phrase"),
    [
        ({"name": "'../../evil'"}, "name", "path separator"),
        ({"name": "'..'"}, "name", "is not a name"),
        ({"tables": "../units.csv"}, "tables", "leaves its folder"),
        ({"tables": "/etc/units.csv"}, "tables", "absolute path"),
        ({"grid": "../grids/g.yaml"}, "grid", "leaves its folder"),
        ({"constraints": "/tmp/c.yaml"}, "constraints", "absolute path"),
    ],
)
def test_paths_from_instance_yaml_stay_in_the_folder(
    hand_instance_dir: Path, changes: dict[str, str], key: str, phrase: str
) -> None:
    config_with(hand_instance_dir, **changes)
    with pytest.raises(InvalidInputError) as caught:
        load_instance(hand_instance_dir)
    located = [p for p in caught.value.errors if p.table == "instance.yaml" and p.key == key]
    assert located, str(caught.value)
    assert phrase in located[0].message


def test_a_table_linked_out_of_the_folder_is_refused(
    hand_instance_dir: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (hand_instance_dir / "units.csv").rename(outside / "units.csv")
    (hand_instance_dir / "linked.csv").symlink_to(outside / "units.csv")
    config_with(hand_instance_dir, tables="linked.csv")
    with pytest.raises(InvalidInputError) as caught:
        load_instance(hand_instance_dir)
    located = [p for p in caught.value.errors if p.key == "tables.units"]
    assert located, str(caught.value)
    assert "leads outside the instance folder" in located[0].message
    config_with(hand_instance_dir, tables="units.csv")
    (hand_instance_dir / "units.csv").symlink_to(outside / "units.csv")
    with pytest.raises(InvalidInputError, match=r"units\.csv leads outside the instance folder"):
        load_instance(hand_instance_dir)


def test_paths_from_sweep_files_stay_in_their_folder(tmp_path: Path) -> None:
    sweep = tmp_path / "s.yaml"
    sweep.write_text("name: ../../x\nscenarios:\n  - {name: a}\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="path separator"):
        load_sweep(sweep)
    sweep.write_text(
        "scenarios:\n  - {name: a, grid: /etc/g.yaml}\n  - {name: b, constraints: ../c.yaml}\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidInputError) as caught:
        load_sweep(sweep)
    keys = {(p.key, p.message.split(":")[0]) for p in caught.value.errors}
    assert keys == {("scenarios[0]", "grid"), ("scenarios[1]", "constraints")}


def notice_frames(holders: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One unit per holder, with every column a notice reads."""
    units = pd.DataFrame(
        {
            "unit_id": [f"U{i}" for i in range(len(holders))],
            "holder_id": holders,
            "holder_name": [f"Holder {h}" for h in holders],
            "holder_mode": "delegated",
            "residence_id": "R1",
            "residence_name": "Les Tilleuls",
            "commune": "Besançon",
            "epci": "200067106",
            "qpv": False,
            "rooms": 3,
            "financing": "PLUS",
            "surface_m2": 60.0,
            "rent": 400.0,
            "charges": 50.0,
            "available_on": "2026-01-05",
            "channel": "flux",
            "deadline": "2026-02-04",
            "carried_over": False,
        }
    )
    candidates = pd.DataFrame({"unit_id": ["U0"], "rank": [1], "applicant_id": ["A1"]})
    return units, candidates


def test_holders_whose_ids_give_one_file_name_keep_their_own_notices(tmp_path: Path) -> None:
    from fluxopt.report.notices import notice_stems

    holders = ["STATE AGENTS", "STATE_AGENTS", "State", "STATE", "index", "CON", "AL"]
    units, candidates = notice_frames(holders)
    folder = tmp_path / "notices"
    write_notices(folder, units, candidates, "2026-01")
    stems = notice_stems(holders)
    assert len({s.lower() for s in stems.values()}) == len(holders)
    assert stems["AL"] == "AL"
    assert stems["STATE_AGENTS"].startswith("STATE_AGENTS-")
    assert stems == notice_stems(list(reversed(holders)))  # the same names on every run
    csvs = sorted(p for p in folder.glob("*.csv") if p.name != "index.csv")
    assert len(csvs) == len(holders)
    assert len({p.name.lower() for p in csvs}) == len(holders)
    units_seen = sorted(pd.read_csv(p, dtype=str)["Unit"].iloc[0] for p in csvs)
    assert units_seen == sorted(units["unit_id"])
    index = pd.read_csv(folder / "index.csv", dtype=str, keep_default_na=False)
    assert sorted(index["holder_id"]) == sorted(holders)
    renamed = index[index["note"] != ""]
    assert set(renamed["holder_id"]) == set(holders) - {"AL"}
    for row in index.itertuples():
        assert (folder / row.csv).exists()
        assert (folder / row.xlsx).exists()
