"""A rule's known answers: its own marks over an optional data column of gold labels.

Labels are floats per row: 1/0 for a flag, the label's index for a label rule, NaN
where unknown. They teach the rule (teach.py) and measure agreement; the model never
sees them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl

from fastsheet.kinds import kind_of
from fastsheet.rules import Rule
from fastsheet.summary import gold_values

MAX_TEACHING_ROWS = 64  # labels judged for the cross-fitted threshold, at most


def labelable(rule: Rule) -> bool:
    return kind_of(rule).labelable


def encode(rule: Rule, value: object) -> float:
    """A mark's value as a label float (raises ValueError for an unknown label)."""
    return kind_of(rule).encode(rule, value)


def decode(rule: Rule, x: float) -> bool | str | None:
    return kind_of(rule).decode(rule, x)


def label_array(
    rule: Rule, frame: pl.DataFrame, marks: Mapping[int, object] | None = None
) -> np.ndarray | None:
    """Known answers per row (NaN: unknown), or None for a rule that takes no labels."""
    if not labelable(rule):
        return None
    if rule.gold and rule.gold in frame.columns:
        values = gold_values(frame[rule.gold], rule)
        out = np.array(values, dtype=float) if values is not None else None
    else:
        out = None
    if out is None:
        out = np.full(frame.height, np.nan)
    for row, value in (marks or {}).items():
        if 0 <= row < len(out):
            try:
                out[row] = encode(rule, value)
            except ValueError:  # a mark for a label that was since removed
                out[row] = np.nan
    return out


def teaching_rows(labels: np.ndarray, limit: int = MAX_TEACHING_ROWS) -> list[int]:
    """Up to `limit` labeled rows, classes in turn (seeded order), for teaching."""
    known = np.flatnonzero(~np.isnan(labels))
    if len(known) <= limit:
        return known.tolist()
    order = np.random.default_rng(0).permutation(known)
    by_class: dict[float, list[int]] = {}
    for row in order:
        by_class.setdefault(float(labels[row]), []).append(int(row))
    out: list[int] = []
    queues = list(by_class.values())
    while len(out) < limit:
        for queue in queues:
            if queue and len(out) < limit:
                out.append(queue.pop(0))
    return sorted(out)


def marks_column(rule: Rule, marks: Mapping[int, object], n: int) -> pl.Series:
    """NAME_gold for export: the marked answers, empty elsewhere."""
    values: list[object] = [None] * n
    for row, value in marks.items():
        if 0 <= row < n:
            values[row] = value
    return kind_of(rule).mark_series(f"{rule.name}_gold", values)
