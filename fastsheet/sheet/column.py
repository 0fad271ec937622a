"""One rule column's results (layer 5): its generation's cells, decision and history.

A `Column` is owned by the event loop's thread. The coordinator applies the model
thread's outcomes to it; the read side (reads.py) and the UI read it. Each method that
changes cells returns the cells to push, so the coordinator only emits them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from fastsheet.data.cells import Answer, Cell
from fastsheet.formula.shortcircuit import both
from fastsheet.kinds import kind_of
from fastsheet.kinds.results import (
    CACHE,
    DONE,
    ERROR,
    MODEL,
    PENDING,
    RUNNING,
    SKIPPED,
    ResultColumn,
)
from fastsheet.kinds.rules import Rule
from fastsheet.learning.teach import MIN_LABELS
from fastsheet.sheet.decision import Decision
from fastsheet.sheet.events import ColumnEvent, Event, Update
from fastsheet.sheet.graph import Node
from fastsheet.sheet.history import History, decision_codes
from fastsheet.sheet.model_thread import (
    Answered,
    Dropped,
    Failed,
    Outcome,
    Probed,
    Reasoned,
    Running,
    Taught,
)
from fastsheet.sheet.reasons import Reason, ReasonWriter, verdict_text
from fastsheet.sheet.runner import RuleRunner
from fastsheet.sheet.summary import summarize
from fastsheet.stats.calibrate import Calibration


@dataclass
class Applied:
    """What an outcome did to a column: events to emit, and what the coordinator must do."""

    events: list[Event] = field(default_factory=list)
    recalibrate: bool = False
    stopped: bool = False  # the column cannot go on: its model work stops


@dataclass
class Column:
    """The loop thread's state for one rule column."""

    rule: Rule
    generation: int
    result: ResultColumn
    calibration: Calibration = field(default_factory=Calibration)
    decision: Decision = field(init=False)
    history: History = field(default_factory=History)
    error: str | None = None
    #: where the formulas reading this rule need it (`a and rule` needs it where a is
    #: true); "" when something needs every row
    implied: str = ""
    runner: RuleRunner | None = None
    finished: int = 0  # rows done or failed in this generation
    started: float = field(default_factory=time.perf_counter)
    completed_at: float | None = None
    #: reasons written for rows of this generation (reasons.py), each for the verdict the
    #: row showed when asked; `explaining`: rows whose reason is queued
    reasons: dict[int, Reason] = field(default_factory=dict)
    explaining: set[int] = field(default_factory=set)
    writer: ReasonWriter | None = None

    def __post_init__(self) -> None:
        self.decision = Decision(kind_of(self.rule))
        self._node: Node | None = None

    @classmethod
    def new(cls, rule: Rule, generation: int, n: int, history: History | None) -> Column:
        """A new generation of a column over n rows, continuing its history."""
        result = kind_of(rule).new_result(rule, n, generation)
        column = cls(rule, generation, result, history=history or History())
        column.history.add(generation, rule)
        return column

    def node(self) -> Node:
        """The column as the sheet's graph sees it (the same value while nothing changed)."""
        node = self._node
        dtype = self.result.value_dtype()
        if node is None or (node.broken, node.dtype, node.implied) != (
            bool(self.error),
            dtype,
            self.implied,
        ):
            node = self._node = Node(self.rule, bool(self.error), dtype, self.implied)
        return node

    @property
    def complete(self) -> bool:
        return self.finished >= len(self.result) and self.error is None

    @property
    def where(self) -> str:
        """The rows the column is judged on: its own condition and the implied one."""
        return both(self.rule.where, self.implied)

    @property
    def taught_from(self) -> int:
        return self.decision.taught_from

    @property
    def held_rows(self) -> np.ndarray | None:
        return self.decision.held_rows

    @property
    def held_labels(self) -> np.ndarray | None:
        return self.decision.held_labels

    @property
    def taught_by(self) -> str:
        """How the rule's labels decide it: "learned" (a head over its states), "threshold"
        (a flag: examples and a fitted threshold, or the answer alone recalibrated),
        "examples" (a label or score rule taught by examples in the prompt),
        "recalibrated" (its answer alone recalibrated on the labels), "learning" (its head
        not fitted yet), or "" (not taught)."""
        decision = self.decision
        thresholded = decision.kind.thresholded
        if decision.learning:
            if decision.learned is None:
                return "learning"
            if decision.learned.learned:
                return "learned"
            return "threshold" if thresholded else "recalibrated"
        if decision.taught_from < MIN_LABELS:
            return ""
        return "threshold" if thresholded else "examples"

    def cells(self, rows: Sequence[int]) -> tuple[Cell, ...]:
        return self.result.cells(rows, self.calibration)

    # ----- the model thread's outcomes --------------------------------------------------

    def apply(self, outcome: Outcome, planned: bool) -> Applied:
        """Apply one outcome of this generation (`planned`: the schedule still runs it)."""
        task, out = outcome.task, Applied()  # type: ignore[union-attr]

        def push(rows: Sequence[int], source: str) -> None:
            cells = self.cells(rows)
            out.events.append(Update(task.column, task.generation, tuple(rows), cells, source))

        if isinstance(outcome, Running) and planned:  # not stopped since it was taken
            self.running(task.rows)
            push(task.rows, "running")
        elif isinstance(outcome, Answered) and outcome.rows:
            self.answered(outcome.rows, outcome.answers, cached=outcome.source == "cache")
            out.recalibrate = self.result.kind.thresholded
            push(outcome.rows, outcome.source)
        elif isinstance(outcome, Probed):
            self.decision.probed(list(outcome.answers))
            out.recalibrate = True
        elif isinstance(outcome, Reasoned):
            for row, reason in zip(task.rows, outcome.reasons, strict=True):
                self.reasons[row] = reason  # type: ignore[assignment]
                self.explaining.discard(row)
            out.events.append(ColumnEvent(task.column, task.generation, "reasons"))
        elif isinstance(outcome, Taught):
            self.decision.taught(outcome.lesson)  # type: ignore[arg-type]
            out.recalibrate = True
        elif isinstance(outcome, Dropped):  # its rows are not running any more
            rows = self.dropped(task.rows)
            if rows:
                push(rows, "running")
        elif isinstance(outcome, Failed) and outcome.fatal:
            # the model cannot go on (a server that is down): one message, answers stay
            self.stop_failed(outcome.message)
            out.stopped = True
            out.events.append(Update(task.column, task.generation, (), (), "calibration"))
            out.events.append(ColumnEvent(task.column, task.generation, "error", outcome.message))
        elif isinstance(outcome, Failed) and task.kind == "reason":
            self.explaining.difference_update(task.rows)
            out.events.append(ColumnEvent(task.column, task.generation, "reasons"))
            out.events.append(
                ColumnEvent(
                    task.column, task.generation, "warning", f"No reason: {outcome.message}"
                )
            )
        elif isinstance(outcome, Failed) and task.kind == "judge":
            rows = [row for i, row in enumerate(task.rows) if i not in outcome.answered]
            self.failed(rows, outcome.message)
            push(rows, "error")
        elif isinstance(outcome, Failed) and task.kind != "cache":
            # a failed calibration: the rows are judged anyway
            out.events.append(ColumnEvent(task.column, task.generation, "warning", outcome.message))
        return out

    def reason(self, row: int) -> Reason | None:
        """The row's reason, if it was written for the verdict the row shows now."""
        reason = self.reasons.get(row)
        if reason is None or self.result.state[row] != DONE:
            return None
        value = self.result.decide_rows([row], self.calibration)[0][0]
        return reason if reason.verdict == verdict_text(self.rule, value) else None

    def reasons_to_ask(self, rows: Sequence[int]) -> list[int]:
        """Queue a reason for each judged row of `rows` whose reason for its verdict is
        neither known nor queued; returns the rows queued (the model thread writes them)."""
        if self.runner is None or self.result.kind.stores_text:
            return []
        done = [int(r) for r in rows if self.result.state[int(r)] == DONE]
        values = self.result.decide_rows(done, self.calibration)[0] if done else []
        if self.writer is None:
            self.writer = ReasonWriter(self.rule, self.runner)
        queued = []
        for row, value in zip(done, values, strict=True):
            verdict = verdict_text(self.rule, value)
            known = self.reasons.get(row)
            if (known is not None and known.verdict == verdict) or (
                row in self.explaining and self.writer.verdicts.get(row) == verdict
            ):
                continue
            self.writer.verdicts[row] = verdict
            self.explaining.add(row)
            queued.append(row)
        return queued

    # ----- what applying changes ---------------------------------------------------------

    def running(self, rows: Sequence[int]) -> None:
        self.result.set_state(rows, RUNNING)

    def answered(self, rows: Sequence[int], answers: Sequence[Answer], cached: bool) -> None:
        self.finished += self.result.unfinished(rows)
        self.result.set_answers(rows, answers, CACHE if cached else MODEL)

    def dropped(self, rows: Sequence[int]) -> list[int]:
        """Rows of a batch dropped in flight are pending again; returns them."""
        back = [r for r in rows if self.result.state[r] == RUNNING]
        if back:
            self.result.set_state(back, PENDING)
        return back

    def failed(self, rows: Sequence[int], message: str) -> None:
        self.finished += self.result.unfinished(rows)
        self.result.set_error(rows, message)

    def fail_all(self, message: str) -> None:
        """The whole column is in error (its rule cannot run)."""
        self.result.set_error(range(len(self.result)), message)

    def stop_failed(self, message: str) -> None:
        """The model cannot go on: every row not answered yet fails; answers stay."""
        self.error = message
        state = self.result.state
        left = np.flatnonzero((state != DONE) & (state != ERROR) & (state != SKIPPED))
        self.finished += len(left)
        self.result.set_error(left, message)

    def computed(self, values: pl.Series, value_type: str) -> None:
        """A formula column's values, every row at once (complete again: dependents follow)."""
        self.result.set_values(values, value_type)  # type: ignore[attr-defined]
        self.finished = len(self.result)
        self.completed_at = None

    def skip(self, skip: np.ndarray) -> None:
        """Rows outside the condition are skipped: no model call."""
        self.result.set_skipped(skip)
        self.finished += self.result.skipped

    def recalibrate(self, manual: float | None) -> bool:
        """Ask the decision for the calibration; True if it changed for done cells."""
        before = self.calibration
        self.calibration = self.decision.choose(self.result, manual)
        return self.calibration != before and bool(self.finished)

    def finish(self) -> bool:
        """Record the generation in the history once every row is done; True then."""
        if self.finished < len(self.result) or self.completed_at is not None:
            return False
        self.completed_at = time.perf_counter()
        self._record()
        return True

    def relearned(self) -> None:
        """A complete column re-decided by its learned head: its history entry follows."""
        self._record()

    def _record(self) -> None:
        values, _ = self.result.decide(self.calibration)
        values = np.where(self.result.state == ERROR, np.nan, values)
        self.history.complete(
            self.generation, summarize(self.result, self.calibration), decision_codes(values)
        )
