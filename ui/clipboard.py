"""Copy the grid's selection as spreadsheet cells; make a sheet from a copied range."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl
from PySide6.QtCore import QItemSelectionModel, QMimeData
from PySide6.QtGui import QGuiApplication

from fastsheet.data.clipboard import HTML_CELL_LIMIT, as_text, sheet_from_text, to_html, to_tsv
from fastsheet.data.table import save_table
from fastsheet.session import Session
from ui.sheet_model import SheetModel


def selected_frame(
    session: Session, model: SheetModel, selection: QItemSelectionModel
) -> tuple[pl.DataFrame, bool] | None:
    """The selected cells (their bounding box, unselected cells blank) as text, and
    whether whole columns are selected (then the copy starts with their names)."""
    ranges = list(selection.selection())
    if not ranges or not model.rowCount():
        return None
    top = min(r.top() for r in ranges)
    bottom = max(r.bottom() for r in ranges)
    left = min(r.left() for r in ranges)
    right = max(r.right() for r in ranges)
    names = [model.column_name(c) for c in range(left, right + 1)]
    ids = model.view_rows()[top : bottom + 1]
    frame = as_text(session.results_frame().select(names)[ids])
    if len(ranges) > 1:  # not one rectangle: blank what is not selected
        shape = (bottom - top + 1, right - left + 1)
        mask = np.zeros(shape, dtype=bool)
        for r in ranges:
            mask[r.top() - top : r.bottom() - top + 1, r.left() - left : r.right() - left + 1] = 1
        frame = frame.with_columns(
            pl.when(pl.Series(mask[:, i])).then(pl.col(name)).otherwise(pl.lit("")).alias(name)
            for i, name in enumerate(frame.columns)
        )
    whole_columns = top == 0 and bottom == model.rowCount() - 1 and model.rowCount() > 1
    return frame, whole_columns


def copy_selection(session: Session, model: SheetModel, selection: QItemSelectionModel) -> str:
    """Put the selection on the clipboard as TSV and HTML; a status line saying what."""
    picked = selected_frame(session, model, selection)
    if picked is None:
        return "Nothing selected to copy."
    frame, header = picked
    mime = QMimeData()
    mime.setText(to_tsv(frame, header=header))
    cells = frame.height * frame.width
    if cells <= HTML_CELL_LIMIT:
        mime.setHtml(to_html(frame, header=header))
    QGuiApplication.clipboard().setMimeData(mime)
    return f"Copied {frame.height:,} rows × {frame.width} columns"


def save_pasted_sheet(text: str, folder: Path) -> Path:
    """A copied range written as Parquet under `folder` (raises DataError if not a table)."""
    frame = sheet_from_text(text)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"Pasted {datetime.now():%Y-%m-%d %H-%M-%S}.parquet"
    save_table(frame, path)
    return path
