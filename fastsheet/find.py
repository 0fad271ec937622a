"""Find text in any column: which cells contain it, vectorised over every row."""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import polars as pl

from fastsheet.table import nested_as_text


def find_cells(
    frame: pl.DataFrame, needle: str, yes_no: Iterable[str] = ()
) -> dict[str, np.ndarray]:
    """Per column, a mask over rows whose text contains `needle`, ignoring case.

    Columns named in `yes_no` (flag rules) are searched as "yes" / "no", as the grid shows them."""
    if not needle:
        return {}
    pattern = "(?i)" + re.escape(needle)
    flags = set(yes_no)
    frame = nested_as_text(frame)
    texts = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if name in flags and dtype == pl.Boolean:
            text = pl.when(col).then(pl.lit("yes")).when(~col).then(pl.lit("no"))
        else:
            text = col.cast(pl.String)
        texts.append(text.str.contains(pattern).fill_null(False).alias(name))
    found = frame.select(texts)
    return {name: found[name].to_numpy() for name in found.columns if found[name].any()}
