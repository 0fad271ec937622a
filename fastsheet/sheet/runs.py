"""How a column runs: started once its inputs are complete, handed to the model thread or
the formula thread, its outcomes applied on the loop, completed, and its dependents
launched after it. `Evaluator` (engine.py) makes the edits; this is the half it runs by.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import Callable, Iterable

import numpy as np
import polars as pl

from fastsheet.backends.base import Backend
from fastsheet.data.errors import RuleError
from fastsheet.formula.parser import Formula
from fastsheet.sheet.cache import ResultCache
from fastsheet.sheet.column import Column
from fastsheet.sheet.events import ColumnEvent, Event, Update
from fastsheet.sheet.formulas import Compute, FormulaThread, formula_frame
from fastsheet.sheet.graph import SheetGraph
from fastsheet.sheet.learner import Fitted, Learner
from fastsheet.sheet.model_thread import Answered, Idle, Outcome
from fastsheet.sheet.schedule import Schedule

Apply = Callable[[Column, pl.Series, Formula], None]


class ColumnRuns:
    """Starting, running and completing the columns of `Evaluator` (its running half)."""

    frame: pl.DataFrame
    backend: Backend
    cache: ResultCache
    columns: dict[str, Column]
    marks: dict[str, dict[int, object]]
    thresholds: dict[str, float]
    schedule: Schedule
    loop: asyncio.AbstractEventLoop
    model_rows: int
    model_seconds: float
    _graph: SheetGraph | None
    _formulas: FormulaThread
    _learner: Learner
    _closing: bool
    _idle: asyncio.Event
    graph: SheetGraph
    _emit: Callable[[Event], None]
    excluded: Callable[[], list[str]]
    labels: Callable[[str], np.ndarray | None]
    answers_text: Callable[[str], pl.Series]
    values_of: Callable[[str], pl.Series]

    def _set_rule(self, rule, seen: set[str], history=None) -> int:  # the editing half's
        raise NotImplementedError

    def _restart(self, names: Iterable[str], seen: set[str], again: bool = False) -> None:
        """Start each column of `names` again, once per edit (`again`: even if seen)."""
        for name in names:
            if name in self.columns and (again or name not in seen):
                seen.add(name)
                with contextlib.suppress(RuleError):
                    self._set_rule(self.columns[name].rule, seen)

    def _restart_around(self, name: str, seen: set[str]) -> None:
        """After `name` changed: the columns reading it, those that named it before it
        existed, and every rule whose implied condition changed (its cache answers it)."""
        self._restart(self.graph.dependents(name), seen)
        self._restart(self.graph.waiting_on(name), seen)
        self._restart((n for n in list(self.columns) if self.graph.implied_changed(n)), seen, True)

    def _start(self, column: Column) -> None:
        name = column.rule.name
        self.schedule.set_priority(self.graph.order)
        deps = self.graph.deps(name)
        if broken := [d for d in deps if self.columns[d].error]:
            self._fail(
                column, f"Depends on {broken[0]!r}, which has an error: fix that rule first."
            )
            return
        self._idle.clear()
        if self.graph.nodes[name].judged:  # planned now; the thread gets its work at launch
            self.schedule.start(name, column.generation, None)
        else:  # a rule turned formula: its earlier generation's model work stops
            self.schedule.stop(name)
        if all(self.columns[d].complete for d in deps):
            self._launch(column)
        else:
            self._emit(ColumnEvent(name, column.generation, "waiting"))

    def _launch(self, column: Column) -> None:
        """Start a column whose dependencies are now complete."""
        self._emit(ColumnEvent(column.rule.name, column.generation, "started"))
        if not self.graph.nodes[column.rule.name].judged:
            self._compute(column)
        elif column.where:  # the condition first, off the loop; then only the rows it keeps
            self._off_loop(column, self.graph.condition, Formula.condition, self._apply_condition)
        else:
            self._ready(column)

    def _ready(self, column: Column, skip: np.ndarray | None = None) -> None:
        """Hand the column's runner to the schedule: the model thread reads no engine state."""
        name = column.rule.name
        deps = [d for d in self.graph.nodes[name].references if d in self.columns]
        frame = (
            self.frame.with_columns(*(self.answers_text(d) for d in deps)) if deps else self.frame
        )
        column.runner = column.decision.runner(
            frame,
            column.rule,
            self.backend,
            self.cache,
            self.excluded(),
            self.labels(name),
            marked=list(self.marks.get(name, {})),  # in the order they were marked
        )
        ready = [c.runner for c in self.columns.values() if c.runner is not None]
        self.backend.ask_together([(r.rule, r.columns) for r in ready])  # one request a row
        first = column.decision.first_rows() if column.decision.learning else None
        self.schedule.set_ready(name, column.generation, column.runner, skip, first)

    def _apply_condition(self, column: Column, keep: pl.Series, _formula: Formula) -> None:
        column.skip(skip := ~keep.to_numpy())
        self._ready(column, skip)

    def _compute(self, column: Column) -> None:
        self._off_loop(column, self.graph.formula, Formula.evaluate, self._apply_formula)

    def _apply_formula(self, column: Column, values: pl.Series, formula: Formula) -> None:
        column.computed(values, formula.type)
        self._graph = None  # its values' type may have changed

    def _off_loop(
        self, column: Column, parse: Callable[[str], Formula], compute: Compute, apply: Apply
    ) -> None:
        """Compute a formula of the column off the loop; `apply` it if still current."""
        name, generation = column.rule.name, column.generation
        try:
            formula = parse(name)
        except RuleError as exc:
            self._fail(column, str(exc))
            return
        self._idle.clear()
        frame = formula_frame(self.frame, name, formula, self.values_of)

        def done(job: concurrent.futures.Future) -> None:
            self._formulas.finished(name, generation)
            column = self.columns.get(name)
            if column is None or column.generation != generation:
                self._check_idle()
            elif job.exception() is not None:
                self._fail(column, f"The formula {formula.text!r} failed: {job.exception()}")
            else:
                apply(column, job.result(), formula)
                self._emit(Update(name, generation, (), (), "calibration"))  # every cell
                self._maybe_complete(column)
                self._check_idle()

        self._formulas.submit(name, generation, compute, formula, frame, done)

    def _check_idle(self) -> None:
        # a formula waiting for a cancelled rule is idle with it; one being computed is not
        if self.schedule.busy() or self._formulas.computing:
            return
        if any(c.decision.fitting or c.explaining for c in self.columns.values()):
            return
        planned = self.schedule.columns
        if not any(
            not c.complete and not c.error and n in planned for n, c in self.columns.items()
        ):
            self._idle.set()

    def _fail(self, column: Column, message: str) -> None:
        column.error = message
        self._graph = None
        self.schedule.stop(column.rule.name)
        column.fail_all(message)
        self._emit(ColumnEvent(column.rule.name, column.generation, "error", message))
        self._check_idle()

    # ----- outcomes, applied on the loop thread ---------------------------------------------

    def _post(self, fn: Callable[..., None], *args: object) -> None:
        if not self._closing and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(fn, *args)

    def _receive(self, outcome: Outcome) -> None:
        if isinstance(outcome, Idle):
            if outcome.epoch == self.schedule.epoch:
                self._check_idle()
            return
        task = outcome.task
        if isinstance(outcome, Answered) and outcome.source == "model":
            self.model_rows += len(outcome.rows)
            self.model_seconds += outcome.elapsed
        column = self.columns.get(task.column)
        if column is not None and column.generation == task.generation:  # not replaced
            applied = column.apply(outcome, self.schedule.is_current(task.column, task.generation))
            if applied.stopped:
                self.schedule.stop(task.column)
                self._graph = None
            if applied.recalibrate:
                self._recalibrate(column)
            for event in applied.events:
                self._emit(event)
            self._maybe_complete(column)
            if column.decision.learning:
                self._learn(column)
        self._check_idle()

    def _recalibrate(self, column: Column) -> None:
        name = column.rule.name
        if not column.recalibrate(self.thresholds.get(name)):
            return
        # the decision of every done cell may have changed: no per-row payload
        self._emit(Update(name, column.generation, (), (), "calibration"))
        if column.complete:  # formulas over it follow at once (they cost no model call)
            for dependent in self.graph.dependents(name):
                other = self.columns[dependent]
                if not self.graph.nodes[dependent].judged and other.complete:
                    self._compute(other)

    def _maybe_complete(self, column: Column) -> None:
        if column.finished < len(column.result) or column.completed_at is not None:
            return
        if column.decision.settle(column.finished):
            self._recalibrate(column)
        column.finish()
        name = column.rule.name
        self._emit(ColumnEvent(name, column.generation, "complete"))
        for dependent in self.graph.dependents(name):
            other = self.columns[dependent]
            deps = self.graph.deps(dependent)
            if other.error is None and all(self.columns[d].complete for d in deps):
                self._launch(other)

    def _learn(self, column: Column) -> None:
        """Fit the column's head on its labels and kept states, off the loop; the column
        re-decides from it when it comes back (no model call)."""
        if self._learner.start(column, self._post, self._learned):
            self._idle.clear()

    def _learned(self, name: str, generation: int, fitted: Fitted) -> None:
        column = self.columns.get(name)
        if column is not None and column.generation == generation:
            for event in self._learner.apply(column, fitted, self.thresholds.get(name)):
                self._emit(event)
            self._learn(column)  # labels or rows that came in while it fitted
        self._check_idle()
