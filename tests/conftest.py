"""Shared fixtures: a small valid hand-made instance folder and a helper to rewrite a table.

The instance has 2 EPCI, 3 residences (one in a QPV and flagged fragile), 6 units, 4 holders
(one of them the landlord itself, with no convention), conventions on a department, an EPCI
and a commune, 10 applicants, both first-quartile thresholds, the PLAI/PLUS/PLS ceilings of
categories 1..6 and a few history events. Every table is CSV.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import settings

from ledger_backends import LedgerBackend, PostgresServer, find_postgres
from test_batch_support import January, batch, new_run, three_month_instance, two_month_instance

# Property tests draw the same examples on every run, so that the suite (and CI) is
# reproducible; a failure found once is found again.
settings.register_profile("fluxopt", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("fluxopt")

BESANCON_EPCI = "200067106"
MONTBELIARD_EPCI = "242504496"

HAND_CONFIG = """\
name: hand
description: Small hand-made instance for the tests.
territory:
  department: "25"
  name: Doubs
landlord: Habitat Test
year: 2026
months: ["2026-01"]
reference_date: 2026-01-01
"""

HAND_TABLES: dict[str, str] = {
    "thresholds": f"""\
epci,epci_name,q1_threshold,lec_applies
{BESANCON_EPCI},Grand Besançon Métropole,9000,true
{MONTBELIARD_EPCI},Pays de Montbéliard Agglomération,8500,true
""",
    "residences": f"""\
residence_id,name,commune,epci,qpv,stock_units,fragile,cap_q1_share,cap_priority_share
R1,Les Tilleuls,Besançon,{BESANCON_EPCI},false,40,false,,
R2,Planoise,Besançon,{BESANCON_EPCI},true,120,true,0.3,
R3,Le Parc,Montbéliard,{MONTBELIARD_EPCI},false,60,false,,0.5
""",
    "units": f"""\
unit_id,residence_id,commune,epci,qpv,rooms,surface_m2,rent,charges,financing,floor,elevator,accessible,built_year,available_on,new_build,flux_status
U1,R1,,,,2,48.5,320.4,45,PLUS,1,true,false,1985,2026-01-05,false,flux
U2,R1,Besançon,{BESANCON_EPCI},false,3,66,410,60,PLAI,0,false,true,1985,2026-01-12,false,flux
U3,R2,,,,4,81.2,455.1,,PLUS,3,true,false,1968,2026-01-20,false,excluded:mutation
U4,R2,,,,1,30,250,30,PLAI,5,true,false,1968,2026-01-08,false,stock:STATE
U5,R3,,,,3,70,430,55,PLS,2,false,false,2015,2026-01-15,true,flux
U6,R3,,,,5,102,560,80,PLUS,0,false,true,2015,2026-01-28,false,flux
""",
    "holders": """\
holder_id,kind,name,mode
STATE,state,Préfet du Doubs,delegated
AL,action_logement,Action Logement Services,direct
MONT,commune,Ville de Montbéliard,direct
LANDLORD,landlord,Habitat Test,delegated
""",
    "conventions": f"""\
convention_id,holder_id,perimeter_kind,perimeter_id,share,annual_volume,tolerance,method,deadline_days
C1,STATE,department,25,0.3,,1,negotiated,30
C2,AL,epci,{BESANCON_EPCI},0.2,,1.5,stock_share,30
C3,MONT,commune,Montbéliard,,2,,,15
""",
    "applicants": """\
applicant_id,household_size,adults,children,annual_income,filed_on,expires_on,is_transfer,current_landlord,dalo,priority,renewal_relocation,wished_communes,wished_rooms,max_rent,needs_access,employer_action_logement,state_agent,disability,rooms_now,housing_cost_now
A01,1,1,0,9500,2025-03-10,,false,,false,false,false,Besançon,2,400,false,true,false,false,1,350
A02,3,1,2,14000,2024-06-01,2026-06-01,false,,true,true,false,Besançon;Montbéliard,3,,false,false,false,false,2,500
A03,4,2,2,31000,2023-11-15,,true,Habitat25,false,false,false,Montbéliard,4,650,false,true,false,false,3,600
A04,2,2,0,21000,2025-09-30,,false,,false,true,false,Besançon,,500,true,false,false,true,2,450
A05,5,2,3,26000,2022-01-20,,false,,false,false,true,Besançon,5,,false,false,false,false,3,700
A06,1,1,0,18000,2025-12-01,,true,Néolia,false,false,false,Montbéliard;Besançon,1,350,false,false,true,false,1,300
A07,2,1,1,12000,2025-05-05,,false,,false,true,false,Besançon,2,420,false,false,false,false,0,
A08,6,2,4,33000,2024-02-29,,false,,false,false,false,Montbéliard,5,700,false,true,false,true,3,650
A09,3,2,1,40000,2025-07-14,,false,,false,false,false,Besançon,3,,false,true,false,false,3,500
A10,2,2,0,8000,2025-11-11,,false,,true,true,false,Montbéliard,2,380,false,false,false,false,,
""",
    "ceilings": """\
financing,category,ceiling,per_extra_person
PLAI,1,11531,
PLAI,2,16800,
PLAI,3,20203,
PLAI,4,22479,
PLAI,5,26300,
PLAI,6,29641,3306
PLUS,1,20966,
PLUS,2,27998,
PLUS,3,33670,
PLUS,4,40648,
PLUS,5,47818,
PLUS,6,53891,6011
PLS,1,27256,
PLS,2,36397,
PLS,3,43771,
PLS,4,52842,
PLS,5,62163,
PLS,6,70058,7814
""",
    "history": f"""\
event_id,event,date,residence_id,epci,commune,rooms,financing,qpv,contingent,q1,priority,wait_months
H1,vacancy,2025-03-02,R1,{BESANCON_EPCI},Besançon,3,PLUS,false,STATE,,,
H2,attribution,2025-04-10,R1,{BESANCON_EPCI},Besançon,3,PLUS,false,STATE,true,true,7.5
H3,vacancy,2025-06-01,R3,{MONTBELIARD_EPCI},Montbéliard,2,PLS,false,landlord,,,
H4,attribution,2025-07-15,R3,{MONTBELIARD_EPCI},Montbéliard,2,PLS,false,landlord,false,false,3
""",
}


def write_hand_instance(folder: Path) -> Path:
    """Write the hand-made instance (``instance.yaml`` and CSV tables) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "instance.yaml").write_text(HAND_CONFIG, encoding="utf-8")
    for name, text in HAND_TABLES.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def hand_instance_dir(tmp_path: Path) -> Path:
    """A small valid instance folder (CSV tables); returns its path."""
    return write_hand_instance(tmp_path / "hand")


def read_table_text(folder: Path, table: str) -> pd.DataFrame:
    """One CSV table of an instance folder with every cell as text (empty cells as '')."""
    return pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)


def rewrite_table(
    folder: Path, table: str, edit: Callable[[pd.DataFrame], pd.DataFrame | None] | str
) -> Path:
    """Rewrite ``<table>.csv`` of ``folder``.

    ``edit`` is either the new file's text, or a function that receives the table with every
    cell as text and returns the new table (or edits it in place and returns ``None``).
    """
    path = folder / f"{table}.csv"
    if isinstance(edit, str):
        path.write_text(edit, encoding="utf-8")
        return path
    frame = read_table_text(folder, table)
    edited = edit(frame)
    (frame if edited is None else edited).to_csv(path, index=False, lineterminator="\n")
    return path


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server on loopback for the session (skipped where no server binary exists)."""
    bin_dir = find_postgres()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries (pg_ctl, initdb) in PATH or /usr/lib/postgresql")
    server = PostgresServer(bin_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> LedgerBackend:
    """Each ledger test runs on a SQLite file and on a PostgreSQL database."""
    if request.param == "postgresql":
        return LedgerBackend("postgresql", request.getfixturevalue("postgres"))
    return LedgerBackend("sqlite")


_JANUARIES: dict[tuple[str, str], January] = {}


def _january(kind: str, backend: LedgerBackend, factory: pytest.TempPathFactory) -> January:
    """January solved once per session, instance kind and backend (tests work on copies)."""
    key = (kind, backend.name)
    if key not in _JANUARIES:
        base = factory.mktemp(f"january-{kind}-{backend.name}")
        make = two_month_instance if kind == "two-month" else three_month_instance
        instance = make(base / "tiny")
        run = new_run(backend, base / "run")
        _JANUARIES[key] = (instance, run, batch(instance, "2026-01", run))
    return _JANUARIES[key]


@pytest.fixture(scope="session")
def two_month_january(backend: LedgerBackend, tmp_path_factory: pytest.TempPathFactory) -> January:
    """The two-month tiny instance with January recorded (not to be changed: copy the run)."""
    return _january("two-month", backend, tmp_path_factory)


@pytest.fixture(scope="session")
def two_month_january_sqlite(tmp_path_factory: pytest.TempPathFactory) -> January:
    """The same on SQLite alone, for tests about files rather than the database."""
    return _january("two-month", LedgerBackend("sqlite"), tmp_path_factory)


@pytest.fixture(scope="session")
def three_month_january(
    backend: LedgerBackend, tmp_path_factory: pytest.TempPathFactory
) -> January:
    """The three-month tiny instance (4, 2, 2 units) with January recorded, no outcomes."""
    return _january("three-month", backend, tmp_path_factory)
