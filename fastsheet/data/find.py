"""Find text in any column: which cells contain it, vectorised over every row."""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from fastsheet.data.table import nested_as_text


def find_cells(frame: pl.DataFrame, needle: str) -> dict[str, np.ndarray]:
    """Per column, a mask over rows whose text contains `needle`, ignoring case."""
    if not needle:
        return {}
    pattern = "(?i)" + re.escape(needle)
    frame = nested_as_text(frame)
    found = frame.select(
        pl.col(name).cast(pl.String).str.contains(pattern).fill_null(False).alias(name)
        for name in frame.columns
    )
    return {name: found[name].to_numpy() for name in found.columns if found[name].any()}
