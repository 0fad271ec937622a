"""A compiled rule over a table: its plan's formula decides every row at once, and its
rest (if any) is asked row by row only where the formula holds.

A row the formula rules out is a `no` with p(yes) 0; with no rest, a row it keeps is a
`yes` with p(yes) 1; both say `formula` where an answer came from. The rest's rows are
judged as any rule's (cache, batches), and its threshold is fitted on them alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

import numpy as np
import polars as pl

from fastsheet.backends.base import Backend
from fastsheet.data.cells import Answer
from fastsheet.formula.parser import parse_formula
from fastsheet.kinds import kind_of
from fastsheet.kinds.results import FORMULA, SOURCES, ResultColumn
from fastsheet.kinds.rules import Rule
from fastsheet.plans.compiler import Plan
from fastsheet.sheet.cache import NoCache, ResultCache
from fastsheet.sheet.runner import Progress, RuleRunner, default_calibration, evaluate
from fastsheet.stats.calibrate import Calibration


def rest_rule(rule: Rule, plan: Plan) -> Rule:
    """The rule the plan's rest asks of each row the formula keeps."""
    return replace(rule, text=plan.rest, examples=())


def holds(plan: Plan, frame: pl.DataFrame) -> np.ndarray:
    """Where the plan's formula holds (a bool per row; empty is false)."""
    return parse_formula(plan.exact, frame.schema).condition(frame).to_numpy().astype(bool)


def evaluate_plan(
    frame: pl.DataFrame,
    rule: Rule,
    plan: Plan,
    backend: Backend | None,
    cache: ResultCache | None = None,
    exclude: Iterable[str] = (),
    on_progress: Callable[[Progress], None] | None = None,
) -> tuple[ResultColumn, Calibration, RuleRunner | None]:
    """Every row of `frame` decided by `plan`: the result, the calibration to read it by,
    and the runner that asked the rest (None for a plan without one)."""
    keep = holds(plan, frame)
    result = ResultColumn(rule, frame.height)
    kind = kind_of(rule)
    _decided(result, np.flatnonzero(~keep), kind.answer(rule, (0.0, 1.0)))
    if not plan.rest:
        _decided(result, np.flatnonzero(keep), kind.answer(rule, (1.0, 0.0)))
        return result, Calibration(threshold=0.5), None
    if backend is None:
        raise ValueError("a plan with a rest needs a backend to ask it")
    runner = RuleRunner(frame, rest_rule(rule, plan), backend, cache or NoCache(), exclude)
    judged = evaluate(runner, on_progress=on_progress, skip=~keep)
    rows = np.flatnonzero(keep)
    if len(rows):
        result.set_answers(rows, [kind.answer(rule, tuple(judged.probs[r])) for r in rows])
        result.source[rows] = judged.source[rows]  # the model's, or the cache's
    return result, default_calibration(runner, judged), runner


def _decided(result: ResultColumn, rows: np.ndarray, answer: Answer) -> None:
    if len(rows):
        result.set_answers(rows, [answer] * len(rows), FORMULA)


def formula_decided(result: ResultColumn) -> np.ndarray:
    """The rows a plan's formula decided (no model call)."""
    return result.source == SOURCES.index("formula")
