"""Calibration and teaching (layer 4): how one column's answers become decisions.

`Decision` is the one owner of a column's decision rule. From the column's answers, its
labels and the user's threshold it picks, for every mode: the user's threshold; for a
taught rule, the fit on labelled rows beyond the examples, else the lesson's cross-fitted
threshold; for a flag, the unlabelled mixture; else content-free (calibrate.choose). It
also decides what a rule is taught from (examples in the prompt, rows held out), or
whether it learns its labels instead (learned.py: from LEARN_FROM labels, the plain
prompt and a head over the kept states, refitted off the loop by the coordinator when
`fit_due`; its probabilities are the column's, decided at 0.5). The coordinator asks
it; it never decides itself. A learning column judges its labelled rows first (after
the visible ones), so its head is fitted early.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from fastsheet.backends.base import Backend
from fastsheet.data.cells import Answer
from fastsheet.kinds.base import ColumnKind
from fastsheet.kinds.results import DONE, ResultColumn
from fastsheet.kinds.rules import Rule
from fastsheet.learning.learned import LEARN_FROM, Learned, learnable_rows, learns, reducer_for
from fastsheet.learning.teach import (
    MIN_HELD_OUT,
    MIN_LABELS,
    held_out_calibration,
    held_out_rows,
)
from fastsheet.sheet.cache import ResultCache
from fastsheet.sheet.runner import RuleRunner, example_rows, with_examples
from fastsheet.stats.calibrate import Calibration, Mode, choose, unlabeled_flag
from fastsheet.stats.head import Reducer

#: labelled rows a learning column judges before the rest, at most (the head's first fit)
FIRST_LABELLED = 256


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
    #: from LEARN_FROM labels (and kept states): the plain prompt judges the column and
    #: the labels are learned (learned.py); `learned` is the last fit, on `learned_on`
    #: judged labelled rows out of `learned_done` judged rows
    learning: bool = False
    labels: np.ndarray | None = None
    learned: Learned | None = None
    learned_on: int = 0
    learned_done: int = 0
    fitting: bool = False
    #: the reducer "label next" spreads its questions by, and the judged rows it saw
    spread_by: tuple[Reducer, int] | None = None

    def choose(self, result: ResultColumn, manual: float | None) -> Calibration:
        """The user's threshold, else the learned head's 0.5, else the threshold fitted on
        the rule's labels, else unlabelled."""
        if self.learning and self.learned is not None:
            if self.kind.thresholded and manual is not None:
                return Calibration(Mode.MANUAL, manual)
            return Calibration(Mode.LEARNED)
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
        n = _count(labels)
        return n >= MIN_LABELS or self.taught_from >= MIN_LABELS

    def learns_again(self, labels: np.ndarray | None) -> bool:
        """Whether this generation learns these labels itself, with no model call (it
        learns and they are still enough to); then `labels` become the ones to fit."""
        if not self.learning or _count(labels) < LEARN_FROM:
            return False
        self.labels = labels
        self.taught_from = _count(labels)
        return True

    def fit_due(self, result: ResultColumn, complete: bool) -> tuple[int, int] | None:
        """If the head should be fitted again (more labelled rows are judged than the last
        fit saw, the judged rows doubled, or the column completed since): the judged
        labelled rows and judged rows with states now, for `fitted`; else None."""
        if not self.learning or self.fitting or self.labels is None:
            return None
        has = learnable_rows(result.model_probs, result.has_state)
        on = int(np.count_nonzero(has & ~np.isnan(self.labels)))
        done = int(np.count_nonzero(has))
        due = on > self.learned_on or done >= 2 * self.learned_done
        due = due or (complete and done > self.learned_done)
        return (on, done) if on >= 2 and due else None

    def spread(self, result: ResultColumn) -> np.ndarray:
        """Each row's reduced state (zeros where none is kept), so "label next" asks about
        rows unlike each other: the head's directions, else the judged rows' own (fitted
        again when they double)."""
        if result.states is None:
            return np.zeros((len(result), 1))
        has = learnable_rows(result.model_probs, result.has_state)
        n = int(np.count_nonzero(has))
        if n < 2:
            return np.zeros((len(result), 1))
        if self.learned is not None and self.learned.learned:
            reducer = self.learned.reducer
        else:
            if self.spread_by is None or n >= 2 * self.spread_by[1]:
                self.spread_by = (reducer_for(result.states, np.flatnonzero(has)), n)
            reducer = self.spread_by[0]
        z = np.zeros((len(result), len(reducer.scale)))
        z[has] = reducer.transform(np.asarray(result.states[has], dtype=np.float32))
        return z

    def first_rows(self) -> np.ndarray:
        """The labelled rows a learning column judges first (after the visible ones), so
        its head is fitted early: up to FIRST_LABELLED, a seeded sample of more."""
        if self.labels is None:
            return np.empty(0, dtype=np.int64)
        rows = np.flatnonzero(~np.isnan(self.labels))
        if len(rows) > FIRST_LABELLED:
            rows = np.sort(np.random.default_rng(2).choice(rows, FIRST_LABELLED, replace=False))
        return rows

    def fitted(self, learned: Learned | None, on: int, done: int) -> None:
        self.learned, self.learned_on, self.learned_done = learned, on, done

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
        marked: Sequence[int] = (),
    ) -> RuleRunner:
        """The runner judging the column: the rule taught from its labels when it has
        enough (examples now, from the first `marked` on: they stay as marks are added;
        the threshold is fitted on the model thread), and the rows held out to fit the
        threshold on once judged."""
        self.taught_from = _count(labels)
        self.held_rows = self.held_labels = self.held_fit = None
        self.held_at = 0
        self.labels, self.learned, self.learned_on, self.learned_done = labels, None, 0, 0
        self.spread_by = None
        self.learning = learns(rule, backend.keep_states, labels)
        base = RuleRunner(frame, rule, backend, cache, exclude=exclude)
        if self.learning or labels is None:
            return base
        runner = with_examples(base, labels, marked)
        if runner is not base and self.kind.thresholded:
            held = held_out_rows(labels, example_rows(runner, labels, runner.rule, marked))
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


def _count(labels: np.ndarray | None) -> int:
    return int(np.count_nonzero(~np.isnan(labels))) if labels is not None else 0
