"""The formula kind: an exact expression over columns, computed by polars, never by the model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import polars as pl

from fastsheet.data.cells import Cell, CellState
from fastsheet.data.errors import RuleError
from fastsheet.formula.parser import BOOL, DATE, NUMBER, Formula, names, parse_formula
from fastsheet.kinds.base import VALUE_STYLE, ColumnKind
from fastsheet.kinds.flag import breakdown_yes, flag_summary
from fastsheet.kinds.registry import register
from fastsheet.kinds.results import DONE, ERROR, ResultColumn
from fastsheet.kinds.rules import Rule
from fastsheet.kinds.score import ScoreSummary
from fastsheet.kinds.text import TextSummary
from fastsheet.stats.calibrate import Calibration


class FormulaResult(ResultColumn):
    """A formula column's values: one typed polars Series, set all at once."""

    def __init__(self, rule: Rule, n: int, generation: int = 0) -> None:
        super().__init__(rule, n, generation)
        self.values = pl.Series(rule.name, [None] * n, dtype=pl.Null)
        self.type = NUMBER
        self._numeric = np.full(n, np.nan)

    def set_values(self, values: pl.Series, value_type: str) -> None:
        """Every row's value at once (null where the formula has none)."""
        self.values = values.alias(self.rule.name)
        self.type = value_type
        self._numeric = _numeric(self.values, value_type)
        self.state[:] = DONE
        self.errors.clear()

    def decide(
        self, calibration: Calibration, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Values as numbers (true/false as 1/0, text and dates by rank); no probability."""
        values = self._numeric if rows is None else self._numeric[rows]
        return values, np.full(len(values), np.nan)

    def as_text(self, calibration: Calibration) -> pl.Series:
        if self.type == BOOL:
            text = pl.when(self.values).then(pl.lit("yes")).when(~self.values).then(pl.lit("no"))
            out = pl.select(text.alias(self.rule.name)).to_series()
        else:
            out = self.values.cast(pl.String)
        return out.fill_null("").alias(self.rule.name)

    def value_dtype(self) -> pl.DataType:
        return self.values.dtype

    def export_columns(self, calibration: Calibration, source: bool = False) -> list[pl.Series]:
        """NAME only: a formula has no probability, and every value is computed."""
        return [self.values]

    def summary(self, calibration: Calibration, prioritised: np.ndarray | None = None) -> object:
        """true/false: the count of true rows (empty counts as false); numbers: the mean;
        else how many rows have a value."""
        done = self.state == DONE
        values = self._numeric[done]
        if self.type == BOOL:
            return replace(flag_summary(values == 1.0, len(self), None), word="true")
        if self.type == NUMBER:
            known = values[~np.isnan(values)]
            mean = float(known.mean()) if len(known) else float("nan")
            return ScoreSummary(len(self), len(known), mean, mean, mean)
        return TextSummary(len(self), int(self.values.filter(done).is_not_null().sum()))

    def breakdown(self, data: pl.DataFrame, by: str) -> pl.DataFrame:
        """true/false: the count and share of true rows per group (empty counts as false)."""
        if self.type == BOOL:
            return breakdown_yes(data.with_columns(pl.col("_v").fill_nan(0.0)), by)
        return super().breakdown(data, by)

    def cells(self, rows: Sequence[int], calibration: Calibration) -> tuple[Cell, ...]:
        if not len(rows):
            return ()
        values = self.values.gather(np.asarray(rows, dtype=np.int64)).to_list()
        g = self.generation
        out = []
        for r, value in zip(rows, values, strict=True):
            code = int(self.state[r])
            if code == DONE:
                out.append(Cell(CellState.DONE, value=_python(value), generation=g))
            elif code == ERROR:
                out.append(Cell.failed(self.errors.get(r, "failed"), g))
            else:
                out.append(Cell.pending(g))
        return tuple(out)


def _python(value: object) -> str | float | bool | None:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return float(value)
    return str(value)  # a date


def _numeric(values: pl.Series, value_type: str) -> np.ndarray:
    if value_type in (BOOL, NUMBER):
        return values.cast(pl.Float64).to_numpy().astype(np.float64)
    ranks = (
        values.rank(method="dense") if value_type == DATE else values.cast(pl.String).rank("dense")
    )
    return ranks.cast(pl.Float64).to_numpy().astype(np.float64)


class FormulaKind(ColumnKind):
    name = "formula"
    base_name = "formula"
    default_text = "true"
    summary = "formula: exact, over columns (no model)"
    style = VALUE_STYLE
    judged = False

    def make(self, text: str, name: str, options: Mapping[str, str], base: Rule | None) -> Rule:
        return Rule(text, name=name, kind=self.kind)

    def rule_references(self, rule: Rule) -> list[str]:
        return names(rule.text)

    def parse(self, rule: Rule, types: Mapping[str, pl.DataType | str]) -> Formula:
        """The rule's formula against the columns it may read (RuleError if it cannot)."""
        formula = parse_formula(rule.text, types)
        if rule.name in formula.references:
            raise RuleError(f"Formula {rule.name!r} names itself.")
        return formula

    def new_result(self, rule: Rule, n: int, generation: int) -> FormulaResult:
        return FormulaResult(rule, n, generation)


FORMULA = register(FormulaKind())


def compute_formula(rule: Rule, frame: pl.DataFrame) -> FormulaResult:
    """A formula column over `frame`, computed at once (raises RuleError if it cannot be)."""
    formula = FORMULA.parse(rule, frame.schema)
    result = FORMULA.new_result(rule, frame.height, 0)
    result.set_values(formula.evaluate(frame), formula.type)
    return result
