"""The clipboard, find, go to row and Excel export, in the real window."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import polars as pl
import pytest
from PySide6.QtCore import QItemSelection, QItemSelectionModel, QMimeData, Qt
from PySide6.QtGui import QGuiApplication

from fastsheet.data.clipboard import sheet_from_text
from fastsheet.data.table import load_table
from tests.ui.helpers import open_file, run, sheet_with_rule
from ui import theme

POSITIVE = "The review is positive."


@pytest.fixture
def long_csv(tmp_path: Path) -> Path:
    """2,000 rows: enough that most are off screen."""
    path = tmp_path / "long.csv"
    pl.DataFrame(
        {
            "id": list(range(2000)),
            "city": [("Lyon", "Oslo", "Quito", "Perth")[i % 4] for i in range(2000)],
            "note": [f"order {i}" + (" needle" if i % 97 == 5 else "") for i in range(2000)],
        }
    ).write_csv(path)
    return path


def select(window, top: int, left: int, bottom: int, right: int) -> None:
    model = window.model
    selection = QItemSelection(model.index(top, left), model.index(bottom, right))
    window.table.selectionModel().select(
        selection, QItemSelectionModel.SelectionFlag.ClearAndSelect
    )


def clipboard_rows() -> list[list[str]]:
    text = QGuiApplication.clipboard().text()
    return list(csv.reader(io.StringIO(text), dialect="excel-tab"))


def test_copy_puts_cells_and_results_on_the_clipboard_as_tsv_and_html(app, reviews_csv, qtbot):
    window, _, loop = app
    sheet_with_rule(window, loop, qtbot, reviews_csv, POSITIVE)
    model = window.model
    flag_col = model.rule_column_index("positive")
    review_col = [model.column_name(c) for c in range(model.columnCount())].index("review")
    assert flag_col < review_col
    select(window, 2, flag_col, 5, review_col)
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    rows = clipboard_rows()
    results = window.session.results_frame()
    ids = model.view_rows()[2:6]
    names = [model.column_name(c) for c in range(flag_col, review_col + 1)]
    assert len(rows) == 4 and all(len(r) == len(names) for r in rows)
    for row, row_id in zip(rows, ids, strict=True):
        expected = results.row(int(row_id), named=True)
        assert row[0] == ("TRUE" if expected["positive"] else "FALSE")  # a boolean in Excel
        assert row[-1] == expected["review"]
    html = QGuiApplication.clipboard().mimeData().html()
    assert html.count("<tr>") == 4
    assert html.count("<td>TRUE</td>") + html.count("<td>FALSE</td>") == 4
    assert "Copied 4 rows" in window.statusBar().currentMessage()

    # Ctrl+A, Ctrl+C: the whole sheet with its header, read back to the same values
    qtbot.keyClick(window.table, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window.table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    back = sheet_from_text(QGuiApplication.clipboard().text())
    assert back.height == 12 and back.columns[0] == "positive"
    assert back["positive"].dtype == pl.Boolean
    shown = results[list(model.view_rows())]
    assert back["positive"].to_list() == shown["positive"].to_list()
    assert back["review"].to_list() == shown["review"].to_list()


def test_a_range_copied_from_a_spreadsheet_becomes_a_typed_sheet(app, reviews_csv, qtbot):
    window, _, loop = app
    open_file(window, loop, reviews_csv)
    before = window.session.frame
    QGuiApplication.clipboard().setText("just one line of text")
    assert window.paste_as_sheet() is None
    assert "no table" in window.last_error()
    assert window.session.frame is before  # the open sheet stays

    copied = (
        "name\tamount\tnote\tpaid\r\n"
        'Alice\t"1,234,567"\t"first line\nsecond line"\tTRUE\r\n'
        'Bob\t56\tsays "hi"\tFALSE\r\n'
        "Chen\t7,001.5\t\tTRUE\r\n"
    )
    mime = QMimeData()
    mime.setText(copied)
    QGuiApplication.clipboard().setMimeData(mime)
    assert window.act_paste_sheet.shortcut().toString() == "Ctrl+Shift+V"
    run(loop, window.paste_as_sheet())
    frame = window.session.frame
    assert frame.columns == ["name", "amount", "note", "paid"]
    assert frame.schema["amount"] == pl.Float64
    assert frame["amount"].to_list() == [1234567.0, 56.0, 7001.5]
    assert frame["paid"].to_list() == [True, False, True]
    assert frame["note"][0] == "first line\nsecond line"
    assert frame["note"][2] is None
    assert window.session.project.data.parent == window.state.folder / "pasted"
    assert window.stack.currentIndex() == 1 and window.last_error() is None


def test_find_walks_matches_in_view_order_and_keeps_them_in_view(app, long_csv, qtbot):
    window, _, loop = app
    open_file(window, loop, long_csv)
    model = window.model
    window.act_find.trigger()
    assert window.find_bar.isVisible()
    qtbot.keyClicks(window.find_bar.edit, "NEEDLE")
    qtbot.waitUntil(lambda: window.find_bar.count.text() == "21 matches", timeout=3000)
    note = [model.column_name(c) for c in range(model.columnCount())].index("note")
    found = model.index(5, note).data(Qt.ItemDataRole.BackgroundRole)
    assert found is not None and found.color() == theme.found_brush().color()
    assert model.index(6, note).data(Qt.ItemDataRole.BackgroundRole) is None

    window.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)  # id, last row first
    visited = []
    for _ in range(3):
        qtbot.keyClick(window.find_bar.edit, Qt.Key.Key_Return)
        visited.append(model.row_id(window.table.currentIndex().row()))
    assert visited == [1945, 1848, 1751]  # descending ids, as the view shows them
    assert window.find_bar.count.text() == "3 of 21"
    qtbot.keyClick(window.find_bar.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert model.row_id(window.table.currentIndex().row()) == 1848
    assert window.find_bar.count.text() == "2 of 21"

    def on_screen(row_id: int) -> bool:
        position = int(model.view_positions([row_id])[0])
        first = window.table.rowAt(0)
        last = window.table.rowAt(window.table.viewport().height() - 1)
        return first <= position <= last

    assert on_screen(1848)
    window.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)  # the row moves far away
    assert model.row_id(window.table.currentIndex().row()) == 1848
    assert on_screen(1848)

    qtbot.keyClick(window.find_bar.edit, Qt.Key.Key_Escape)
    assert not window.find_bar.isVisible()
    assert model.index(5, note).data(Qt.ItemDataRole.BackgroundRole) is None


def test_find_searches_result_columns_too(app, reviews_csv, qtbot):
    window, _, loop = app
    sheet_with_rule(window, loop, qtbot, reviews_csv, POSITIVE)
    flagged = window.session.evaluator.summary("positive").flagged
    window.find_bar.open_bar()
    assert window.navigator.search("yes") == flagged  # "✔ yes" cells; no review says "yes"
    assert window.navigator.find()
    current = window.table.currentIndex()
    assert window.model.is_rule_column(current.column())
    assert current.data().startswith("✔ yes")


def test_go_to_row(app, long_csv, qtbot):
    window, _, loop = app
    open_file(window, loop, long_csv)
    window.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    assert window.go_to_row(1500)
    current = window.table.currentIndex()
    assert window.model.row_id(current.row()) == 1499
    assert window.model.headerData(current.row(), Qt.Orientation.Vertical) == "1500"
    assert (
        window.table.rowAt(0)
        <= current.row()
        <= window.table.rowAt(window.table.viewport().height() - 1)
    )
    assert not window.go_to_row(2001)
    assert "rows 1 to 2,000" in window.statusBar().currentMessage()


def test_excel_export_has_typed_results_and_a_summary_sheet(app, reviews_csv, qtbot, tmp_path):
    window, _, loop = app
    sheet_with_rule(window, loop, qtbot, reviews_csv, POSITIVE)
    window.session.set_gold("positive", "gold")
    run(loop, window.session.evaluator.wait_idle())
    out = tmp_path / "results.xlsx"
    run(loop, window.export(out))
    assert window.last_error() is None

    results = load_table(out)  # the app's own reader: the Results sheet comes first
    assert results.columns == [
        "source",
        "review",
        "gold",
        "positive",
        "positive_p",
        "positive_source",
    ]
    assert set(results["positive_source"]) <= {"model", "cache"}
    assert results.schema["positive"] == pl.Boolean
    assert results.schema["positive_p"] == pl.Float64
    expected = window.session.results_frame()
    assert results["positive"].to_list() == expected["positive"].to_list()
    assert results["positive_p"].round(6).to_list() == expected["positive_p"].round(6).to_list()

    summary = pl.read_excel(out, sheet_name="Summary", engine="calamine")
    row = summary.row(0, named=True)
    assert row["column"] == "positive" and row["kind"] == "flag"
    assert row["rule"] == POSITIVE
    assert row["result"] == window.session.evaluator.summary("positive").text()
    assert row["share"] == pytest.approx(window.session.evaluator.summary("positive").share)
    assert row["agreement with known answers"].startswith(
        window.session.evaluator.agreement("positive").text()[:10]
    )

    with zipfile.ZipFile(out) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        styles = book.read("xl/styles.xml").decode()
    assert 'state="frozen"' in sheet and 'ySplit="1"' in sheet  # header row frozen
    assert 'formatCode="0.0%"' in styles  # the probability as a percentage
    assert "<conditionalFormatting" in sheet and "<formula>TRUE</formula>" in sheet  # tints


def test_a_failed_export_says_why_and_changes_nothing(app, reviews_csv, qtbot, tmp_path):
    window, _, loop = app
    open_file(window, loop, reviews_csv)
    run(loop, window.export(tmp_path / "no such folder" / "out.xlsx"))
    assert "does not exist" in window.last_error()
    assert window.session.frame is not None and window.stack.currentIndex() == 1
