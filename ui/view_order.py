"""The grid's row order: which rows a filter keeps and how a sort orders them.

Each is computed over whole columns with numpy and polars (a permutation of row ids),
so a 1,000,000-row sheet never builds a Python object per cell.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from fastsheet.kinds.results import DONE, ERROR
from fastsheet.sheet.column import Column
from fastsheet.sheet.summary import disagreements

FILTERS = ("All rows", "Flagged", "Not flagged", "Disagrees with gold", "Errors", "Low confidence")


def sorted_rows(rows: np.ndarray, key: np.ndarray | None, descending: bool) -> np.ndarray:
    """`rows` ordered by `key` (one value per row id; NaN last), stably."""
    if key is None:
        return rows
    sub = key[rows]
    if isinstance(sub, np.ndarray) and sub.dtype.kind == "f":
        sub = np.where(np.isnan(sub), np.inf, sub)
    idx = np.argsort(sub, kind="stable")
    return rows[idx[::-1] if descending else idx]


def data_key(series: pl.Series) -> np.ndarray:
    """A data column's sort key: its ranks, nulls last."""
    return series.rank(method="ordinal").fill_null(len(series) + 1).to_numpy().astype(np.float64)


def rule_key(column: Column) -> np.ndarray:
    """A rule column's sort key, as its kind sorts (text by rank)."""
    result = column.result
    if result.text is not None:
        return data_key(pl.Series(result.text, dtype=pl.String))
    values, p = result.decide(column.calibration)
    return result.kind.sort_key(result.probs, values, p)


def filter_mask(mode: str, column: Column, gold: np.ndarray | None) -> np.ndarray | None:
    """The rows a filter keeps (None: every row)."""
    result = column.result
    values, _ = result.decide(column.calibration)
    done = result.state == DONE
    if mode == "Flagged":
        return done & (values == 1.0)
    if mode == "Not flagged":
        return done & (values == 0.0)
    if mode == "Errors":
        return result.state == ERROR
    if mode == "Low confidence":
        return result.low_confidence(column.calibration)
    if mode == "Disagrees with gold":
        keep = np.zeros(len(result), dtype=bool)
        if gold is not None:
            keep[disagreements(result, column.calibration, gold)] = True
        return keep
    return None
