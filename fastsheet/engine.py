"""The live evaluator, the coordinator of the layers: rule columns recalculate like formulas.

Data flows one way: an edit -> the graph (sheet/graph.py, pure) -> the schedule
(schedule.py) -> the model thread (sheet/model_thread.py) or the formula thread
(sheet/formulas.py) -> each column's results (sheet/column.py), decided by
sheet/decision.py -> events (sheet/events.py). `Evaluator` applies edits, asks the graph
what changed, starts and stops columns, applies outcomes on the loop thread and emits
events; its queries are the read side's (sheet/reads.py). A new edit cancels the old
generation at the next batch boundary; outcomes of a stale generation are dropped.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

import numpy as np
import polars as pl

from fastsheet.backend import Backend
from fastsheet.cache import NoCache, ResultCache
from fastsheet.errors import RuleError
from fastsheet.formula import Formula
from fastsheet.history import History
from fastsheet.learned import fit_input, learn
from fastsheet.reasons import ReasonWriter, verdict_text
from fastsheet.results import DONE, ResultColumn
from fastsheet.rules import Rule
from fastsheet.schedule import Schedule
from fastsheet.sheet.column import Column
from fastsheet.sheet.events import ColumnEvent, Event, Events, Update
from fastsheet.sheet.formulas import Compute, FormulaThread, formula_frame
from fastsheet.sheet.graph import SheetGraph, rebuilt
from fastsheet.sheet.model_thread import (
    Answered,
    Idle,
    ModelThread,
    Outcome,
)
from fastsheet.sheet.reads import SheetReads

__all__ = ["Column", "ColumnEvent", "Evaluator", "Event", "Update"]

log = logging.getLogger(__name__)
CLOSE_TIMEOUT_S = 900
Apply = Callable[[Column, pl.Series, Formula], None]


def _learn_and_redecide(fit: tuple, result: ResultColumn) -> tuple:
    """On the fit thread: the head, and every judged row re-decided by it."""
    learned = learn(*fit, result.kind.shape)
    return learned, result.redecide(learned) if learned is not None else None


class Evaluator(SheetReads, Events):
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
        #: fits of learned heads (numpy), off the loop
        self._fitter = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="fastsheet-fit")
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

    def _fail(self, column: Column, message: str) -> None:
        column.error = message
        self._graph = None
        self.schedule.stop(column.rule.name)
        column.fail_all(message)
        self._emit(ColumnEvent(column.rule.name, column.generation, "error", message))
        self._check_idle()

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

    def _learn(self, column: Column) -> None:
        """Fit the column's head on its labels and kept states, off the loop; the column
        re-decides from it when it comes back (no model call)."""
        decision, result = column.decision, column.result
        due = decision.fit_due(result, column.complete)
        if due is None:
            return
        name, generation = column.rule.name, column.generation
        labels = decision.labels
        on, done_rows = due
        fit = fit_input(result.model_probs, result.states, result.has_state, labels)
        decision.fitting = True
        self._idle.clear()
        job = self._fitter.submit(_learn_and_redecide, fit, result)

        def done(job: concurrent.futures.Future) -> None:
            self._post(self._learned, name, generation, labels, on, done_rows, job)

        job.add_done_callback(done)

    def _learned(
        self,
        name: str,
        generation: int,
        labels: np.ndarray,
        on: int,
        done_rows: int,
        job: concurrent.futures.Future,
    ) -> None:
        column = self.columns.get(name)
        if column is None or column.generation != generation:
            self._check_idle()
            return
        decision = column.decision
        decision.fitting = False
        if job.exception() is not None:
            log.error("fitting %r's head failed", name, exc_info=job.exception())
            decision.fitted(decision.learned, on, done_rows)  # not again until more comes in
            self._emit(
                ColumnEvent(name, generation, "warning", f"Learning failed: {job.exception()}")
            )
        else:
            learned, decided = job.result()
            decision.fitted(learned, on, done_rows)
            if decision.labels is not labels:  # marked again meanwhile
                decision.learned_on = -1
            column.result.use(learned, decided)
            column.recalibrate(self.thresholds.get(name))
            self._emit(Update(name, generation, (), (), "calibration"))  # every cell
            self._emit(ColumnEvent(name, generation, "learned"))
            if column.complete:
                column.relearned()
        self._learn(column)  # labels or rows that came in while it fitted
        self._check_idle()

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
        if column is None or column.runner is None or column.result.kind.stores_text:
            return 0
        done = [int(r) for r in rows if column.result.state[int(r)] == DONE]
        values = column.result.decide_rows(done, column.calibration)[0] if done else []
        if column.writer is None:
            column.writer = ReasonWriter(column.rule, column.runner)
        queued = []
        for row, value in zip(done, values, strict=True):
            verdict = verdict_text(column.rule, value)
            known = column.reasons.get(row)
            if (known is not None and known.verdict == verdict) or (
                row in column.explaining and column.writer.verdicts.get(row) == verdict
            ):
                continue
            column.writer.verdicts[row] = verdict
            column.explaining.add(row)
            queued.append(row)
        if queued:
            self._idle.clear()
            self.schedule.ask_reasons(name, column.generation, queued, column.writer)
            self._emit(ColumnEvent(name, column.generation, "reasons"))
        return len(queued)

    # ----- what an edit starts again ------------------------------------------------------

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

    def close(self) -> None:
        """Stop the model thread after its current batch."""
        self._closing = self.model_thread.closing = True
        self.schedule.close()
        self._formulas.close()
        self._fitter.shutdown(wait=False, cancel_futures=True)
        # wait for the batch in flight: llama.cpp cannot be interrupted, and two threads
        # (a second sheet's) must never use the backend at once
        if not self.model_thread.close(CLOSE_TIMEOUT_S):
            log.error("the model thread did not stop within %d s", CLOSE_TIMEOUT_S)
