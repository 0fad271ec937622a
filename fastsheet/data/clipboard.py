"""Cells to and from a spreadsheet's clipboard: TSV and HTML out, TSV in."""

from __future__ import annotations

import csv
import html
import io
import re

import polars as pl

from fastsheet.data.errors import DataError
from fastsheet.data.table import nested_as_text

HTML_CELL_LIMIT = 50_000  # beyond this, only the TSV flavour is offered
_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$")
_PLAIN_NUMBER = re.compile(r"^[-+]?\d+(\.\d+)?$")
_BOOLEANS = {"true", "false"}


def as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Every cell as the text a spreadsheet reads back as the same value."""
    frame = nested_as_text(frame)
    columns = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype == pl.Boolean:
            text = pl.when(col).then(pl.lit("TRUE")).otherwise(pl.lit("FALSE"))
            text = pl.when(col.is_null()).then(pl.lit(None)).otherwise(text)
        else:
            text = col.cast(pl.String)
        columns.append(text.fill_null("").alias(name))
    return frame.select(columns)


def to_tsv(frame: pl.DataFrame, header: bool = False) -> str:
    """Tab-separated, quoted like Excel where a cell holds a tab, newline or quote."""
    return as_text(frame).write_csv(separator="\t", include_header=header, quote_style="necessary")


def to_html(frame: pl.DataFrame, header: bool = False) -> str:
    """A plain HTML table: what Excel and Sheets paste as cells."""
    text = as_text(frame)
    rows = []
    if header:
        rows.append("".join(f"<th>{html.escape(c)}</th>" for c in text.columns))
    for values in text.iter_rows():
        cells = (html.escape(v).replace("\n", "<br>") for v in values)
        rows.append("".join(f"<td>{v}</td>" for v in cells))
    body = "".join(f"<tr>{r}</tr>" for r in rows)
    return f'<meta charset="utf-8"><table>{body}</table>'


def sheet_from_text(text: str) -> pl.DataFrame:
    """A range copied from a spreadsheet (first row: headers) as a typed frame."""
    rows = [r for r in csv.reader(io.StringIO(text.replace("\r\n", "\n")), dialect="excel-tab")]
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()
    if len(rows) < 2:
        raise DataError(
            "The clipboard holds no table. Copy a range of cells with a header row "
            "(in Excel, Sheets or a text editor, columns separated by tabs), then try again."
        )
    width = max(len(r) for r in rows)
    names = _header_names(rows[0], width)
    body = [r + [""] * (width - len(r)) for r in rows[1:]]
    columns = [_normalise([row[i].strip() for row in body]) for i in range(width)]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    writer.writerows(zip(*columns, strict=True))
    return pl.read_csv(
        io.StringIO(out.getvalue()),
        infer_schema_length=None,
        try_parse_dates=True,
    )


def _header_names(cells: list[str], width: int) -> list[str]:
    """Header cells made unique and non-empty: "", "a", "a" -> column_1, a, a_2."""
    names: list[str] = []
    for i in range(width):
        base = (cells[i].strip() if i < len(cells) else "") or f"column_{i + 1}"
        name, n = base, 2
        while name in names:
            name, n = f"{base}_{n}", n + 1
        names.append(name)
    return names


def _normalise(values: list[str]) -> list[str]:
    """Values polars will type: 1,234.5 -> 1234.5 and TRUE -> true, when the whole column is so."""
    filled = [v for v in values if v]
    if filled and all(_THOUSANDS.match(v) or _PLAIN_NUMBER.match(v) for v in filled):
        return [v.replace(",", "") for v in values]
    if filled and all(v.lower() in _BOOLEANS for v in filled):
        return [v.lower() for v in values]
    return values
