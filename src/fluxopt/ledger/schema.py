"""The ledger's tables (SQLAlchemy 2 declarative), one class per table.

The ledger keeps, per allocation year, what each monthly batch decided and what the
allocation committee (CALEOL, *commission d'attribution des logements et d'examen de
l'occupation des logements*) did with it:

- ``batches``: one row per batch (one per month): input hashes, grid and constraint-set
  versions, solver settings, status, objective, bound, gap, timings;
- ``orientations``: one row per (batch, unit): the holder (réservataire) the unit was
  oriented to, with the unit's attributes at the time;
- ``shortlists``: one row per (batch, unit, rank): the applicant and the flags quota rules
  count, at the time of the batch;
- ``flux_positions`` and ``quota_positions``: the verifier's flux and quota tables of the
  batch (cumulative targets, attainment), kept for trajectories;
- ``outcome_imports`` and ``outcomes``: the committee's decisions, with a snapshot of the
  unit's attributes and the applicant's flags for attributions, so that year-to-date
  counters never need the instance again;
- ``ledger_state``: one row: the ledger's identity (``ledger_id``, kept by copies of the
  ledger) and its ``revision``, a counter that every write of decisions or outcomes
  increases in its own transaction (the optimistic check of :mod:`fluxopt.ledger.lock`);
- ``ledger_lock``: at most one row per lock name, the batch that holds the ledger;
- ``schema_version``: the version of this schema the ledger was written with.

A batch is recorded in two steps: ``committed_at`` when its rows are written, then
``published_at`` when its papers are in their folder (``out_dir``); between the two, the
batch is *half-published* and ``undo`` holds what undoing it restores. ``stale`` says why a
batch no longer follows from the year to date (an earlier month was recorded again).

Every table carries plain values (text, integers, floats, booleans); months are
``YYYY-MM`` text and dates ISO 8601 text.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA_VERSION = 2
"""Version of the tables below; :mod:`fluxopt.ledger.store` upgrades older ledgers."""

DECISIONS = ("attributed", "holder_candidate", "refused", "no_attribution")
"""Committee decisions on a unit: attributed to a listed applicant; attributed to a
candidate the holder proposed itself; refused (by the applicants or the committee; the
unit returns to the next batch); no attribution (the unit returns to the next batch)."""

ATTRIBUTING = ("attributed", "holder_candidate")
"""Decisions that end with a lease: they count in the quotas and in the bilan."""


class Base(DeclarativeBase):
    """Base of the ledger's tables."""


class SchemaVersion(Base):
    """The schema version the ledger was created or last upgraded with."""

    __tablename__ = "schema_version"

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    applied_at: Mapped[str] = mapped_column(String(32))


class BatchRow(Base):
    """One monthly batch: its inputs, settings and solve figures."""

    __tablename__ = "batches"

    batch_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    month: Mapped[str] = mapped_column(String(7), unique=True)
    instance: Mapped[str] = mapped_column(String(200))
    instance_folder: Mapped[str] = mapped_column(Text, default="")
    input_hashes: Mapped[str] = mapped_column(Text)
    """JSON object: file name → SHA-256 of its bytes."""
    grid: Mapped[str] = mapped_column(String(200), default="")
    grid_hash: Mapped[str] = mapped_column(String(64), default="")
    constraint_set: Mapped[str] = mapped_column(String(200))
    constraint_version: Mapped[str] = mapped_column(String(50))
    constraint_hash: Mapped[str] = mapped_column(String(64))
    solver: Mapped[str] = mapped_column(String(50))
    settings: Mapped[str] = mapped_column(Text)
    """JSON object of the solve settings (time limit, gap, threads, seed)."""
    ledger_state: Mapped[str] = mapped_column(String(64))
    """SHA-256 of what the batch read from the ledger (carried units, year to date)."""
    fingerprint: Mapped[str] = mapped_column(String(64))
    """SHA-256 of inputs, settings and ledger state: equal fingerprints, same batch."""
    status: Mapped[str] = mapped_column(String(20))
    objective: Mapped[float | None] = mapped_column(Float, nullable=True)
    bound: Mapped[float | None] = mapped_column(Float, nullable=True)
    gap: Mapped[float | None] = mapped_column(Float, nullable=True)
    timings: Mapped[str] = mapped_column(Text)
    units: Mapped[int] = mapped_column(Integer)
    carried_over: Mapped[int] = mapped_column(Integer)
    units_with_shortlist: Mapped[int] = mapped_column(Integer)
    violations: Mapped[int] = mapped_column(Integer)
    shortfalls: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[str] = mapped_column(String(32))
    finished_at: Mapped[str] = mapped_column(String(32))
    fluxopt_version: Mapped[str] = mapped_column(String(32))
    run_id: Mapped[str] = mapped_column(String(32), default="")
    """Unique id of this recording of the batch; the papers' marker repeats it."""
    out_dir: Mapped[str] = mapped_column(Text, default="")
    """Absolute path of the folder the batch's papers are published in."""
    committed_at: Mapped[str] = mapped_column(String(32), default="")
    published_at: Mapped[str] = mapped_column(String(32), default="")
    """Empty while the batch is committed but its papers are not in place."""
    stale: Mapped[str] = mapped_column(Text, default="")
    """Why the batch is stale (an earlier month recorded again after it), or empty."""
    undo: Mapped[str] = mapped_column(Text, default="")
    """JSON of what undoing a half-published batch restores; emptied once published."""


class LedgerStateRow(Base):
    """The ledger's identity and revision (one row, ``id`` 1)."""

    __tablename__ = "ledger_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ledger_id: Mapped[str] = mapped_column(String(32))
    revision: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[str] = mapped_column(String(32))


class LockRow(Base):
    """A lock on the ledger (``name`` ``batch``: one batch at a time) and who holds it."""

    __tablename__ = "ledger_lock"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(Text)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    acquired_at: Mapped[str] = mapped_column(String(32))


class OrientationRow(Base):
    """One unit of a batch and the holder it was oriented to."""

    __tablename__ = "orientations"

    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.batch_id"), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder_id: Mapped[str] = mapped_column(String(64))
    holder_name: Mapped[str] = mapped_column(String(200))
    holder_kind: Mapped[str] = mapped_column(String(32))
    holder_mode: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(32))
    in_flux: Mapped[bool] = mapped_column(Boolean)
    available_on: Mapped[str] = mapped_column(String(10))
    carried_over: Mapped[bool] = mapped_column(Boolean)
    deadline: Mapped[str] = mapped_column(String(10))
    residence_id: Mapped[str] = mapped_column(String(64))
    commune: Mapped[str] = mapped_column(String(200))
    epci: Mapped[str] = mapped_column(String(32))
    qpv: Mapped[bool] = mapped_column(Boolean)
    fragile: Mapped[bool] = mapped_column(Boolean)
    lec_applies: Mapped[bool] = mapped_column(Boolean)
    rooms: Mapped[int] = mapped_column(Integer)
    financing: Mapped[str] = mapped_column(String(8))
    segment: Mapped[str] = mapped_column(String(64))
    construction_period: Mapped[str] = mapped_column(String(32))


class ShortlistRow(Base):
    """One ranked candidate of a unit in a batch, with the flags quota rules count."""

    __tablename__ = "shortlists"

    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.batch_id"), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    applicant_id: Mapped[str] = mapped_column(String(64), index=True)
    holder_id: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    value: Mapped[float] = mapped_column(Float)
    wish_rank: Mapped[int] = mapped_column(Integer)
    fit: Mapped[float] = mapped_column(Float)
    rent_burden: Mapped[float] = mapped_column(Float)
    wait_months: Mapped[float] = mapped_column(Float)
    q1: Mapped[bool] = mapped_column(Boolean)
    priority: Mapped[bool] = mapped_column(Boolean)
    dalo: Mapped[bool] = mapped_column(Boolean)
    renewal_relocation: Mapped[bool] = mapped_column(Boolean)
    is_transfer: Mapped[bool] = mapped_column(Boolean)
    employer_action_logement: Mapped[bool] = mapped_column(Boolean)
    state_agent: Mapped[bool] = mapped_column(Boolean)


class FluxPositionRow(Base):
    """A convention's cumulative flux target and oriented volume after a batch."""

    __tablename__ = "flux_positions"

    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.batch_id"), primary_key=True)
    holder_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    convention_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    target_cumulative: Mapped[float] = mapped_column(Float)
    oriented: Mapped[float] = mapped_column(Float)
    gap: Mapped[float] = mapped_column(Float)
    tolerance: Mapped[float] = mapped_column(Float)
    within: Mapped[bool] = mapped_column(Boolean)


class QuotaPositionRow(Base):
    """A quota rule's attainment in a group after a batch (first-ranked, year to date)."""

    __tablename__ = "quota_positions"

    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.batch_id"), primary_key=True)
    rule: Mapped[str] = mapped_column(String(100), primary_key=True)
    group_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    per: Mapped[str] = mapped_column(String(16))
    numerator: Mapped[float] = mapped_column(Float)
    denominator: Mapped[float] = mapped_column(Float)
    level: Mapped[float] = mapped_column(Float)
    sense: Mapped[str] = mapped_column(String(16))
    met: Mapped[bool] = mapped_column(Boolean)


class OutcomeImportRow(Base):
    """One imported outcomes file."""

    __tablename__ = "outcome_imports"

    import_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file_name: Mapped[str] = mapped_column(Text)
    file_hash: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[str] = mapped_column(String(32))


class OutcomeRow(Base):
    """One committee decision on a unit of a batch.

    For the attributing decisions (:data:`ATTRIBUTING`) the row also holds the unit's
    attributes and the applicant's flags at attribution (the columns of
    :data:`fluxopt.ytd.ATTRIBUTION_COLUMNS`, plus those of the annual bilan).
    """

    __tablename__ = "outcomes"
    __table_args__ = (Index("ix_outcomes_batch_unit", "batch_id", "unit_id"),)

    outcome_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("outcome_imports.import_id"))
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.batch_id"))
    month: Mapped[str] = mapped_column(String(7))
    unit_id: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(20))
    applicant_id: Mapped[str] = mapped_column(String(64), default="")
    rank: Mapped[int | None] = mapped_column(Integer, nullable=True)
    decided_on: Mapped[str] = mapped_column(String(10), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    holder_id: Mapped[str] = mapped_column(String(64))
    holder_kind: Mapped[str] = mapped_column(String(32))
    residence_id: Mapped[str] = mapped_column(String(64))
    commune: Mapped[str] = mapped_column(String(200))
    epci: Mapped[str] = mapped_column(String(32))
    qpv: Mapped[bool] = mapped_column(Boolean)
    fragile: Mapped[bool] = mapped_column(Boolean)
    lec_applies: Mapped[bool] = mapped_column(Boolean)
    segment: Mapped[str] = mapped_column(String(64))
    rooms: Mapped[int] = mapped_column(Integer)
    financing: Mapped[str] = mapped_column(String(8))
    construction_period: Mapped[str] = mapped_column(String(32))
    q1: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[bool] = mapped_column(Boolean, default=False)
    dalo: Mapped[bool] = mapped_column(Boolean, default=False)
    renewal_relocation: Mapped[bool] = mapped_column(Boolean, default=False)
    is_transfer: Mapped[bool] = mapped_column(Boolean, default=False)
    employer_action_logement: Mapped[bool] = mapped_column(Boolean, default=False)
    state_agent: Mapped[bool] = mapped_column(Boolean, default=False)


BATCH_TABLES = (OrientationRow, ShortlistRow, FluxPositionRow, QuotaPositionRow)
"""Tables whose rows belong to one batch and are written in the batch's transaction."""
