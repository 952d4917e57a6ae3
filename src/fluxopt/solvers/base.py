"""A small solver interface: a registry of backends, one status vocabulary, one result type.

Every backend receives the same :class:`~fluxopt.model.LinearModel` (built once) and returns
a :class:`SolveResult`. Statuses of each solver are mapped onto :class:`Status`; each backend
declares its :class:`Capabilities` so that callers know what a setting means for it.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from fluxopt.model import LinearModel
from fluxopt.model.blocks import FloatArray
from fluxopt.schema.problems import FluxoptError


class Status(enum.StrEnum):
    """Outcome of a solve, the same for every backend."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    """A solution within the time limit, with a gap above the requested tolerance."""
    INFEASIBLE = "infeasible"
    TIME_LIMIT = "time_limit"
    """The time limit came before any solution."""
    UNBOUNDED = "unbounded"
    ERROR = "error"

    @property
    def has_solution(self) -> bool:
        """Whether the result carries a usable solution."""
        return self in (Status.OPTIMAL, Status.FEASIBLE)


@dataclass(frozen=True)
class SolveOptions:
    """Settings common to every backend."""

    time_limit: float = 60.0
    """Seconds before the solver stops with its best solution."""
    mip_gap: float = 1e-3
    """Relative gap at which a solution counts as optimal."""
    threads: int = 1
    seed: int = 0
    verbose: bool = False
    lp_first: bool = True
    """Solve the LP relaxation first, fix by reduced costs, then the MIP (when supported)."""
    warm_start: FloatArray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Capabilities:
    """What a backend supports."""

    integers: bool = True
    time_limit: bool = True
    gap: bool = True
    warm_start: bool = False
    threads: bool = True
    lp_first: bool = False


@dataclass(frozen=True)
class SolveResult:
    """What a backend returns: status, solution and the figures of the solve."""

    status: Status
    x: FloatArray | None
    objective: float | None
    bound: float | None
    runtime: float
    solver: str
    message: str = ""
    row_duals: FloatArray | None = None
    col_duals: FloatArray | None = None
    """Reduced costs of the columns (LPs only)."""
    nodes: int = 0
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds spent in each phase of a multi-step solve."""

    @property
    def gap(self) -> float | None:
        """Relative gap ``|objective - bound| / max(|objective|, 1)``, when both are known."""
        if self.objective is None or self.bound is None:
            return None
        return abs(self.objective - self.bound) / max(abs(self.objective), 1.0)


class Solver(ABC):
    """A backend: solves a :class:`LinearModel` under :class:`SolveOptions`."""

    name: ClassVar[str]
    capabilities: ClassVar[Capabilities]

    @abstractmethod
    def solve(self, model: LinearModel, options: SolveOptions) -> SolveResult:
        """Solve the model and map the outcome onto :class:`SolveResult`."""


_REGISTRY: dict[str, type[Solver]] = {}


def register(cls: type[Solver]) -> type[Solver]:
    """Class decorator that makes a backend available by its name."""
    _REGISTRY[cls.name] = cls
    return cls


def available() -> list[str]:
    """Names of the registered backends."""
    _load_backends()
    return sorted(_REGISTRY)


def get_solver(name: str) -> Solver:
    """An instance of the backend called ``name``."""
    _load_backends()
    try:
        return _REGISTRY[name]()
    except KeyError:
        raise FluxoptError(
            f"unknown solver {name!r}; choose one of {', '.join(sorted(_REGISTRY))}"
        ) from None


def _load_backends() -> None:
    import importlib

    for module in ("highs", "cpsat", "cbc"):
        try:
            importlib.import_module(f"fluxopt.solvers.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"fluxopt.solvers.{module}":
                raise


def clip_integral(model: LinearModel, x: FloatArray) -> FloatArray:
    """Round integer columns of a solution (solvers return them within a tolerance)."""
    out = np.asarray(x, dtype=np.float64).copy()
    out[model.integer] = np.round(out[model.integer])
    return out
