"""Teaching by example in the window: marking cells, the "taught from" header, the threshold."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt

from fastsheet.stats.calibrate import Mode
from tests.ui.helpers import run, settle, sheet_with_rule


def test_marking_cells_with_y_and_n_teaches_the_rule(app, reviews_csv, qtbot):
    window, _, loop = app
    sheet_with_rule(window, loop, qtbot, reviews_csv, "The review is positive.")
    model = window.model
    col = model.rule_column_index("positive")
    before = {r: model.index(r, col).data() for r in range(4)}
    window.activateWindow()
    window.table.setFocus()
    for view_row, key in (
        (0, Qt.Key.Key_Y),
        (1, Qt.Key.Key_N),
        (2, Qt.Key.Key_Y),
        (3, Qt.Key.Key_N),
    ):
        window.table.setCurrentIndex(model.index(view_row, col))
        qtbot.keyClick(window.table, key)
    marks = window.session.marks("positive")
    assert len(marks) == 4
    for view_row in range(4):
        said_yes = before[view_row].startswith("✔")
        right = view_row in (0, 2)
        assert marks[model.row_id(view_row)] == (said_yes if right else not said_yes)
    # the rule's own labels column appears beside it, and the project keeps the marks
    assert model.column_name(col + 1) == "positive_gold"
    assert model.index(0, col + 1).data() in ("✔ yes", "✘ no")
    assert window.session.evaluator.columns["positive"].taught_from == 0  # not while marking
    qtbot.waitUntil(lambda: not window._teach_timer.isActive(), timeout=5000)
    settle(window, loop, qtbot)
    column = window.session.evaluator.columns["positive"]
    assert column.taught_from == 4
    assert len(column.runner.rule.examples) == 4
    assert "taught from 4 labels" in model.headerData(col, Qt.Orientation.Horizontal)
    assert column.calibration.mode is Mode.GOLD  # the threshold is fitted on the marks
    # the marks survive in the autosaved project; clearing one forgets it
    window.table.setCurrentIndex(model.index(0, col))
    qtbot.keyClick(window.table, Qt.Key.Key_U)
    assert len(window.session.marks("positive")) == 3
    window.teach_now()
    settle(window, loop, qtbot)
    assert "taught from" not in model.headerData(col, Qt.Orientation.Horizontal)


def test_dragging_the_threshold_re_decides_without_the_model(app, reviews_csv, qtbot):
    window, backend, loop = app
    sheet_with_rule(window, loop, qtbot, reviews_csv, "The review is positive.")
    histogram = window.summary.histogram
    assert histogram.isVisible()
    assert "Flag when p(yes) ≥" in window.summary.threshold_text.text()
    rows_before = backend.rows
    ev = window.session.evaluator
    y = histogram.height() // 2
    # drag the line to the far left: every row is flagged
    qtbot.mousePress(histogram, Qt.MouseButton.LeftButton, pos=QPoint(histogram.width() // 2, y))
    qtbot.mouseMove(histogram, QPoint(1, y))
    qtbot.mouseRelease(histogram, Qt.MouseButton.LeftButton, pos=QPoint(1, y))
    qtbot.wait(100)
    assert ev.columns["positive"].calibration.mode is Mode.MANUAL
    assert ev.summary("positive").flagged == 12
    # and to the far right: none is
    qtbot.mousePress(histogram, Qt.MouseButton.LeftButton, pos=QPoint(1, y))
    qtbot.mouseRelease(histogram, Qt.MouseButton.LeftButton, pos=QPoint(histogram.width() - 1, y))
    qtbot.wait(200)
    assert ev.summary("positive").flagged == 0
    col = window.model.rule_column_index("positive")
    assert all(window.model.index(r, col).data().startswith("✘") for r in range(12))
    assert backend.rows == rows_before  # re-decided from stored probabilities
    assert window.summary.threshold_reset.isVisible()
    window.summary.threshold_reset.click()
    assert ev.columns["positive"].calibration.mode is not Mode.MANUAL
    assert 0 < ev.summary("positive").flagged < 12
    p = ev.columns["positive"].result.p_yes()
    assert not np.isnan(p).any()
    run(loop, ev.wait_idle())
