"""Formulas off the loop (layer 3, beside the model thread): polars over every row at once.

A formula column's values and a rule's condition are computed on one thread of their own,
so the event loop never waits for polars; results come back through `post` as futures.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable

import polars as pl

from fastsheet.formula.parser import Formula

Compute = Callable[[Formula, pl.DataFrame], pl.Series]


class FormulaThread:
    """One worker computing formulas; remembers which column generations are in flight."""

    def __init__(self, post: Callable[..., None]) -> None:
        self._post = post
        self._pool = concurrent.futures.ThreadPoolExecutor(1, "fastsheet-formula")
        self.computing: dict[str, int] = {}  # column -> generation being computed

    def submit(
        self,
        name: str,
        generation: int,
        compute: Compute,
        formula: Formula,
        frame: pl.DataFrame,
        done: Callable[[concurrent.futures.Future], None],
    ) -> None:
        """Compute `compute(formula, frame)`; `done(future)` is posted back when it ends."""
        self.computing[name] = generation
        job = self._pool.submit(compute, formula, frame)
        job.add_done_callback(lambda job: self._post(done, job))

    def finished(self, name: str, generation: int) -> None:
        if self.computing.get(name) == generation:
            del self.computing[name]

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def formula_frame(
    frame: pl.DataFrame, name: str, formula: Formula, values_of: Callable[[str], pl.Series]
) -> pl.DataFrame:
    """The columns a formula reads: its data columns, and other columns' values."""
    data = [c for c in formula.references if c in frame.columns]
    out = frame.select(data or frame.columns[:1])  # keeps the row count
    others = [c for c in formula.references if c not in frame.columns and c != name]
    return out.with_columns(values_of(c) for c in others)
