"""What a yes means, in the window: the header says it, one click on it turns it over."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt

from fastsheet.files.project import load_project
from fastsheet.kinds.polarity import FINDING
from tests.ui.helpers import open_file, settle, sheet_with_rule, type_rule
from ui import theme


def test_one_click_on_the_header_turns_over_what_a_yes_means(app, reviews_csv, qtbot):
    window, backend, loop = app
    sheet_with_rule(window, loop, qtbot, reviews_csv, "The review is positive.")
    model = window.model
    col = model.rule_column_index("positive")
    header = window.table.horizontalHeader()
    assert "✓ yes = positive" in model.headerData(col, Qt.Orientation.Horizontal)
    assert " / 12 positive (" in window.summary.headline.text()
    assert window.summary.histogram.good  # the histogram's yes side is green too
    ev = window.session.evaluator
    yes_rows = [r for r in range(model.rowCount()) if ev.cell("positive", model.row_id(r)).value]
    assert yes_rows, "the sample has positive reviews"
    row = yes_rows[0]
    green = theme.cell_background(
        ev.cell("positive", model.row_id(row)), window.session.rule("positive")
    )
    rows_before = backend.rows

    x = header.sectionViewportPosition(col) + header.sectionSize(col) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 4))
    assert window.session.rule("positive").yes_means == ""  # the name line only selects
    qtbot.mouseClick(
        header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() - 4)
    )
    settle(window, loop, qtbot)
    assert window.session.rule("positive").yes_means == FINDING
    assert "⚑ yes = flagged" in model.headerData(col, Qt.Orientation.Horizontal)
    assert " / 12 flagged (" in window.summary.headline.text()
    assert not window.summary.histogram.good
    red = theme.cell_background(
        ev.cell("positive", model.row_id(row)), window.session.rule("positive")
    )
    assert green.color().green() > green.color().red()
    assert red.color().red() > red.color().green()
    assert model.index(row, col).data().startswith("✔ yes")  # the value itself is unchanged
    assert backend.rows == rows_before  # no model call
    saved = load_project(window.session.state.autosave_path)  # kept in the project
    assert [r.yes_means for r in saved.rules if r.name == "positive"] == [FINDING]


def test_a_new_flag_column_takes_its_rule_noun_as_its_name(app, reviews_csv, qtbot):
    window, _, loop = app
    open_file(window, loop, reviews_csv)
    window.add_rule()
    assert window.formula.current_name() == "flag"
    type_rule(window, qtbot, "The review follows the content policy.")
    settle(window, loop, qtbot)
    assert window.session.order == ["on_policy"]
    assert window.formula.current_name() == "on_policy"  # still the one being edited
    assert window.formula.name.text() == "on_policy"
    col = window.model.rule_column_index("on_policy")
    assert window.model.headerData(col, Qt.Orientation.Horizontal).startswith("on_policy")
    assert " / 12 on-policy (" in window.summary.headline.text()
    window.rename_rule("on_policy", "clean")  # named by the user: it stays so
    type_rule(window, qtbot, "The review is positive.")
    settle(window, loop, qtbot)
    assert window.session.order == ["clean"]
