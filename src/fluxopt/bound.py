"""The LP bound of a large batch, computed on the other core while the batch is solved.

A batch solved EPCI by EPCI has no bound of its own. The LP relaxation of the whole model
is one, and on a machine with a spare core it is solved in a forked process at the same time
as the decomposition, within the same time limit; when it finishes, the batch reports its
gap against it, and otherwise says the gap is unknown.
"""

from __future__ import annotations

import multiprocessing as mp
from multiprocessing.connection import Connection

from fluxopt.model.blocks import LinearModel
from fluxopt.solvers.base import SolveOptions


def _solve_lp(model: LinearModel, time_limit: float, conn: Connection) -> None:
    from fluxopt.solvers.highs import HighsSolver

    result = HighsSolver().run(model.relaxed(), SolveOptions(time_limit=time_limit, lp_first=False))
    conn.send(result.objective if result.status.has_solution else None)
    conn.close()


class BackgroundBound:
    """An LP relaxation solved in a forked process; :meth:`result` waits for it."""

    def __init__(self, model: LinearModel, time_limit: float) -> None:
        self.process: mp.process.BaseProcess | None = None
        self.receiver: Connection | None = None
        if mp.current_process().daemon:
            return
        context = mp.get_context("fork")
        receiver, sender = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_solve_lp, args=(model, time_limit, sender), daemon=True
        )
        self.process.start()
        sender.close()
        self.receiver = receiver

    def result(self, wait: float) -> float | None:
        """The LP bound if it arrives within ``wait`` seconds, else ``None``."""
        if self.process is None or self.receiver is None:
            return None
        value = None
        if self.receiver.poll(max(wait, 0.0)):
            try:
                value = self.receiver.recv()
            except EOFError:
                value = None
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(timeout=5)
        self.receiver.close()
        return value
