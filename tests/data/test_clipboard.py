"""Spreadsheet clipboard text in and out, and finding text in columns (no Qt)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from fastsheet.data.clipboard import sheet_from_text, to_html, to_tsv
from fastsheet.data.errors import DataError
from fastsheet.data.find import find_cells
from fastsheet.files.workbook import MAX_ROWS, write_workbook


def test_tsv_round_trips_quotes_tabs_newlines_and_types() -> None:
    frame = pl.DataFrame(
        {
            "text": ['says "hi"', "tab\there", "two\nlines", None],
            "n": [1, 2, 3, 4],
            "x": [0.5, None, 2.25, 1e-3],
            "ok": [True, False, None, True],
        }
    )
    back = sheet_from_text(to_tsv(frame, header=True))
    assert back.schema == frame.schema
    assert back.equals(frame)


def test_html_escapes_cells() -> None:
    html = to_html(pl.DataFrame({"a": ["<b>&"]}), header=True)
    assert "<th>a</th>" in html and "<td>&lt;b&gt;&amp;</td>" in html


def test_headers_are_made_unique_and_thousands_separators_read_as_numbers() -> None:
    frame = sheet_from_text("a\ta\t\n1,000\tx\t2\n-12,345.5\ty\t3\n")
    assert frame.columns == ["a", "a_2", "column_3"]
    assert frame["a"].to_list() == [1000.0, -12345.5]
    assert frame.schema["column_3"] == pl.Int64
    text = sheet_from_text("code\n1,2\n3,4\n")  # not thousands groups: stays text
    assert text["code"].to_list() == ["1,2", "3,4"]


@pytest.mark.parametrize("text", ["", "\n\n", "only a header\n", "\t\t\n"])
def test_text_without_a_table_is_a_clear_error(text: str) -> None:
    with pytest.raises(DataError, match="no table"):
        sheet_from_text(text)


def test_find_cells_ignores_case_and_takes_the_needle_literally() -> None:
    frame = pl.DataFrame(
        {"note": ["Needle here", "hay", None], "flag": ["yes", "", "no"], "n": [10, 210, 3]}
    )
    found = find_cells(frame, "NEEDLE")
    assert list(found) == ["note"] and found["note"].tolist() == [True, False, False]
    assert find_cells(frame, "yes")["flag"].tolist() == [True, False, False]
    assert find_cells(frame, "10")["n"].tolist() == [True, True, False]
    assert find_cells(frame, "(.*") == {}  # a literal, not a pattern
    assert find_cells(frame, "") == {}


def test_excel_refuses_more_rows_than_a_sheet_holds(tmp_path: Path) -> None:
    frame = pl.DataFrame({"a": pl.zeros(MAX_ROWS + 1, eager=True)})
    with pytest.raises(DataError, match="CSV or Parquet"):
        write_workbook(frame, tmp_path / "big.xlsx", [])
    assert not list(tmp_path.iterdir())
