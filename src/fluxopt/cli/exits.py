"""The exit statuses of every ``fluxopt`` command, defined once.

====  =====================================================================================
code  meaning
====  =====================================================================================
0     done
1     unexpected error (a bug or a failure of the machine): one line, ``--debug`` for the
      traceback
2     invalid input or refused: a bad instance, rule file, option or output folder, or a
      request fluxopt refuses (nothing is solved or written)
3     verification found violations: the independent verifier found a broken hard rule
4     partial: some scenarios or parts failed (the others are written), or the Dask
      scheduler was lost during a sweep
====  =====================================================================================
"""

from __future__ import annotations

from enum import IntEnum

from fluxopt.schema.problems import FluxoptError


class ExitCode(IntEnum):
    """The exit status of a command (see the module docstring)."""

    DONE = 0
    UNEXPECTED = 1
    INVALID = 2
    VIOLATIONS = 3
    PARTIAL = 4


MEANINGS = {
    ExitCode.DONE: "done",
    ExitCode.UNEXPECTED: "unexpected error (run with --debug for the traceback)",
    ExitCode.INVALID: "invalid input or refused (nothing solved or written)",
    ExitCode.VIOLATIONS: "verification found violations of hard rules",
    ExitCode.PARTIAL: "partial: some scenarios or parts failed, or the scheduler was lost",
}


def exit_code_table() -> str:
    """The table of exit statuses as lines of text (for ``--help``)."""
    return "\n".join(f"  {int(code)}  {text}" for code, text in MEANINGS.items())


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit status a command ends with when ``error`` reaches the top."""
    if isinstance(error, FluxoptError):
        return ExitCode(error.exit_code)
    return ExitCode.UNEXPECTED
