"""Independent verification of a batch's decisions, from the output tables and the instance.

The verifier never looks at the model. It re-derives every rule from the orientation and
shortlist tables, the instance, the constraint set and the year-to-date position, with its
own (row-by-row) implementation of eligibility, and reports each violation of a hard rule
and each shortfall of a soft one by rule name and group.
"""

from fluxopt.verify.report import Finding, VerificationReport
from fluxopt.verify.run import verify

__all__ = ["Finding", "VerificationReport", "verify"]
