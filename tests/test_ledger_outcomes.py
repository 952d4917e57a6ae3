"""Importing the committee's outcomes: all or nothing, with every problem listed.

Every test runs on a SQLite ledger and on a PostgreSQL one (the ``backend`` fixture).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from fluxopt.cli.app import cli
from fluxopt.instance import load_instance
from fluxopt.ledger.outcomes import import_outcomes
from fluxopt.ledger.schema import OrientationRow, OutcomeRow, ShortlistRow
from fluxopt.schema.problems import InvalidInputError
from ledger_backends import LedgerBackend
from test_batch_support import (
    January,
    Run,
    copy_backend_run,
    write_outcomes,
)


@pytest.fixture(scope="module")
def january(two_month_january: January) -> January:
    """January recorded on the tiny instance (shared: tests work on copies)."""
    return two_month_january


@pytest.fixture
def run(january: January, tmp_path: Path, backend: LedgerBackend) -> Run:
    return copy_backend_run(january[1], tmp_path / "run", backend)


def listed(run: Run) -> pd.DataFrame:
    with run.open() as ledger:
        return ledger.frame(ShortlistRow)


def first_ranked(run: Run) -> list[tuple[str, str]]:
    table = listed(run)
    firsts = table[table["rank"] == 1]
    return list(zip(firsts["unit_id"], firsts["applicant_id"], strict=True))


def test_a_file_with_bad_rows_is_rejected_whole(january: January, run: Run) -> None:
    (unit, applicant), (other_unit, _) = first_ranked(run)[:2]
    table = listed(run)
    elsewhere = table.loc[table["unit_id"] != other_unit, "applicant_id"].iloc[-1]
    path = write_outcomes(
        run.root / "bad.csv",
        [
            {"unit_id": unit, "decision": "attributed", "applicant_id": applicant},
            {"unit_id": "U-NOPE", "decision": "refused", "applicant_id": ""},
            {"unit_id": other_unit, "decision": "attributed", "applicant_id": "A-NOPE"},
            {"unit_id": other_unit, "decision": "accepted maybe", "applicant_id": ""},
            {"unit_id": other_unit, "decision": "holder_candidate", "applicant_id": ""},
            {"unit_id": other_unit, "decision": "attributed", "applicant_id": applicant},
            {"unit_id": other_unit, "decision": "refused", "applicant_id": elsewhere},
        ],
    )
    with run.open() as ledger:
        before = ledger.dump()
        with pytest.raises(InvalidInputError) as caught:
            import_outcomes(path, ledger, january[0])
        after = ledger.dump()
    assert after == before
    text = str(caught.value)
    assert "unit U-NOPE is in no batch of the ledger" in text
    assert "unknown applicant A-NOPE" in text
    assert "unknown decision 'accepted maybe'" in text
    assert "an attribution needs the applicant" in text
    assert f"applicant {applicant} is attributed two units" in text
    assert f"unit {other_unit} is attributed twice in the file" in text
    assert f"applicant {elsewhere} is not on this unit's shortlist" in text
    rows = {p.row for p in caught.value.errors}
    assert rows == {2, 3, 4, 5, 6, 7}


def test_missing_and_unknown_columns_are_reported(run: Run) -> None:
    path = run.root / "bad.csv"
    pd.DataFrame({"unit": ["x"], "outcome": ["refused"]}).to_csv(path, index=False)
    with run.open() as ledger, pytest.raises(InvalidInputError) as caught:
        import_outcomes(path, ledger)
    columns = {p.column for p in caught.value.errors}
    assert columns == {"unit_id", "decision", "unit", "outcome"}


def test_a_good_file_is_recorded_once_even_if_imported_twice(january: January, run: Run) -> None:
    (unit, applicant), (other_unit, refuser) = first_ranked(run)[:2]
    path = write_outcomes(
        run.root / "good.csv",
        [
            {
                "unit_id": unit,
                "decision": "Attributed",
                "applicant_id": applicant,
                "decided_on": "2026-01-29",
            },
            {"unit_id": other_unit, "decision": "refused", "applicant_id": refuser},
            {"unit_id": other_unit, "decision": "no attribution", "applicant_id": ""},
        ],
    )
    with run.open() as ledger:
        first = import_outcomes(path, ledger, january[0])
        second = import_outcomes(path, ledger, january[0])
        outcomes = ledger.frame(OutcomeRow)
        units = ledger.frame(OrientationRow).set_index("unit_id")
        imports = ledger.dump()["outcome_imports"]
    assert first.decisions == {"attributed": 1, "refused": 1, "no_attribution": 1}
    assert (first.units_attributed, first.units_returned) == (1, 1)
    assert second.rows == 3
    assert len(outcomes) == 3
    assert len(imports) == 1
    won = outcomes[outcomes["decision"] == "attributed"].iloc[0]
    assert won["rank"] == 1
    assert won["decided_on"] == "2026-01-29"
    assert won["holder_id"] == units.loc[unit, "holder_id"]
    assert won["epci"] == units.loc[unit, "epci"]


def test_a_holders_own_candidate_takes_its_flags_from_the_instance(
    january: January, run: Run
) -> None:
    instance = load_instance(january[0])
    on_lists = set(listed(run)["applicant_id"])
    people = instance.applicants
    own = people[~people["applicant_id"].isin(on_lists)].iloc[0]
    with run.open() as ledger:
        unit = ledger.frame(OrientationRow).iloc[0]
        path = write_outcomes(
            run.root / "own.csv",
            [
                {
                    "unit_id": unit["unit_id"],
                    "decision": "holder_candidate",
                    "applicant_id": own["applicant_id"],
                }
            ],
        )
        import_outcomes(path, ledger)
        recorded = ledger.frame(OutcomeRow).iloc[0]
        ytd = ledger.year_to_date(2026, "2026-02")
    threshold = instance.thresholds.set_index("epci").loc[unit["epci"], "q1_threshold"]
    assert recorded["q1"] == bool(own["income_per_uc"] <= threshold)
    for flag in ("priority", "dalo", "is_transfer", "employer_action_logement", "state_agent"):
        assert recorded[flag] == bool(own[flag]), flag
    assert list(ytd.attributions["applicant_id"]) == [own["applicant_id"]]


def test_holder_candidates_need_a_known_applicant_and_the_instance(
    january: January, run: Run, tmp_path: Path
) -> None:
    unit = first_ranked(run)[0][0]
    unknown = write_outcomes(
        run.root / "unknown.csv",
        [{"unit_id": unit, "decision": "holder_candidate", "applicant_id": "A-NOPE"}],
    )
    with run.open() as ledger:
        with pytest.raises(InvalidInputError, match="unknown applicant A-NOPE"):
            import_outcomes(unknown, ledger, january[0])
        with pytest.raises(InvalidInputError, match="pass --instance"):
            import_outcomes(unknown, ledger, tmp_path / "gone")


def test_an_applicant_housed_earlier_cannot_be_attributed_again(january: January, run: Run) -> None:
    (unit, applicant), (other_unit, _) = first_ranked(run)[:2]
    with run.open() as ledger:
        import_outcomes(
            write_outcomes(
                run.root / "one.csv",
                [{"unit_id": unit, "decision": "attributed", "applicant_id": applicant}],
            ),
            ledger,
        )
        again = write_outcomes(
            run.root / "two.csv",
            [{"unit_id": other_unit, "decision": "holder_candidate", "applicant_id": applicant}],
        )
        with pytest.raises(InvalidInputError, match="already attributed a unit"):
            import_outcomes(again, ledger, january[0])


def test_xlsx_outcome_files_are_read(run: Run) -> None:
    unit, applicant = first_ranked(run)[0]
    path = run.root / "outcomes.xlsx"
    pd.DataFrame(
        {"unit_id": [unit], "decision": ["attributed"], "applicant_id": [applicant]}
    ).to_excel(path, index=False)
    with run.open() as ledger:
        result = import_outcomes(path, ledger)
    assert result.units_attributed == 1


def test_cli_lists_the_problems_and_writes_nothing(run: Run) -> None:
    path = write_outcomes(
        run.root / "bad.csv", [{"unit_id": "U-NOPE", "decision": "refused", "applicant_id": ""}]
    )
    result = CliRunner().invoke(cli, ["outcomes", "import", str(path), "--ledger", run.ledger])
    assert result.exit_code == 2
    assert "U-NOPE" in result.output
    with run.open() as ledger:
        assert ledger.dump()["outcomes"] == []
    missing = CliRunner().invoke(
        cli, ["outcomes", "import", str(path), "--ledger", str(run.root / "none.db")]
    )
    assert missing.exit_code == 2
    assert "no ledger at" in missing.output


def test_a_later_file_that_changes_an_attribution_needs_replace(run: Run) -> None:
    (unit, applicant), (other_unit, other_applicant) = first_ranked(run)[:2]
    table = listed(run)
    second = table[(table["unit_id"] == unit) & (table["rank"] == 2)]
    rival = str(second["applicant_id"].iloc[0]) if not second.empty else other_applicant
    first = write_outcomes(
        run.root / "january.csv",
        [{"unit_id": unit, "decision": "attributed", "applicant_id": applicant}],
    )
    later = write_outcomes(
        run.root / "february.csv",
        [
            {"unit_id": unit, "decision": "attributed", "applicant_id": applicant},
            {"unit_id": other_unit, "decision": "no_attribution", "applicant_id": ""},
        ],
    )
    changing = write_outcomes(
        run.root / "march.csv",
        [
            {"unit_id": other_unit, "decision": "refused", "applicant_id": other_applicant},
            {"unit_id": unit, "decision": "refused", "applicant_id": applicant},
            {"unit_id": unit, "decision": "attributed", "applicant_id": rival},
        ],
    )
    with run.open() as ledger:
        import_outcomes(first, ledger)
        again = import_outcomes(later, ledger)
        assert again.rows == 2
    args = ["outcomes", "import", str(changing), "--ledger", run.ledger]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 4, result.output
    assert again.set_aside == []
    assert "2 row(s) set aside" in result.stderr
    assert f"row 2 ({unit}), column unit_id: unit {unit} is already attributed" in result.stderr
    assert f"to applicant {applicant} in the batch of 2026-01 (file february.csv)" in result.stderr
    assert "row 3" in result.stderr
    assert "pass --replace" in result.stderr
    with run.open() as ledger:
        outcomes = ledger.frame(OutcomeRow)
    kept = outcomes[outcomes["unit_id"] == unit]
    assert list(zip(kept["decision"], kept["applicant_id"], strict=True)) == [
        ("attributed", applicant)
    ]
    other = outcomes[outcomes["unit_id"] == other_unit]
    assert list(other["decision"]) == ["refused"]
    replaced = CliRunner().invoke(cli, [*args, "--replace"])
    assert replaced.exit_code == 0, replaced.output
    with run.open() as ledger:
        outcomes = ledger.frame(OutcomeRow)
    now = outcomes[outcomes["unit_id"] == unit].sort_values("decision")
    assert list(zip(now["decision"], now["applicant_id"], strict=True)) == [
        ("attributed", rival),
        ("refused", applicant),
    ]
