"""Learned heads, fitted off the loop (one numpy thread) and applied on it.

A column that learns its labels (learning/learned.py) fits a head over its kept states
whenever labels or judged rows come in; every judged row is re-decided by it with no
model call.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fastsheet.kinds.results import ResultColumn
from fastsheet.learning.learned import fit_input, learn
from fastsheet.sheet.column import Column
from fastsheet.sheet.events import ColumnEvent, Event, Update

log = logging.getLogger(__name__)


def _learn_and_redecide(fit: tuple, result: ResultColumn) -> tuple:
    """On the fit thread: the head, and every judged row re-decided by it."""
    learned = learn(*fit, result.kind.shape)
    return learned, result.redecide(learned) if learned is not None else None


@dataclass(frozen=True)
class Fitted:
    """A fit that came back: the labels it was fitted on and the job that fitted it."""

    labels: np.ndarray
    on: int
    done_rows: int
    job: concurrent.futures.Future


class Learner:
    """Fits the heads of a sheet's learning columns, one at a time, off the loop."""

    def __init__(self) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="fastsheet-fit")

    def start(
        self,
        column: Column,
        post: Callable[..., None],
        done: Callable[[str, int, Fitted], None],
    ) -> bool:
        """Fit `column`'s head if one is due; `post(done, name, generation, fitted)` when
        it comes back. True if a fit started."""
        decision, result = column.decision, column.result
        due = decision.fit_due(result, column.complete)
        if due is None:
            return False
        name, generation, labels = column.rule.name, column.generation, decision.labels
        fit = fit_input(result.model_probs, result.states, result.has_state, labels)
        decision.fitting = True
        job = self._pool.submit(_learn_and_redecide, fit, result)
        on, done_rows = due
        job.add_done_callback(
            lambda job: post(done, name, generation, Fitted(labels, on, done_rows, job))
        )
        return True

    @staticmethod
    def apply(column: Column, fitted: Fitted, threshold: float | None) -> list[Event]:
        """On the loop: the column re-decided by the head that came back; its events."""
        decision, job = column.decision, fitted.job
        name, generation = column.rule.name, column.generation
        decision.fitting = False
        if job.exception() is not None:
            log.error("fitting %r's head failed", name, exc_info=job.exception())
            decision.fitted(decision.learned, fitted.on, fitted.done_rows)  # not again yet
            return [ColumnEvent(name, generation, "warning", f"Learning failed: {job.exception()}")]
        learned, decided = job.result()
        decision.fitted(learned, fitted.on, fitted.done_rows)
        if decision.labels is not fitted.labels:  # marked again meanwhile
            decision.learned_on = -1
        column.result.use(learned, decided)
        column.recalibrate(threshold)
        if column.complete:
            column.relearned()
        return [
            Update(name, generation, (), (), "calibration"),  # every cell
            ColumnEvent(name, generation, "learned"),
        ]

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
