"""The live evaluator, the coordinator of the layers: rule columns recalculate like formulas.

Data flows one way: an edit -> the graph (graph.py, pure) -> the schedule (schedule.py)
-> the model thread (model_thread.py) or the formula thread (formulas.py) -> each
column's results (column.py), decided by decision.py -> events (events.py).
`Evaluator` applies edits and asks the graph what changed; how a column then starts,
runs and completes is its running half (runs.py); its queries are the read side's
(reads.py). A new edit cancels the old generation at the next batch boundary; outcomes
of a stale generation are dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import polars as pl

from fastsheet.backends.base import Backend
from fastsheet.data.errors import RuleError
from fastsheet.kinds.rules import Rule
from fastsheet.sheet.cache import NoCache, ResultCache
from fastsheet.sheet.column import Column
from fastsheet.sheet.events import ColumnEvent, Event, Events, Update
from fastsheet.sheet.formulas import FormulaThread
from fastsheet.sheet.graph import SheetGraph, rebuilt
from fastsheet.sheet.history import History
from fastsheet.sheet.learner import Learner
from fastsheet.sheet.model_thread import ModelThread
from fastsheet.sheet.reads import SheetReads
from fastsheet.sheet.runs import ColumnRuns
from fastsheet.sheet.schedule import Schedule

__all__ = ["Column", "ColumnEvent", "Evaluator", "Event", "Update"]

log = logging.getLogger(__name__)
CLOSE_TIMEOUT_S = 900


class Evaluator(ColumnRuns, SheetReads, Events):
    """Rule columns over one dataset, evaluated live by one model thread."""

    def __init__(
        self,
        frame: pl.DataFrame,
        backend: Backend,
        cache: ResultCache | None = None,
        seed: int = 0,
        first_batch: int = 2,
        max_batch: int = 16,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.frame = frame
        self.backend = backend
        self.cache = cache if cache is not None else NoCache()
        self.marks: dict[str, dict[int, object]] = {}  # rule name -> row -> known answer
        self.thresholds: dict[str, float] = {}  # rule name -> threshold the user set
        self.loop = loop or asyncio.get_event_loop()
        # a server with many requests in flight takes bigger batches than the local model
        self.schedule = Schedule(
            frame.height, seed, first_batch, max(max_batch, backend.batch_size())
        )
        self.columns: dict[str, Column] = {}
        Events.__init__(self)
        self._next_generation = 1
        self._closing = False
        self._graph: SheetGraph | None = None
        self._last: SheetGraph | None = None  # the graph before the last change
        self._formulas = FormulaThread(self._post)
        self._learner = Learner()  # fits of learned heads (numpy), off the loop
        self.model_thread = ModelThread(
            self.schedule, lambda outcome: self._post(self._receive, outcome), self.cache.close
        )

    @property
    def graph(self) -> SheetGraph:
        """The sheet's graph as it stands (built anew after each change to a column)."""
        if self._graph is None:
            nodes = {name: column.node() for name, column in self.columns.items()}
            self._graph = self._last = rebuilt(self.frame.schema, nodes, self._last)
        return self._graph

    # ----- editing --------------------------------------------------------------------------

    def set_rule(self, rule: Rule) -> int:
        """Start a new generation of `rule.name`; returns its number. An unknown {column}
        or a cycle raises RuleError after the column keeps the new text, in an error state,
        so nothing typed is lost. Columns that refer to this one start again after it."""
        return self._set_rule(rule, seen={rule.name})

    def rename(self, old: str, new: str) -> int:
        """Call column `old` `new`: its marks, threshold and history go with it, and its
        answers come back from the cache. Columns reading `old` show an unknown column."""
        column = self.columns[old]
        marks, threshold = self.marks.pop(old, None), self.thresholds.pop(old, None)
        self.remove(old)
        if marks:
            self.marks[new] = marks
        if threshold is not None:
            self.thresholds[new] = threshold
        history = column.history
        if history.entries and history.entries[-1].rule.identity() == column.rule.identity():
            history.entries.pop()  # the same version, under its new name next
        return self._set_rule(replace(column.rule, name=new), {new}, history)

    def _set_rule(self, rule: Rule, seen: set[str], history: History | None = None) -> int:
        generation, name = self._next_generation, rule.name
        self._next_generation += 1
        old = self.columns.get(name)
        if old is not None and old.rule.identity() != rule.identity():
            self.thresholds.pop(name, None)  # a new rule has a new score distribution
        history = history or (old.history if old else None)
        column = Column.new(rule, generation, len(self.frame), history)
        self.columns[name] = column
        self._graph = None
        column.implied = self.graph.implied(name)
        self._graph = None
        try:
            self.graph.check(name)
        except RuleError as exc:
            self._fail(column, str(exc))
            raise
        else:
            self._start(column)
        finally:
            self._restart_around(name, seen)
        return generation

    def remove(self, name: str) -> None:
        """Delete a column; columns that referred to it show an unknown-column error."""
        dependents = self.graph.dependents(name)
        column = self.columns.pop(name, None)
        self._graph = None
        self.schedule.stop(name)
        if column is not None:
            self._emit(ColumnEvent(name, column.generation, "removed"))
        for dependent in dependents:
            self._restart([dependent], set())
        self._restart((n for n in list(self.columns) if self.graph.implied_changed(n)), set())
        self._check_idle()

    def cancel(self, name: str | None = None) -> None:
        """Stop evaluating a column (or all); cells done so far stay, reasons not yet
        written are dropped."""
        for n in [name] if name else list(self.columns):
            self.schedule.stop(n)
            column = self.columns.get(n)
            if column is not None and column.explaining:
                column.explaining.clear()
                self._emit(ColumnEvent(n, column.generation, "reasons"))
        self._check_idle()

    def set_visible(self, rows: Sequence[int] | range) -> None:
        """Rows on screen: they are evaluated first."""
        self.schedule.set_visible(np.asarray(rows, dtype=np.int64))

    def set_marks(self, name: str, marks: dict[int, object], teach: bool = True) -> None:
        """The rule's own known answers (row -> bool or label). With `teach`, the column
        starts again if what it is taught changes; without, only agreement changes until
        `teach_again` is called (the UI debounces marking)."""
        self.marks[name] = dict(marks)
        if teach:
            self.teach_again(name)

    def teach_again(self, name: str) -> None:
        """Start the column again if its labels now teach it something different; a
        column that learns its labels (learned.py) re-decides from its states instead."""
        column = self.columns.get(name)
        if column is None or column.error:
            return
        labels = self.labels(name)
        if column.decision.learns_again(labels):
            column.decision.learned_on = -1  # fit again, even with no new row judged
            self._learn(column)
        elif column.decision.retaught(labels):
            with contextlib.suppress(RuleError):
                self.set_rule(column.rule)

    def set_threshold(self, name: str, threshold: float | None) -> None:
        """A flag threshold the user chose (None: back to the fitted one); no model call."""
        if threshold is None:
            self.thresholds.pop(name, None)
        else:
            self.thresholds[name] = float(min(max(threshold, 1e-6), 1 - 1e-6))
        column = self.columns.get(name)
        if column is not None:
            self._recalibrate(column)

    def set_yes_means(self, name: str, yes_means: str) -> None:
        """What a flag's yes means (polarity.py): its look and words change, no model call."""
        column = self.columns[name]
        column.rule = column.result.rule = replace(column.rule, yes_means=yes_means)
        self._recalibrate(column)

    def explain(self, name: str, rows: Sequence[int]) -> int:
        """Ask for a reason for each judged row of `rows` (reasons.py), at the back of the
        model thread's queue; rows whose reason for their verdict is known or queued are
        skipped. Returns how many were queued."""
        column = self.columns.get(name)
        queued = column.reasons_to_ask(rows) if column is not None else []
        if queued:
            self._idle.clear()
            self.schedule.ask_reasons(name, column.generation, queued, column.writer)
            self._emit(ColumnEvent(name, column.generation, "reasons"))
        return len(queued)

    def close(self) -> None:
        """Stop the model thread after its current batch."""
        self._closing = self.model_thread.closing = True
        self.schedule.close()
        self._formulas.close()
        self._learner.close()
        # wait for the batch in flight: llama.cpp cannot be interrupted, and two threads
        # (a second sheet's) must never use the backend at once
        if not self.model_thread.close(CLOSE_TIMEOUT_S):
            log.error("the model thread did not stop within %d s", CLOSE_TIMEOUT_S)
