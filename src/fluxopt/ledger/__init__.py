"""The ledger: what each monthly batch decided and what the committee did with it.

- :mod:`~fluxopt.ledger.schema`: the tables (SQLAlchemy 2 declarative);
- :mod:`~fluxopt.ledger.store`: open by URL, create or upgrade the schema, atomic writes,
  the revision checked at commit;
- :mod:`~fluxopt.ledger.lock`: one batch per ledger at a time (a lock row);
- :mod:`~fluxopt.ledger.snapshot`: the rows of a replaced batch, to undo its replacement;
- :mod:`~fluxopt.ledger.counters`: year-to-date position and counter tables;
- :mod:`~fluxopt.ledger.outcomes`: import the committee's decisions, all or nothing;
- :mod:`~fluxopt.ledger.simulate`: simulated committee outcomes for demonstrations.
"""

from fluxopt.ledger.store import DEFAULT_LEDGER, BatchRecord, Ledger, ledger_url

__all__ = ["DEFAULT_LEDGER", "BatchRecord", "Ledger", "ledger_url"]
