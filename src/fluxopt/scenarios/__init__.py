"""What-if analysis: scenarios, sweeps on Dask, a simulated year, the price of each rule.

- :mod:`~fluxopt.scenarios.spec`: scenario and sweep files (overrides, cartesian products);
- :mod:`~fluxopt.scenarios.apply`: a scenario's overrides applied to an instance and its rules;
- :mod:`~fluxopt.scenarios.task`: one scenario run where it is scheduled, as one plain row;
- :mod:`~fluxopt.scenarios.sweep`: many scenarios on ``dask.distributed``, cached by hash;
- :mod:`~fluxopt.scenarios.simulate`: twelve monthly batches with simulated outcomes;
- :mod:`~fluxopt.scenarios.price`: each rule family switched off in turn, trade-off curves;
- :mod:`~fluxopt.scenarios.compare`: the comparison table as CSV and HTML, with the charts
  of :mod:`~fluxopt.scenarios.plots`.
"""

from fluxopt.scenarios.spec import Scenario, SimulationSpec, SweepFile, load_sweep, parse_sweep

__all__ = ["Scenario", "SimulationSpec", "SweepFile", "load_sweep", "parse_sweep"]
