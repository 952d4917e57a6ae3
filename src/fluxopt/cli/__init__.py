"""The ``fluxopt`` command: a thin layer over the library.

Each area registers its subcommands from its own module (``instance_cmds``, ...). Known
errors become a short message and a non-zero exit; ``--debug`` shows the full traceback.
"""

from __future__ import annotations

from fluxopt.cli.app import main

__all__ = ["main"]
