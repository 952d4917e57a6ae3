"""The benchmark registry: named specs, one per instance preset × rule set × strategy × phase.

A spec's name reads ``<preset>/<rules>/<strategy>/<phase>``, for example
``medium/lec-default/fluxopt-highs/end-to-end``. Strategies:

- ``fluxopt-highs``, ``fluxopt-cpsat``, ``fluxopt-cbc``: the allocation pipeline with each
  backend (the phases ``pairs``, ``build`` and ``solve`` are timed alone for HiGHS: ``solve``
  is the backend on the built model);
- ``greedy`` and ``naive-pulp``: the baselines (:mod:`fluxopt.baselines`);
- ``lp-relaxation``: the LP relaxation of the built model (HiGHS, interior point), the
  reference floor of a solve;
- ``min-cost-flow``: the same candidate graph's plain assignment without side rules (units
  and applicants of capacity 1, cost the value lost), OR-Tools' min-cost flow.

Sizes and limits live here: the presets are generated with seed 1 (``tiny`` for the smoke
runs of ``make test``, ``medium`` and ``large`` for ``make bench``), and each preset has one
solver time limit shared by every MILP strategy (the LP floor has its own). Rerunning
``make bench`` reruns every full-size spec and rewrites ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

SEED = 1
RULES = ("lec-default",)
SMOKE_PRESET = "tiny"
FULL_PRESETS = ("medium", "large")
PRESETS = (SMOKE_PRESET, *FULL_PRESETS)

TIME_LIMITS = {"tiny": 10.0, "medium": 60.0, "large": 120.0}
"""Solver seconds per preset, the same for every MILP strategy (fluxopt, backends, naive)."""
LP_TIME_LIMITS = {"tiny": 10.0, "medium": 120.0, "large": 240.0}
"""Seconds for the LP relaxation floor."""
MIP_GAP = 1e-3
THREADS = 1

BACKENDS = ("highs", "cpsat", "cbc")
STRATEGIES = (
    *(f"fluxopt-{b}" for b in BACKENDS),
    "greedy",
    "naive-pulp",
    "lp-relaxation",
    "min-cost-flow",
)
PHASES = ("pairs", "build", "solve", "end-to-end")


@dataclass(frozen=True)
class Spec:
    """One benchmark: what to run, on what, and which phase to time."""

    preset: str
    rules: str
    strategy: str
    phase: str

    @property
    def name(self) -> str:
        """``<preset>/<rules>/<strategy>/<phase>``."""
        return f"{self.preset}/{self.rules}/{self.strategy}/{self.phase}"

    @property
    def solver(self) -> str:
        """The backend of a fluxopt strategy (``highs`` for the floors and ``cbc`` for naive)."""
        if self.strategy.startswith("fluxopt-"):
            return self.strategy.removeprefix("fluxopt-")
        return "cbc" if self.strategy == "naive-pulp" else "highs"

    @property
    def time_limit(self) -> float:
        """Solver seconds for this spec."""
        if self.strategy == "lp-relaxation":
            return LP_TIME_LIMITS[self.preset]
        return TIME_LIMITS[self.preset]

    @property
    def timeout(self) -> float:
        """Wall seconds after which the runner stops the spec and reports it unfinished."""
        return 2.0 * self.time_limit + 180.0


def _phases(strategy: str) -> tuple[str, ...]:
    if strategy == "fluxopt-highs":
        return PHASES
    if strategy.startswith("fluxopt-"):
        return ("solve", "end-to-end")
    if strategy in ("lp-relaxation", "min-cost-flow"):
        return ("solve",)
    return ("end-to-end",)


def all_specs() -> list[Spec]:
    """Every registered spec, preset by preset."""
    return [
        Spec(preset, rules, strategy, phase)
        for preset in PRESETS
        for rules in RULES
        for strategy in STRATEGIES
        for phase in _phases(strategy)
    ]


def specs(preset: str | None = None, phase: str | None = None) -> list[Spec]:
    """The specs of one preset and/or phase."""
    return [
        s
        for s in all_specs()
        if (preset is None or s.preset == preset) and (phase is None or s.phase == phase)
    ]


def report_specs(preset: str) -> list[Spec]:
    """What ``make bench`` runs for a preset: each strategy once, end to end or its floor."""
    return [s for s in specs(preset) if s.phase == "end-to-end" or s.strategy in FLOORS]


FLOORS = ("lp-relaxation", "min-cost-flow")


def get(name: str) -> Spec:
    """The spec called ``name``."""
    for spec in all_specs():
        if spec.name == name:
            return spec
    raise KeyError(f"no benchmark spec {name!r}")
