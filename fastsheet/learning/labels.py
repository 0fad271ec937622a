"""A rule's known answers: its own marks over an optional data column of gold labels.

Labels are floats per row: 1/0 for a flag, the label's index for a label rule, NaN
where unknown. They teach the rule (teach.py) and measure agreement; the model never
sees them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from fastsheet.kinds import kind_of
from fastsheet.kinds.rules import Rule

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
        values = kind_of(rule).read_gold(frame[rule.gold], rule)
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


def teaching_rows(
    labels: np.ndarray, limit: int = MAX_TEACHING_ROWS, first: Sequence[int] = ()
) -> list[int]:
    """Up to `limit` labeled rows for teaching, in the order they teach: the rows marked,
    in the order they were marked (`first`), then the others (a gold column's) in row
    order; beyond `limit`, classes in turn (the others a seeded sample). A new mark comes
    last, so it never displaces the examples the rule was taught with."""
    known = np.flatnonzero(~np.isnan(labels))
    marked = [int(r) for r in dict.fromkeys(first) if 0 <= r < len(labels)]
    marked = [r for r in marked if not np.isnan(labels[r])]
    seen = set(marked)
    if len(known) <= limit:
        return marked + [int(r) for r in known if r not in seen]
    permuted = np.random.default_rng(0).permutation(known)
    order = marked + [int(r) for r in permuted if int(r) not in seen]
    by_class: dict[float, list[int]] = {}
    for row in order:
        by_class.setdefault(float(labels[row]), []).append(row)
    taken: set[int] = set()
    queues = list(by_class.values())
    while len(taken) < limit:
        for queue in queues:
            if queue and len(taken) < limit:
                taken.add(queue.pop(0))
    return [r for r in marked if r in taken] + sorted(taken - seen)


def marks_column(rule: Rule, marks: Mapping[int, object], n: int) -> pl.Series:
    """NAME_gold for export: the marked answers, empty elsewhere."""
    values: list[object] = [None] * n
    for row, value in marks.items():
        if 0 <= row < n:
            values[row] = value
    return kind_of(rule).mark_series(f"{rule.name}_gold", values)
