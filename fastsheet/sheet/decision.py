"""Calibration and teaching (layer 4): how one column's answers become decisions.

`Decision` is the one owner of a column's decision rule. From the column's answers, its
labels and the user's threshold it picks, for every mode: the user's threshold; for a
taught rule, the fit on labelled rows beyond the examples, else the lesson's cross-fitted
threshold; for a flag, the unlabelled mixture; else content-free (calibrate.choose). It
also decides what a rule is taught from (examples in the prompt, rows held out). The
coordinator asks it; it never decides itself.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from fastsheet.backend import Backend
from fastsheet.cache import ResultCache
from fastsheet.calibrate import Calibration, Mode, choose, unlabeled_flag
from fastsheet.cells import Answer
from fastsheet.kinds.base import ColumnKind
from fastsheet.results import DONE, ResultColumn
from fastsheet.rules import Rule
from fastsheet.runner import RuleRunner, example_rows, teaching_input
from fastsheet.teach import (
    MIN_HELD_OUT,
    MIN_LABELS,
    examples_for,
    held_out_calibration,
    held_out_rows,
)


@dataclass
class Decision:
    """The fits behind one column generation's calibration, each refitted as rows arrive."""

    kind: ColumnKind
    content_free: Calibration | None = None
    lesson: Calibration | None = None  # the threshold fitted on the rule's labels
    taught_from: int = 0  # labels the rule was taught from (examples and threshold)
    unlabeled: Calibration | None = None  # the threshold without labels, last fitted at:
    unlabeled_at: int = 0  # done rows then
    #: labelled rows beyond the teaching ones (flag), and their labels: once judged, the
    #: threshold is fitted on them, last at `held_at` of them done
    held_rows: np.ndarray | None = None
    held_labels: np.ndarray | None = None
    held_fit: Calibration | None = None
    held_at: int = 0

    def choose(self, result: ResultColumn, manual: float | None) -> Calibration:
        """The user's threshold, else the one fitted on the rule's labels, else unlabelled."""
        return choose(
            self.kind.thresholded,
            Calibration(Mode.MANUAL, manual) if manual is not None else None,
            self.lesson,
            lambda: self._held_out_fit(result),
            lambda: self._unlabeled_fit(result),
            lambda: self.content_free,
        )

    def probed(self, answers: list[Answer]) -> None:
        """Content-free answers arrived: the unlabelled fit starts from them again."""
        self.content_free = self.kind.content_free(answers)
        if self.kind.thresholded:
            self.unlabeled = None

    def taught(self, lesson: Calibration | None) -> None:
        self.lesson = lesson

    def retaught(self, labels: np.ndarray | None) -> bool:
        """Whether these labels teach the rule (or it was taught before): if not, a new
        label changes only agreement, and the column needs no new generation."""
        n = int(np.count_nonzero(~np.isnan(labels))) if labels is not None else 0
        return n >= MIN_LABELS or self.taught_from >= MIN_LABELS

    def settle(self, finished: int) -> bool:
        """At completion: True if the last unlabelled fit saw only part of the column (it
        is then refitted on all of it, so decisions do not depend on arrival order)."""
        if self.unlabeled is not None and self.unlabeled_at < finished:
            self.unlabeled = None
            return True
        return False

    def runner(
        self,
        frame: pl.DataFrame,
        rule: Rule,
        backend: Backend,
        cache: ResultCache,
        exclude: list[str],
        labels: np.ndarray | None,
    ) -> RuleRunner:
        """The runner judging the column: the rule taught from its labels when it has
        enough (examples now; the threshold is fitted on the model thread), and the rows
        held out to fit the threshold on once judged."""
        base = RuleRunner(frame, rule, backend, cache, exclude=exclude)
        self.taught_from = int(np.count_nonzero(~np.isnan(labels))) if labels is not None else 0
        records, answers = teaching_input(base, labels)
        self.held_rows = self.held_labels = self.held_fit = None
        self.held_at = 0
        if not records or labels is None:
            return base
        taught = replace(rule, examples=examples_for(rule, records, answers))
        runner = RuleRunner(frame, taught, backend, cache, exclude=exclude)
        runner.teaching = (records, answers)
        if self.kind.thresholded:
            held = held_out_rows(labels, example_rows(runner, labels, taught))
            if held is not None:
                self.held_rows, self.held_labels = held, labels[held]
        return runner

    def _unlabeled_fit(self, result: ResultColumn) -> Calibration:
        """calibrate.unlabeled_flag on the done rows, refitted each time they grow by a tenth."""
        done = result.done_mask()
        n_done = int(done.sum())
        if self.unlabeled is None or n_done >= self.unlabeled_at * 1.1 + 8:
            self.unlabeled_at = n_done
            self.unlabeled = unlabeled_flag(result.p_yes()[done], self.content_free)
        return self.unlabeled

    def _held_out_fit(self, result: ResultColumn) -> Calibration | None:
        """The threshold fitted on the judged labelled rows the prompt does not show
        (teach.held_out_calibration), refitted as they grow by a tenth, and when all are in."""
        rows = self.held_rows
        if rows is None or self.held_labels is None:
            return None
        done = result.state[rows] == DONE  # only the labelled rows: this runs per batch
        n = int(done.sum())
        grown = n >= self.held_at * 1.1 + 8 or (n == len(rows) and n != self.held_at)
        if n >= MIN_HELD_OUT and (self.held_fit is None or grown):
            self.held_at = n
            p = np.where(done, result.probs[rows, 0], np.nan)
            self.held_fit = held_out_calibration(p, self.held_labels)
        return self.held_fit
