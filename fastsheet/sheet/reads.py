"""The read side (layer 5): what the UI and the CLI ask of a sheet's columns.

Cells, summaries, labels, agreement, breakdowns, history, diffs and values are read from
each column's results object (column.py); nothing here changes a column or schedules
work. `Evaluator` inherits these queries, so its callers keep one object to ask.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
import polars as pl

from fastsheet.data.cells import Cell
from fastsheet.kinds.results import SKIPPED
from fastsheet.learning.label_next import at_random, label_next
from fastsheet.learning.labels import label_array
from fastsheet.sheet.column import Column
from fastsheet.sheet.history import Diff, Generation
from fastsheet.sheet.reasons import Reason
from fastsheet.sheet.schedule import Schedule
from fastsheet.sheet.summary import GoldAgreement, Summary, agreement, breakdown, summarize


class SheetReads:
    """Queries over `columns` (rule name -> Column) of one data frame."""

    frame: pl.DataFrame
    columns: dict[str, Column]
    marks: dict[str, dict[int, object]]  # rule name -> row -> known answer
    schedule: Schedule
    model_rows: int = 0
    model_seconds: float = 0.0

    def cell(self, name: str, row: int) -> Cell:
        return self.cells(name, [row])[0]

    def cells(self, name: str, rows: Sequence[int]) -> tuple[Cell, ...]:
        """The cells of many rows in one vectorised read (what a screen of the grid shows)."""
        return self.columns[name].cells(rows)

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

    def label_next(self, name: str, count: int = 10, skip: Sequence[int] = ()) -> list[int]:
        """Up to `count` judged, unlabelled rows of rule `name` whose label would help it
        most (label_next.py): for a rule that learns, unsure under the current decision
        and spread over the data (by the model's kept states, where it keeps them); for a
        rule taught by its labels, at random. `skip`: rows not to ask again."""
        column = self.columns[name]
        result = column.result
        labels = self.labels(name)
        asked = np.zeros(len(result), dtype=bool) if labels is None else ~np.isnan(labels)
        asked[np.asarray(skip, dtype=np.int64)] = True
        done = result.done_mask()
        if not column.rule.learn:
            return at_random(done & ~asked, count, zlib.crc32(name.encode()))
        probs = np.where(done[:, None], result.probs, np.nan)
        flag = result.kind.thresholded
        spread = column.decision.spread(result)
        threshold = column.calibration.threshold if flag else 0.5
        return label_next(probs[:, 0] if flag else probs, spread, asked, count, threshold)

    def reason(self, name: str, row: int) -> Reason | None:
        """Row `row`'s reason for the verdict it shows now, if one was written."""
        column = self.columns.get(name)
        return column.reason(row) if column is not None else None

    def explaining(self, name: str, row: int) -> bool:
        """Whether the row's reason is queued or being written."""
        column = self.columns.get(name)
        return column is not None and row in column.explaining

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

    def values_of(self, name: str) -> pl.Series:
        """A column's values, typed, as a formula reads them (empty where none yet)."""
        column = self.columns[name]
        return column.result.export_columns(column.calibration)[0].alias(name)

    def answers_text(self, name: str) -> pl.Series:
        """A rule column's answers as text (yes / no, label, score, text; empty if none)."""
        column = self.columns[name]
        return column.result.as_text(column.calibration).alias(name)

    def excluded(self) -> list[str]:
        """Data columns never shown to the model: every rule's gold column."""
        return sorted({c.rule.gold for c in self.columns.values() if c.rule.gold})

    @property
    def rows_per_s(self) -> float:
        return self.model_rows / self.model_seconds if self.model_seconds else 0.0
