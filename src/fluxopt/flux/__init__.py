"""Flux planning: basis, stock-to-flux conversion, annual volumes, targets and trajectory.

Under gestion en flux (ELAN art. 114, décret 2020-145) each holder (réservataire) has a
right to a share of the yearly flow of vacated dwellings of its perimeter rather than to
identified dwellings. This package answers, for the allocation engine and for
negotiations:

- :mod:`~fluxopt.flux.basis`: the flux basis (assiette) realised and forecast;
- :mod:`~fluxopt.flux.conversion`: the four stock-to-flux conversion methods;
- :mod:`~fluxopt.flux.volumes`: integer annual volumes by largest remainder;
- :mod:`~fluxopt.flux.coverage`: which holders may take each unit, with which share;
- :mod:`~fluxopt.flux.targets`: batch targets per holder and segment, yearly trajectory;
- :mod:`~fluxopt.flux.plan`: the plan and method-comparison tables of the CLI.
"""

from fluxopt.flux.basis import flux_basis, forecast_basis, seasonal_profile
from fluxopt.flux.conversion import (
    METHODS,
    conversion_table,
    convert,
    negotiated,
    stock_share,
    turnover_weighted,
    unique_rights,
)
from fluxopt.flux.coverage import coverage
from fluxopt.flux.plan import compare_methods, plan_table
from fluxopt.flux.targets import YTD_COLUMNS, FluxTargets, batch_targets, trajectory
from fluxopt.flux.volumes import annual_volumes, largest_remainder

__all__ = [
    "METHODS",
    "YTD_COLUMNS",
    "FluxTargets",
    "annual_volumes",
    "batch_targets",
    "compare_methods",
    "conversion_table",
    "convert",
    "coverage",
    "flux_basis",
    "forecast_basis",
    "largest_remainder",
    "negotiated",
    "plan_table",
    "seasonal_profile",
    "stock_share",
    "trajectory",
    "turnover_weighted",
    "unique_rights",
]
