"""Baselines that fluxopt is measured against, run as strategies like fluxopt itself.

- ``greedy``: the status quo, one unit at a time in availability order, best-scored
  admissible applicant first, no quota awareness (:mod:`fluxopt.baselines.greedy`);
- ``naive-pulp``: the textbook PuLP formulation, one variable and one expression per pair,
  solved by CBC (:mod:`fluxopt.baselines.naive_pulp`).

Both produce fluxopt's decision tables, so the verifier and every report apply to them;
:func:`run_strategy` runs any of them, or fluxopt, by name.
"""

from fluxopt.baselines.strategy import STRATEGIES, StrategyResult, run_strategy

__all__ = ["STRATEGIES", "StrategyResult", "run_strategy"]
