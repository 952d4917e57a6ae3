"""What the verifier reports: findings, and the attainment of each rule by group."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

Severity = Literal["violation", "shortfall"]


@dataclass(frozen=True)
class Finding:
    """One broken hard rule (violation) or unmet soft rule (shortfall)."""

    rule: str
    severity: Severity
    message: str
    group: str = ""
    unit_id: str = ""
    applicant_id: str = ""
    amount: float = 0.0

    def __str__(self) -> str:
        where = ", ".join(
            part
            for part in (
                self.group,
                f"unit {self.unit_id}" if self.unit_id else "",
                f"applicant {self.applicant_id}" if self.applicant_id else "",
            )
            if part
        )
        return f"[{self.severity}] {self.rule}{f' ({where})' if where else ''}: {self.message}"


@dataclass
class VerificationReport:
    """Findings and per-rule attainment tables."""

    findings: list[Finding] = field(default_factory=list)
    quotas: pd.DataFrame = field(default_factory=pd.DataFrame)
    """One row per (quota rule, group): numerator, denominator, ratio, level, met."""
    flux: pd.DataFrame = field(default_factory=pd.DataFrame)
    """One row per convention: target, oriented, gap, tolerance, within."""
    checked: dict[str, int] = field(default_factory=dict)
    """How many items each check looked at."""

    @property
    def violations(self) -> list[Finding]:
        """Broken hard rules."""
        return [f for f in self.findings if f.severity == "violation"]

    @property
    def shortfalls(self) -> list[Finding]:
        """Unmet soft rules."""
        return [f for f in self.findings if f.severity == "shortfall"]

    @property
    def ok(self) -> bool:
        """No hard rule is broken."""
        return not self.violations

    def add(self, finding: Finding) -> None:
        """Record a finding."""
        self.findings.append(finding)

    def text(self, limit: int = 50) -> str:
        """The findings as lines of text."""
        lines = [
            f"{len(self.violations)} violation(s), {len(self.shortfalls)} shortfall(s); "
            f"checked {', '.join(f'{k}: {v}' for k, v in self.checked.items())}"
        ]
        lines += [str(f) for f in self.findings[:limit]]
        if len(self.findings) > limit:
            lines.append(f"... and {len(self.findings) - limit} more")
        return "\n".join(lines)
