"""Scoring of applications (cotation): grids, vectorised evaluation, applicant statements.

- :func:`load_grid` reads a grid file (``models/grids/<name>.yaml`` or any path) into a
  frozen :class:`Grid`, reporting every problem with the file and entry name;
- :func:`score` evaluates a grid over the whole applicant table in one vectorised pass and
  returns :class:`Scores` (total and per-entry breakdown, index ``applicant_id``);
- :func:`statement` gives one applicant what the cotation decree requires they be told.

The score informs the committee and the optimiser; it never decides alone.
"""

from fluxopt.scoring.evaluate import Scores, score
from fluxopt.scoring.grid import Grid, Scheme
from fluxopt.scoring.load import GRIDS_DIR, available_grids, load_grid, resolve_grid
from fluxopt.scoring.statement import Statement, statement

__all__ = [
    "GRIDS_DIR",
    "Grid",
    "Scheme",
    "Scores",
    "Statement",
    "available_grids",
    "load_grid",
    "resolve_grid",
    "score",
    "statement",
]
