"""The live evaluator: rule columns recalculate like spreadsheet formulas.

One worker thread owns the model backend and takes tasks from the Schedule. Results
come back to the asyncio loop as values (`Update`, `ColumnEvent`); the loop thread
owns every column's state, and drops results of a generation that is no longer
current. A new edit cancels the old generation at the next batch boundary.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import polars as pl

from fastsheet.backend import Backend, Interrupted
from fastsheet.cache import NoCache, ResultCache
from fastsheet.calibrate import (
    Calibration,
    Mode,
    choose,
    unlabeled_flag,
)
from fastsheet.cells import Answer, Cell
from fastsheet.errors import BackendFailure, FastsheetError, RuleError
from fastsheet.formula import Formula, names, parse_formula
from fastsheet.history import Diff, Generation, History, decision_codes
from fastsheet.kinds import kind_of
from fastsheet.kinds.formula import FORMULA
from fastsheet.labels import label_array
from fastsheet.priority import lower_this_thread
from fastsheet.results import (
    CACHE,
    DONE,
    ERROR,
    MODEL,
    PENDING,
    RUNNING,
    SKIPPED,
    ResultColumn,
)
from fastsheet.rules import Rule
from fastsheet.runner import RuleRunner, example_rows, teaching_input
from fastsheet.schedule import Schedule, Task
from fastsheet.shortcircuit import any_of, both, needed_where
from fastsheet.summary import GoldAgreement, Summary, agreement, breakdown, summarize
from fastsheet.teach import (
    MIN_HELD_OUT,
    MIN_LABELS,
    examples_for,
    held_out_calibration,
    held_out_rows,
    teach,
)

log = logging.getLogger(__name__)
CLOSE_TIMEOUT_S = 900


@dataclass(frozen=True)
class Update:
    """New cell values for some rows of one column's generation."""

    column: str
    generation: int
    rows: tuple[int, ...]
    cells: tuple[Cell, ...]
    source: str  # "cache" | "model" | "running" | "error"; "calibration": every done cell


@dataclass(frozen=True)
class ColumnEvent:
    """A change in a column's state: started, waiting, complete, error, removed."""

    column: str
    generation: int
    kind: str
    message: str = ""


Event = Update | ColumnEvent


@dataclass
class Column:
    """The loop thread's state for one rule column."""

    rule: Rule
    generation: int
    result: ResultColumn
    calibration: Calibration = field(default_factory=Calibration)
    content_free: Calibration | None = None
    lesson: Calibration | None = None  # the threshold fitted on the rule's labels
    taught_from: int = 0  # labels the rule was taught from (examples and threshold)
    unlabeled: Calibration | None = None  # the threshold without labels, last fitted at:
    unlabeled_at: int = 0  # done rows then
    #: labeled rows beyond the teaching ones (flag), and their labels: once judged, the
    #: threshold is fitted on them, last at `held_at` of them done
    held_rows: np.ndarray | None = None
    held_labels: np.ndarray | None = None
    held_fit: Calibration | None = None
    held_at: int = 0
    history: History = field(default_factory=History)
    error: str | None = None
    #: where the formulas reading this rule need it (`a and rule` needs it where a is
    #: true); "" when something needs every row
    implied: str = ""
    runner: RuleRunner | None = None
    finished: int = 0  # rows done or failed in this generation
    started: float = field(default_factory=time.perf_counter)
    completed_at: float | None = None

    @property
    def complete(self) -> bool:
        return self.finished >= len(self.result) and self.error is None

    @property
    def where(self) -> str:
        """The rows the column is judged on: its own condition and the implied one."""
        return both(self.rule.where, self.implied)


class Evaluator:
    """Rule columns over one dataset, evaluated live by one worker thread."""

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
        max_batch = max(max_batch, backend.batch_size())
        self.schedule = Schedule(
            frame.height, seed=seed, first_batch=first_batch, max_batch=max_batch
        )
        self.columns: dict[str, Column] = {}
        self._listeners: list[Callable[[Event], None]] = []
        self._next_generation = 1
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False
        self.model_rows = 0
        self.model_seconds = 0.0
        self._computing: dict[str, int] = {}  # formula columns being computed: generation
        self._formulas = concurrent.futures.ThreadPoolExecutor(1, "fastsheet-formula")
        self._worker = threading.Thread(target=self._work, name="fastsheet-model", daemon=True)
        self._worker.start()

    # ----- editing --------------------------------------------------------------------------

    def set_rule(self, rule: Rule) -> int:
        """Start a new generation of `rule.name`; returns its number.

        An unknown {column} or a dependency cycle raises RuleError; the column keeps
        the new rule text, in an error state, so nothing typed is lost. Columns that
        refer to this one start again after it."""
        return self._set_rule(rule, seen={rule.name})

    def _set_rule(self, rule: Rule, seen: set[str]) -> int:
        generation = self._next_generation
        self._next_generation += 1
        old = self.columns.get(rule.name)
        if old is not None and old.rule.identity() != rule.identity():
            self.thresholds.pop(rule.name, None)  # a new rule has a new score distribution
        result = kind_of(rule).new_result(rule, self.frame.height, generation)
        column = Column(rule, generation, result, implied=self._implied(rule))
        if old is not None:
            column.history = old.history
        column.history.add(generation, rule)
        self.columns[rule.name] = column
        try:
            self._check(rule)
        except RuleError as exc:
            column.error = str(exc)
            self._fail(column)
            self._restart_dependents(rule.name, seen)
            self._restart_implied(seen)
            raise
        self._start(column)
        self._restart_dependents(rule.name, seen)
        self._restart_implied(seen)
        return generation

    def _fail(self, column: Column) -> None:
        self.schedule.stop(column.rule.name)
        column.result.set_error(range(self.frame.height), column.error or "error")
        self._emit(ColumnEvent(column.rule.name, column.generation, "error", column.error or ""))
        self._check_idle()

    def remove(self, name: str) -> None:
        """Delete a column; columns that referred to it show an unknown-column error."""
        dependents = self._dependents(name)
        column = self.columns.pop(name, None)
        self.schedule.stop(name)
        if column is not None:
            self._emit(ColumnEvent(name, column.generation, "removed"))
        for dependent in dependents:
            with contextlib.suppress(RuleError):
                self._set_rule(self.columns[dependent].rule, {dependent})
        self._restart_implied(set())
        self._check_idle()

    def cancel(self, name: str | None = None) -> None:
        """Stop evaluating a column (or all); cells done so far stay."""
        for n in [name] if name else list(self.columns):
            self.schedule.stop(n)
        self._check_idle()

    def set_visible(self, rows: Sequence[int] | range) -> None:
        """Rows on screen: they are evaluated first."""
        self.schedule.set_visible(np.asarray(rows, dtype=np.int64))

    def set_marks(self, name: str, marks: dict[int, object], teach: bool = True) -> None:
        """The rule's own known answers (row -> bool or label).

        With `teach`, the column starts again if what it is taught changes (examples and
        threshold come from its labels once there are MIN_LABELS of them); without, only
        agreement changes until `teach_again` is called (the UI debounces marking)."""
        self.marks[name] = dict(marks)
        if teach:
            self.teach_again(name)

    def teach_again(self, name: str) -> None:
        """Start the column again if its labels now teach it something different."""
        column = self.columns.get(name)
        if column is None or column.error:
            return
        labels = self.labels(name)
        n = int(np.count_nonzero(~np.isnan(labels))) if labels is not None else 0
        if n < MIN_LABELS and column.taught_from < MIN_LABELS:
            return  # not taught before, nor now: nothing to recompute
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

    def excluded(self) -> list[str]:
        """Data columns never shown to the model: every rule's gold column."""
        return sorted({c.rule.gold for c in self.columns.values() if c.rule.gold})

    def _check(self, rule: Rule) -> None:
        names = set(self.frame.columns) | set(self.columns)
        unknown = [r for r in rule.references() if r not in names]
        if unknown and kind_of(rule).judged:  # a formula's own parser says where
            rule.check_columns(
                list(self.frame.columns) + [n for n in self.columns if n != rule.name]
            )
        if rule.name in self.frame.columns:
            raise RuleError(f"A data column is already called {rule.name!r}: pick another name.")
        if rule.gold and rule.gold not in self.frame.columns:
            raise RuleError(
                f"Rule {rule.name!r} takes its labels from {rule.gold!r}, which is not a column."
            )
        if rule.gold and rule.gold in rule.references():
            raise RuleError(
                f"Rule {rule.name!r} names its own labels column {{{rule.gold}}}: the model "
                "must never see the answers. Remove the reference or pick other labels."
            )
        cycle = self._cycle_from(rule.name)
        if cycle:
            raise RuleError(
                f"Rule {rule.name!r} depends on itself: {' → '.join(cycle)}. "
                "Remove one of these references."
            )
        if not kind_of(rule).judged:
            self._formula(rule)  # its types must fit: `years >= "five"` fails here
        if rule.where:
            self._condition(rule)

    def _types(self, rule: Rule) -> dict[str, pl.DataType]:
        """What a formula of `rule` may read: the data, and every other column's values."""
        types: dict[str, pl.DataType] = dict(self.frame.schema)
        for name, column in self.columns.items():
            if name != rule.name:
                types[name] = column.result.value_dtype()
        return types

    def _formula(self, rule: Rule) -> Formula:
        """A formula column's expression over the data and the columns it reads."""
        return FORMULA.parse(rule, self._types(rule))

    def _condition(self, rule: Rule) -> Formula:
        """A rule's condition (`only where …`, and the implied one), true or false."""
        column = self.columns.get(rule.name)
        where = column.where if column is not None and column.rule is rule else rule.where
        try:
            return parse_formula(where, self._types(rule)).require_condition()
        except RuleError as exc:
            raise RuleError(f"The condition of {rule.name!r}: {exc}") from None

    def _deps(self, name: str) -> list[str]:
        column = self.columns.get(name)
        if column is None:
            return []
        wanted = [*column.rule.dependencies(), *names(column.implied)]
        return [r for r in dict.fromkeys(wanted) if r in self.columns]

    # ----- short-circuit: a rule judged only where the formulas reading it need it ----------

    def _implied(self, rule: Rule) -> str:
        """Where the columns reading `rule` need it: "" for every row (see shortcircuit)."""
        if not kind_of(rule).judged:
            return ""
        name, conditions = rule.name, []
        for reader in self.columns.values():
            if reader.rule.name == name or name not in reader.rule.dependencies():
                continue
            if reader.result.kind.judged or name in names(reader.rule.where):
                if reader.error:
                    continue
                return ""  # a rule's record or a condition reads it on every row
            condition = needed_where(reader.rule.text, name, self._exact)
            if reader.error:  # a formula waiting for this rule, or being typed: its exact
                if condition is None or not self._readable(condition, rule):  # part counts
                    continue
            elif condition is None:
                return ""
            conditions.append(condition)
        return any_of(conditions) if conditions else ""

    def _readable(self, condition: str, rule: Rule) -> bool:
        try:
            parse_formula(condition, self._types(rule)).require_condition()
        except RuleError:
            return False
        return True

    def _exact(self, name: str, seen: frozenset[str] = frozenset()) -> bool:
        """A data column, or a formula column over exact columns (no model anywhere)."""
        column = self.columns.get(name)
        if column is None:
            return name in self.frame.columns
        if column.result.kind.judged or column.error or name in seen:
            return False
        return all(self._exact(d, seen | {name}) for d in column.rule.dependencies())

    def _restart_implied(self, seen: set[str]) -> None:
        """Start again each rule whose implied condition changed (its cache answers it).

        Not limited by `seen`: a rule's implied condition depends only on its readers'
        text, so each restart settles it."""
        for name, column in list(self.columns.items()):
            if not column.result.kind.judged:
                continue
            if self._implied(column.rule) != column.implied:
                seen.add(name)
                with contextlib.suppress(RuleError):
                    self._set_rule(column.rule, seen)

    def _cycle_from(self, start: str) -> list[str] | None:
        def visit(name: str, path: list[str]) -> list[str] | None:
            for dep in self._deps(name):
                if dep == start:
                    return [*path, dep]
                if dep not in path:
                    found = visit(dep, [*path, dep])
                    if found:
                        return found
            return None

        return visit(start, [start])

    def _order(self) -> list[str]:
        """Column names, dependencies first."""
        done: list[str] = []

        def visit(name: str, seen: set[str]) -> None:
            if name in done or name in seen:
                return
            for dep in self._deps(name):
                visit(dep, seen | {name})
            done.append(name)

        for name in self.columns:
            visit(name, set())
        return done

    def _dependents(self, name: str) -> list[str]:
        return [n for n in self._order() if name in self._deps(n)]

    def _restart_dependents(self, name: str, seen: set[str]) -> None:
        """Start again every column that refers to `name` (each once)."""
        for dependent in self._dependents(name):
            if dependent in seen:
                continue
            seen.add(dependent)
            with contextlib.suppress(RuleError):
                self._set_rule(self.columns[dependent].rule, seen)
        self._revive_waiting_for(name, seen)

    def _revive_waiting_for(self, name: str, seen: set[str]) -> None:
        """A column whose rule named `name` before it existed can run now."""
        for other in list(self.columns.values()):
            if other.error and other.rule.name not in seen and name in other.rule.dependencies():
                seen.add(other.rule.name)
                with contextlib.suppress(RuleError):
                    self._set_rule(other.rule, seen)

    def _start(self, column: Column) -> None:
        name = column.rule.name
        self.schedule.set_priority(self._order())
        deps = self._deps(name)
        broken = [d for d in deps if self.columns[d].error]
        if broken:
            column.error = f"Depends on {broken[0]!r}, which has an error: fix that rule first."
            self._fail(column)
            return
        self._idle.clear()
        if column.result.kind.judged:  # planned now; the worker gets its runner at launch
            self.schedule.start(name, column.generation, None)
        else:  # a rule turned formula: its earlier generation's model work stops
            self.schedule.stop(name)
        if all(self.columns[d].complete for d in deps):
            self._launch(column)
        else:
            self._emit(ColumnEvent(name, column.generation, "waiting"))

    def _launch(self, column: Column) -> None:
        """Start a column whose dependencies are now complete."""
        name, generation = column.rule.name, column.generation
        self._emit(ColumnEvent(name, generation, "started"))
        if not column.result.kind.judged:
            self._compute(column)
        elif column.where:
            self._launch_conditioned(column)
        else:
            # the worker gets the runner with each task; it reads no engine state
            self._make_runner(column)
            self.schedule.set_ready(name, generation, column.runner)

    def _launch_conditioned(self, column: Column) -> None:
        """Compute the condition off the loop; then judge only the rows it keeps."""
        self._off_loop(column, self._condition, Formula.condition, self._apply_condition)

    def _apply_condition(self, column: Column, keep: pl.Series, _formula: Formula) -> None:
        name, generation = column.rule.name, column.generation
        skip = ~keep.to_numpy()
        column.result.set_skipped(skip)
        column.finished += column.result.skipped
        self._make_runner(column)
        self.schedule.set_ready(name, generation, column.runner, skip)
        self._emit(Update(name, generation, (), (), "calibration"))  # the skipped cells

    def _formula_frame(self, name: str, formula: Formula) -> pl.DataFrame:
        """The columns a formula reads: its data columns, and other columns' values."""
        data = [c for c in formula.references if c in self.frame.columns]
        frame = self.frame.select(data or self.frame.columns[:1])  # keeps the row count
        return frame.with_columns(
            self.values_of(c) for c in formula.references if c in self.columns and c != name
        )

    def _compute(self, column: Column) -> None:
        """Compute a formula column off the loop (polars, every row at once)."""
        self._off_loop(column, self._formula, Formula.evaluate, self._apply_formula)

    def _apply_formula(self, column: Column, values: pl.Series, formula: Formula) -> None:
        column.result.set_values(values, formula.type)  # type: ignore[attr-defined]
        column.finished = len(column.result)
        column.completed_at = None  # recomputed: complete again, so dependents follow
        self._emit(Update(column.rule.name, column.generation, (), (), "calibration"))

    def _off_loop(
        self,
        column: Column,
        parse: Callable[[Rule], Formula],
        compute: Callable[[Formula, pl.DataFrame], pl.Series],
        apply: Callable[[Column, pl.Series, Formula], None],
    ) -> None:
        """Parse a formula of the column, compute it on the formula thread, and `apply`
        the result on the loop (if the column's generation is still current)."""
        name, generation = column.rule.name, column.generation
        try:
            formula = parse(column.rule)
        except RuleError as exc:
            column.error = str(exc)
            self._fail(column)
            return
        frame = self._formula_frame(name, formula)
        self._computing[name] = generation
        self._idle.clear()
        job = self._formulas.submit(compute, formula, frame)

        def done(job: concurrent.futures.Future) -> None:
            self._post(self._computed, name, generation, formula, job, apply)

        job.add_done_callback(done)

    def _computed(
        self,
        name: str,
        generation: int,
        formula: Formula,
        job: concurrent.futures.Future,
        apply: Callable[[Column, pl.Series, Formula], None],
    ) -> None:
        if self._computing.get(name) == generation:
            del self._computing[name]
        column = self.columns.get(name)
        if column is None or column.generation != generation:
            self._check_idle()
            return
        if job.exception() is not None:
            column.error = f"The formula {formula.text!r} failed: {job.exception()}"
            self._fail(column)
            return
        apply(column, job.result(), formula)
        self._maybe_complete(column)
        self._check_idle()

    def values_of(self, name: str) -> pl.Series:
        """A column's values, typed, as a formula reads them (empty where none yet)."""
        column = self.columns[name]
        return column.result.export_columns(column.calibration)[0].alias(name)

    def _make_runner(self, column: Column) -> None:
        frame = self.frame
        deps = [d for d in column.rule.references() if d in self.columns]  # the record's
        if deps:
            frame = frame.with_columns(*(self.answers_text(d) for d in deps))
        exclude = self.excluded()
        rule = column.rule
        base = RuleRunner(frame, rule, self.backend, self.cache, exclude=exclude)
        labels = self.labels(rule.name)
        column.taught_from = int(np.count_nonzero(~np.isnan(labels))) if labels is not None else 0
        records, answers = teaching_input(base, labels)
        column.held_rows = column.held_labels = column.held_fit = None
        column.held_at = 0
        if records:  # examples now; the threshold is fitted on the worker (calibrate task)
            taught = replace(rule, examples=examples_for(rule, records, answers))
            base = RuleRunner(frame, taught, self.backend, self.cache, exclude=exclude)
            base.teaching = (records, answers)
            held = (
                held_out_rows(labels, example_rows(base, labels, taught))
                if kind_of(rule).thresholded
                else None
            )
            if held is not None:
                column.held_rows, column.held_labels = held, labels[held]
        column.runner = base

    def answers_text(self, name: str) -> pl.Series:
        """A rule column's answers as text (yes / no, label, score, text; empty if none)."""
        column = self.columns[name]
        return column.result.as_text(column.calibration).alias(name)

    # ----- reading ------------------------------------------------------------------------

    def cell(self, name: str, row: int) -> Cell:
        return self.cells(name, [row])[0]

    def cells(self, name: str, rows: Sequence[int]) -> tuple[Cell, ...]:
        """The cells of many rows in one vectorised read (what a screen of the grid shows)."""
        column = self.columns[name]
        return column.result.cells(rows, column.calibration)

    def summary(self, name: str) -> Summary:
        column = self.columns[name]
        prioritised = self.schedule.prioritised(name, column.generation)
        return summarize(column.result, column.calibration, prioritised)

    def labels(self, name: str) -> np.ndarray | None:
        """The rule's known answers per row (NaN: unknown), or None if it takes none."""
        column = self.columns.get(name)
        if column is None:
            return None
        labels = label_array(column.rule, self.frame, self.marks.get(name))
        if labels is not None and column.result.skipped:
            # a row outside the condition is not the rule's to answer: its label neither
            # teaches the rule nor counts for agreement
            labels[column.result.state == SKIPPED] = np.nan
        return labels

    def gold_values(self, name: str) -> np.ndarray | None:
        """The rule's known answers, or None when it has none at all."""
        labels = self.labels(name)
        if labels is None or np.isnan(labels).all():
            return None
        return labels

    def agreement(self, name: str) -> GoldAgreement | None:
        gold = self.gold_values(name)
        if gold is None:
            return None
        column = self.columns[name]
        return agreement(column.result, column.calibration, gold)

    def breakdown(self, name: str, by: str) -> pl.DataFrame:
        column = self.columns[name]
        return breakdown(self.frame, column.result, column.calibration, by)

    def history(self, name: str) -> list[Generation]:
        return list(self.columns[name].history.entries)

    def diff(self, name: str, old: int, new: int | None = None) -> Diff | None:
        column = self.columns[name]
        return column.history.diff(old, new if new is not None else column.generation)

    @property
    def rows_per_s(self) -> float:
        return self.model_rows / self.model_seconds if self.model_seconds else 0.0

    # ----- results out ----------------------------------------------------------------------

    def subscribe(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        """Call `listener` on the loop thread for every event; returns an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def updates(self) -> AsyncIterator[Event]:
        """Every event from now on, as an async iterator."""
        queue: asyncio.Queue[Event] = asyncio.Queue()
        unsubscribe = self.subscribe(queue.put_nowait)
        try:
            while True:
                yield await queue.get()
        finally:
            unsubscribe()

    async def wait_idle(self, timeout: float | None = None) -> None:
        """Until no column has work left (waiting dependents included)."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    def _emit(self, event: Event) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must not stop evaluation
                log.exception("listener failed on %s", event)

    # ----- the worker thread ------------------------------------------------------------

    def _work(self) -> None:
        """Take tasks until closed; each carries its runner, results go back as values.

        The thread owns its own connection to the cache file, and closes it on the way out.
        It runs below the window's priority, so the grid stays responsive (priority.py)."""
        lower_this_thread()
        try:
            self._take_tasks()
        finally:
            self.cache.close()

    def _take_tasks(self) -> None:
        while True:
            task = self.schedule.wait_task(lambda epoch: self._post(self._worker_idle, epoch))
            if task is None:
                return
            try:
                self._run(task)
            except Interrupted:  # the work went stale while in flight: nothing to apply
                log.debug("dropped a stale %s task of %s", task.kind, task.column)
                self._post(self._apply_dropped, task)
            except Exception as exc:  # report, never die
                log.warning("task %s of %s failed: %s", task.kind, task.column, exc)
                if not isinstance(exc, FastsheetError):
                    log.exception("task %s failed", task.kind)
                message = (
                    str(exc) if isinstance(exc, FastsheetError) else f"{type(exc).__name__}: {exc}"
                )
                answered = exc.answered if isinstance(exc, BackendFailure) else {}
                if answered and task.kind == "judge":
                    rows = [task.rows[i] for i in answered]
                    self._post(self._apply_answers, task, rows, list(answered.values()), "model")
                fatal = isinstance(exc, BackendFailure) and exc.fatal
                self._post(self._apply_error, task, message, fatal, frozenset(answered))

    def _post(self, fn: Callable[..., None], *args: object) -> None:
        if not self._closing and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(fn, *args)

    def _run(self, task: Task) -> None:
        runner = task.work
        if not isinstance(runner, RuleRunner) or not self.schedule.is_current(
            task.column, task.generation
        ):
            return
        if task.kind == "cache":
            hit_rows, hits = runner.cached(task.rows)
            self.schedule.mark_done(task.column, task.generation, hit_rows)
            self._post(self._apply_answers, task, hit_rows, hits, "cache")
        elif task.kind == "calibrate":
            kind = kind_of(runner.rule)
            if kind.probes_content_free:
                answers = runner.content_free_answers()
                self._post(self._apply_content_free, task, answers)
            records, labels = runner.teaching
            if records and kind.thresholded:
                lesson = teach(runner.rule, records, labels, runner.judge_with)
                self._post(self._apply_lesson, task, lesson.calibration)
        else:
            self._post(self._apply_running, task)
            start = time.perf_counter()
            runner.backend.interrupt_when(
                lambda: self._closing or not self.schedule.is_current(task.column, task.generation)
            )
            try:
                answers = runner.compute(task.rows)
            finally:
                runner.backend.interrupt_when(None)
            elapsed = time.perf_counter() - start
            self._post(self._apply_answers, task, list(task.rows), answers, "model", elapsed)

    # ----- applied on the loop thread ---------------------------------------------------

    def _current(self, task: Task) -> Column | None:
        column = self.columns.get(task.column)
        return column if column is not None and column.generation == task.generation else None

    def _worker_idle(self, epoch: int) -> None:
        if epoch == self.schedule.epoch:
            self._check_idle()

    def _check_idle(self) -> None:
        with self.schedule.lock:
            busy = any(
                p.ready and (p.left > 0 or p.cache_cursor < len(p.cache_order) or not p.calibrated)
                for p in self.schedule.columns.values()
            )
            waiting = any(not p.ready for p in self.schedule.columns.values())
        in_flight = any(
            not c.complete and c.error is None and c.rule.name in self.schedule.columns
            for c in self.columns.values()
        )
        # a formula waiting for its columns is idle with them (a cancelled rule leaves it
        # waiting); one being computed is not
        if not busy and not waiting and not in_flight and not self._computing:
            self._idle.set()

    def _apply_running(self, task: Task) -> None:
        column = self._current(task)
        if column is None or not self.schedule.is_current(task.column, task.generation):
            return  # replaced, stopped or failed since the task was taken
        column.result.set_state(task.rows, RUNNING)
        cells = column.result.cells(task.rows, column.calibration)
        self._emit(Update(task.column, task.generation, task.rows, cells, "running"))

    def _apply_answers(
        self, task: Task, rows: list[int], answers: list[Answer], source: str, elapsed: float = 0.0
    ) -> None:
        if source == "model":
            self.model_rows += len(rows)
            self.model_seconds += elapsed
        column = self._current(task)
        if column is None or not rows:
            self._check_idle()
            return
        column.finished += column.result.unfinished(rows)
        column.result.set_answers(rows, answers, CACHE if source == "cache" else MODEL)
        if column.result.kind.thresholded:
            self._recalibrate(column)
        cells = column.result.cells(rows, column.calibration)
        self._emit(Update(task.column, task.generation, tuple(rows), cells, source))
        self._maybe_complete(column)

    def _apply_dropped(self, task: Task) -> None:
        """A batch dropped in flight (its column was stopped): its rows are not running."""
        column = self._current(task)
        if column is None:
            return
        rows = [r for r in task.rows if column.result.state[r] == RUNNING]
        if rows:
            column.result.set_state(rows, PENDING)
            cells = column.result.cells(rows, column.calibration)
            self._emit(Update(task.column, task.generation, tuple(rows), cells, "running"))
        self._check_idle()

    def _apply_content_free(self, task: Task, answers: list[Answer]) -> None:
        column = self._current(task)
        if column is None:
            return
        column.content_free = column.result.kind.content_free(answers)
        if column.result.kind.thresholded:
            column.unlabeled = None  # refit with it
        self._recalibrate(column)

    def _apply_lesson(self, task: Task, calibration: Calibration | None) -> None:
        column = self._current(task)
        if column is not None:
            column.lesson = calibration
            self._recalibrate(column)

    def _recalibrate(self, column: Column) -> None:
        """The user's threshold, else the one fitted on the rule's labels, else unlabeled."""
        before = column.calibration
        name = column.rule.name
        manual = self.thresholds.get(name)
        column.calibration = choose(
            column.result.kind.thresholded,
            Calibration(Mode.MANUAL, manual) if manual is not None else None,
            column.lesson,
            lambda: self._held_out_fit(column),
            lambda: self._unlabeled_fit(column),
            lambda: column.content_free,
        )
        if column.calibration != before and column.finished:
            # the decision of every done cell may have changed: no per-row payload
            self._emit(Update(column.rule.name, column.generation, (), (), "calibration"))
            if column.complete:  # formulas over it follow at once (they cost no model call)
                for dependent in self._dependents(name):
                    other = self.columns[dependent]
                    if not other.result.kind.judged and other.complete:
                        self._compute(other)

    def _unlabeled_fit(self, column: Column) -> Calibration:
        """calibrate.unlabeled_flag on the done rows, refitted each time they grow by a tenth."""
        done = column.result.done_mask()
        n_done = int(done.sum())
        if column.unlabeled is None or n_done >= column.unlabeled_at * 1.1 + 8:
            column.unlabeled_at = n_done
            column.unlabeled = unlabeled_flag(column.result.p_yes()[done], column.content_free)
        return column.unlabeled

    def _held_out_fit(self, column: Column) -> Calibration | None:
        """The threshold fitted on the judged labeled rows the prompt does not show
        (teach.held_out_calibration), refitted as they grow by a tenth, and when all are in."""
        rows = column.held_rows
        if rows is None or column.held_labels is None:
            return None
        result = column.result
        done = result.state[rows] == DONE  # only the labeled rows: this runs per batch
        n = int(done.sum())
        grown = n >= column.held_at * 1.1 + 8 or (n == len(rows) and n != column.held_at)
        if n >= MIN_HELD_OUT and (column.held_fit is None or grown):
            column.held_at = n
            p = np.where(done, result.probs[rows, 0], np.nan)
            column.held_fit = held_out_calibration(p, column.held_labels)
        return column.held_fit

    def _apply_error(
        self, task: Task, message: str, fatal: bool = False, answered: frozenset[int] = frozenset()
    ) -> None:
        column = self._current(task)
        if column is None:
            return
        if fatal:
            self._stop_failed(column, message)
            return
        rows = [row for i, row in enumerate(task.rows) if i not in answered]
        if task.kind != "judge":
            # a failed lookup or calibration: judge those rows instead
            if task.kind == "cache":
                return
            self._emit(ColumnEvent(task.column, task.generation, "warning", message))
            return
        column.finished += column.result.unfinished(rows)
        column.result.set_error(rows, message)
        cells = column.result.cells(rows, column.calibration)
        self._emit(Update(task.column, task.generation, tuple(rows), cells, "error"))
        self._maybe_complete(column)

    def _stop_failed(self, column: Column, message: str) -> None:
        """The model cannot go on (a server that is down): every row not answered yet
        fails with one message, and the answers so far stay."""
        name = column.rule.name
        self.schedule.stop(name)
        column.error = message
        state = column.result.state
        left = np.flatnonzero((state != DONE) & (state != ERROR) & (state != SKIPPED))
        column.finished += len(left)
        column.result.set_error(left, message)
        self._emit(Update(name, column.generation, (), (), "calibration"))
        self._emit(ColumnEvent(name, column.generation, "error", message))
        self._maybe_complete(column)
        self._check_idle()

    def _maybe_complete(self, column: Column) -> None:
        if column.finished < len(column.result) or column.completed_at is not None:
            return
        if column.unlabeled is not None and column.unlabeled_at < column.finished:
            # the last fit saw only part of the column: fit on all of it, so the final
            # decisions do not depend on the order the rows arrived in
            column.unlabeled = None
            self._recalibrate(column)
        column.completed_at = time.perf_counter()
        name = column.rule.name
        values, _ = column.result.decide(column.calibration)
        failed = column.result.state == ERROR
        values = np.where(failed, np.nan, values)
        column.history.complete(
            column.generation, summarize(column.result, column.calibration), decision_codes(values)
        )
        self._emit(ColumnEvent(name, column.generation, "complete"))
        for dependent in self._dependents(name):
            other = self.columns[dependent]
            if other.error is None and all(self.columns[d].complete for d in self._deps(dependent)):
                self._launch(other)
        self._check_idle()

    def close(self) -> None:
        """Stop the worker after its current batch."""
        self._closing = True
        self.schedule.close()
        self._formulas.shutdown(wait=True, cancel_futures=True)
        # wait for the batch in flight: llama.cpp cannot be interrupted, and the backend
        # must never be used by two threads (a second sheet's worker could start at once)
        self._worker.join(timeout=CLOSE_TIMEOUT_S)
        if self._worker.is_alive():
            log.error("the model thread did not stop within %d s", CLOSE_TIMEOUT_S)
