"""The ledger: schema and URLs, and year-to-date counters equal to a direct recount.

The year's tests run on a SQLite ledger and on a PostgreSQL one (the ``backend`` fixture);
the direct recounts query the database with SQLAlchemy alone.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, create_engine, text, update
from sqlalchemy.pool import NullPool

import fluxopt.ledger.store as store
from fluxopt.cli.app import cli
from fluxopt.constraints.ruleset import load_constraint_set
from fluxopt.ledger import Ledger, ledger_url
from fluxopt.ledger.counters import holder_segment_counts, quota_counts, unit_states
from fluxopt.ledger.schema import SCHEMA_VERSION, SchemaVersion
from fluxopt.ledger.simulate import SimulationSettings
from fluxopt.ledger.store import shown_url
from fluxopt.schema.problems import FluxoptError
from fluxopt.ytd import ATTRIBUTION_COLUMNS, ORIENTATION_COLUMNS
from ledger_backends import LedgerBackend, raw_rows
from test_batch_support import Run, batch, new_run, simulate_and_import, two_month_instance

ATTRIBUTING = ("attributed", "holder_candidate")


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory, backend: LedgerBackend) -> Run:
    """Two batches with committee outcomes after each (some units refused and carried)."""
    base = tmp_path_factory.mktemp("year")
    instance = two_month_instance(base / "tiny")
    run = new_run(backend, base / "run")
    batch(instance, "2026-01", run)
    simulate_and_import(run, "2026-01", instance, SimulationSettings(0.5, 0.0, 1.0, seed=3))
    batch(instance, "2026-02", run)
    simulate_and_import(run, "2026-02", instance, SimulationSettings(0.3, 0.2, 0.5, seed=4))
    return run


def rows(run: Run, query: str) -> list[dict[str, Any]]:
    """Rows of a plain SQL query on the ledger, without fluxopt's code."""
    return raw_rows(run.ledger, query)


def test_a_new_ledger_has_its_schema_version(tmp_path: Path, backend: LedgerBackend) -> None:
    url = backend.new(tmp_path / "sub") if backend.server else str(tmp_path / "sub" / "l.db")
    with Ledger(url):
        pass
    with Ledger(url) as ledger:
        assert ledger.dump()["schema_version"][0][0] == SCHEMA_VERSION
        assert len(ledger.dump()["schema_version"]) == 1
        assert ledger.years() == []
        assert ledger.revision() == 0
        assert len(ledger.ledger_id) == 32


def test_a_ledger_from_a_newer_fluxopt_is_refused(tmp_path: Path, backend: LedgerBackend) -> None:
    url = backend.new(tmp_path)
    with Ledger(url) as ledger, ledger.engine.begin() as conn:
        conn.execute(update(SchemaVersion).values(version=SCHEMA_VERSION + 1))
    with pytest.raises(FluxoptError, match="newer than this fluxopt"):
        Ledger(url)


def test_an_older_ledger_is_upgraded_step_by_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: LedgerBackend
) -> None:
    url = backend.new(tmp_path)
    Ledger(url).close()
    steps: list[int] = []

    def step(conn: Connection) -> None:
        steps.append(SCHEMA_VERSION + 1)

    monkeypatch.setattr(store, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(store.MIGRATIONS, SCHEMA_VERSION + 1, step)
    with Ledger(url) as ledger:
        versions = [row[0] for row in ledger.dump()["schema_version"]]
    assert steps == [SCHEMA_VERSION + 1]
    assert versions == [SCHEMA_VERSION, SCHEMA_VERSION + 1]


V2_COLUMNS = ("run_id", "out_dir", "committed_at", "published_at", "stale", "undo")


def test_a_version_1_ledger_gets_the_publication_columns(
    year: Run, tmp_path: Path, backend: LedgerBackend
) -> None:
    url = backend.copy(year.ledger, tmp_path)
    engine = create_engine(url if "://" in url else f"sqlite:///{url}", poolclass=NullPool)
    with engine.begin() as conn:
        for column in V2_COLUMNS:
            conn.execute(text(f"ALTER TABLE batches DROP COLUMN {column}"))
        conn.execute(text("DROP TABLE ledger_state"))
        conn.execute(text("DROP TABLE ledger_lock"))
        conn.execute(text("DELETE FROM schema_version"))
        conn.execute(text("INSERT INTO schema_version VALUES (1, '2026-01-01T00:00:00+00:00')"))
    engine.dispose()
    with Ledger(url) as ledger:
        batches = ledger.batches(2026)
        versions = [row[0] for row in ledger.dump()["schema_version"]]
        assert ledger.half_published().empty
        assert ledger.revision() == 0
    assert versions == [1, 2]
    assert list(batches["published_at"]) == list(batches["finished_at"])
    assert list(batches["stale"]) == ["", ""]
    assert list(batches["month"]) == ["2026-01", "2026-02"]


def test_urls_and_missing_ledgers(tmp_path: Path) -> None:
    assert ledger_url(tmp_path / "a.db") == f"sqlite:///{(tmp_path / 'a.db').resolve()}"
    assert ledger_url("sqlite:///:memory:") == "sqlite:///:memory:"
    assert "secret" not in shown_url("postgresql://user:secret@host/db")
    with pytest.raises(FluxoptError, match="no ledger at"):
        Ledger(tmp_path / "missing.db", create=False)
    assert not (tmp_path / "missing.db").exists()
    with Ledger(f"sqlite:///{tmp_path / 'by-url.db'}") as ledger:
        assert ledger.years() == []
    assert (tmp_path / "by-url.db").exists()
    with pytest.raises(FluxoptError, match="cannot open the ledger"):
        Ledger("nosuchdialect://host/db")


def test_orientations_to_date_equal_a_direct_recount(year: Run) -> None:
    raw = rows(
        year,
        "SELECT o.*, b.month AS batch_month FROM orientations o "
        "JOIN batches b ON b.batch_id = o.batch_id",
    )
    latest: dict[str, dict[str, Any]] = {}
    for row in raw:
        kept = latest.get(row["unit_id"])
        if kept is None or row["batch_month"] > kept["batch_month"]:
            latest[row["unit_id"]] = row
    expected = Counter(
        (row["holder_id"], row["segment"]) for row in latest.values() if row["in_flux"]
    )
    assert len(raw) > len(latest), "the scenario must carry a unit over"
    with year.open() as ledger:
        ytd = ledger.year_to_date(2026, "2026-03")
    assert list(ytd.orientations.columns) == list(ORIENTATION_COLUMNS)
    counts = holder_segment_counts(ytd)
    found = {
        (h, s): n
        for h, s, n in counts[["holder_id", "segment", "oriented"]].itertuples(index=False)
        if n
    }
    assert found == dict(expected)
    assert sorted(ytd.orientations["month"].unique()) == ["2026-01", "2026-02"]


def test_attributions_to_date_equal_a_direct_recount(year: Run) -> None:
    raw = rows(year, "SELECT * FROM outcomes WHERE decision IN ('attributed', 'holder_candidate')")
    assert raw, "the scenario must attribute units"
    with year.open() as ledger:
        ytd = ledger.year_to_date(2026, "2026-03")
        january = ledger.year_to_date(2026, "2026-02")
    assert list(ytd.attributions.columns) == list(ATTRIBUTION_COLUMNS)
    assert len(ytd.attributions) == len(raw)
    assert len(january.attributions) == sum(row["month"] == "2026-01" for row in raw)
    expected = Counter((row["holder_id"], row["segment"]) for row in raw)
    counts = holder_segment_counts(ytd)
    found = {
        (h, s): n
        for h, s, n in counts[["holder_id", "segment", "attributed"]].itertuples(index=False)
        if n
    }
    assert found == dict(expected)
    assert ytd.attributions["q1"].dtype == bool


def test_quota_counters_equal_a_direct_recount(year: Run) -> None:
    raw = rows(year, "SELECT * FROM outcomes WHERE decision IN ('attributed', 'holder_candidate')")
    rules = {
        "lec-q1-outside-qpv": (
            "epci",
            lambda r: not r["qpv"] and r["lec_applies"],
            lambda r: r["q1"] or r["renewal_relocation"],
        ),
        "lec-non-q1-in-qpv": (
            "epci",
            lambda r: r["qpv"] and r["lec_applies"],
            lambda r: not r["q1"],
        ),
        "lec-priority-per-holder": (
            "holder_id",
            lambda r: r["holder_kind"] not in ("state", "state_agents"),
            lambda r: r["priority"] or r["dalo"],
        ),
        "mixity-fragile-q1-cap": ("residence_id", lambda r: r["fragile"], lambda r: r["q1"]),
    }
    expected: dict[tuple[str, str], tuple[float, float]] = {}
    for name, (key, scope, share) in rules.items():
        for row in raw:
            if scope(row):
                n, d = expected.get((name, row[key]), (0.0, 0.0))
                expected[(name, row[key])] = (n + bool(share(row)), d + 1)
    with year.open() as ledger:
        ytd = ledger.year_to_date(2026, "2026-03")
    table = quota_counts(ytd, load_constraint_set("lec-default"))
    found = {
        (r, g): (n, d)
        for r, g, n, d in table[["rule", "group", "numerator", "denominator"]].itertuples(
            index=False
        )
    }
    assert found == expected
    assert (table["ratio"] == table["numerator"] / table["denominator"]).all()


def test_unit_states_follow_the_latest_batch(year: Run) -> None:
    with year.open() as ledger:
        states = unit_states(ledger, 2026).set_index("unit_id")
    decided = rows(
        year,
        "SELECT o.batch_id, o.unit_id, o.decision FROM outcomes o",
    )
    final: dict[str, set[str]] = {}
    months: dict[str, str] = {}
    for row in decided:
        if row["batch_id"] >= months.get(row["unit_id"], ""):
            if row["batch_id"] > months.get(row["unit_id"], ""):
                final[row["unit_id"]] = set()
            months[row["unit_id"]] = row["batch_id"]
            final[row["unit_id"]].add(row["decision"])
    for unit, decisions in final.items():
        state = "attributed" if decisions & set(ATTRIBUTING) else "returned"
        assert states.loc[unit, "state"] == state, unit
        assert states.loc[unit, "batch_month"] == months[unit]
    assert (states["batches"] >= 1).all()
    assert (states.loc[states["carried_over"], "batches"] >= 2).all()


def test_ledger_info_lists_the_batches(year: Run) -> None:
    result = CliRunner().invoke(cli, ["ledger", "info", "--ledger", year.ledger])
    assert result.exit_code == 0, result.output
    assert "2026-01" in result.output
    assert "2026-02" in result.output
    assert "attributed" in result.output
