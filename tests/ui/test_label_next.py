"""Label next in the window, on the real model: rows asked one at a time and answered with
Y / N; the labels teach the rule until the user turns on "Learn from labels", then it
learns them (the header says `learned`) and is re-decided from the stored states with no
model call."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
from PySide6.QtCore import Qt

from fastsheet.kinds.rules import Kind
from fastsheet.learning.learned import LEARN_FROM
from tests.ui.helpers import open_file, settle, sheet_with_rule, type_rule

ROOT = Path(__file__).resolve().parents[2]
ROWS = 96


def spam_sheet(tmp_path: Path) -> tuple[Path, list[bool]]:
    """Emails from the dev suite, a third spam, bodies cut short; the gold kept apart."""
    frame = pl.read_csv(ROOT / "bench" / "data" / "spam_emails.csv")
    frame = pl.concat(
        [frame.filter(pl.col("gold")).head(32), frame.filter(~pl.col("gold")).head(64)]
    )
    frame = frame.sample(fraction=1.0, shuffle=True, seed=4)
    gold = frame["gold"].to_list()
    path = tmp_path / "emails.csv"
    frame.drop("gold").with_columns(pl.col("body").str.slice(0, 160)).write_csv(path)
    return path, gold


def balanced(decided, gold: list[bool], rows: list[int]) -> float:
    """Balanced accuracy of yes / no decisions on `rows`."""
    by_class = [[bool(decided[r]) == gold[r] for r in rows if gold[r] is k] for k in (True, False)]
    return sum(sum(c) / len(c) for c in by_class) / 2


def answer(window, qtbot, gold: list[bool]) -> int:
    """Answer the row the bar asks about, from the gold; the row answered."""
    row = window._label_row
    assert row is not None
    qtbot.keyClick(window.label_bar, Qt.Key.Key_Y if gold[row] else Qt.Key.Key_N)
    return row


def test_label_next_teaches_the_rule_until_it_learns(app, qtbot, tmp_path):
    """Labels teach the rule (examples and a threshold) at any count, until the user asks
    it to learn them from the bar: then the header switches to `learned`."""
    window, backend, loop = app
    path, gold = spam_sheet(tmp_path)
    sheet_with_rule(window, loop, qtbot, path, "The email is spam.")
    model = window.model
    col = model.rule_column_index("spam")
    zero_shot = window.session.evaluator.columns["spam"]
    before, _ = zero_shot.result.decide(zero_shot.calibration)
    window.act_label_next.trigger()
    bar = window.label_bar
    assert bar.isVisible()
    assert "Label next · spam · row" in bar.title.text()
    assert "0 labels" in bar.progress.text() and "4 more to teach the rule" in bar.progress.text()
    asked = [answer(window, qtbot, gold) for _ in range(LEARN_FROM + 4)]
    assert len(set(asked)) == len(asked)  # never the same row twice
    assert {model.row_id(window.table.currentIndex().row())} == {window._label_row}
    marks = window.session.marks("spam")
    assert marks == {row: gold[row] for row in asked}
    window.teach_now()
    settle(window, loop, qtbot)
    column = window.session.evaluator.columns["spam"]
    assert column.taught_by == "threshold" and not column.decision.learning  # off by default
    assert len(column.runner.rule.examples) > 0
    header = model.headerData(col, Qt.Orientation.Horizontal)
    assert f"taught from {LEARN_FROM + 4} labels · threshold" in header
    assert not bar.learn.isChecked() and "more to learn it" not in bar.progress.text()
    rows_before = backend.rows
    qtbot.mouseClick(bar.learn, Qt.MouseButton.LeftButton)  # "Learn from labels"
    assert bar.learn.isChecked() and window.session.rule("spam").learn
    settle(window, loop, qtbot)
    assert backend.rows == rows_before  # the plain prompt's answers and states: cached
    column = window.session.evaluator.columns["spam"]
    assert column.taught_by == "learned", column.decision.learned
    assert column.runner.rule.examples == ()
    header = model.headerData(col, Qt.Orientation.Horizontal)
    assert f"taught from {LEARN_FROM + 4} labels · learned" in header
    assert f"{LEARN_FROM + 4} labels · agrees with your labels:" in bar.progress.text()
    # more labels: re-decided from the stored states, no model call, the count moves
    rows_before, generation = backend.rows, column.generation
    asked += [answer(window, qtbot, gold) for _ in range(4)]
    window.teach_now()
    settle(window, loop, qtbot)
    assert backend.rows == rows_before
    column = window.session.evaluator.columns["spam"]
    assert column.generation == generation and column.taught_from == LEARN_FROM + 8
    header = model.headerData(col, Qt.Orientation.Horizontal)
    assert f"taught from {LEARN_FROM + 8} labels · learned" in header
    agreed, total, _ = column.decision.learned.agreement()
    assert total == LEARN_FROM + 8
    assert f"agrees with your labels: {agreed} / {total}" in bar.progress.text()
    decided, _ = column.result.decide(column.calibration)
    rest = [r for r in range(ROWS) if r not in set(asked)]
    assert balanced(decided, gold, rest) >= max(0.65, balanced(before, gold, rest) + 0.1)
    qtbot.keyClick(bar, Qt.Key.Key_Escape)
    assert not bar.isVisible()
    window.grab().save(str(tmp_path / "label-next.png"))


def test_a_score_column_is_labelled_by_its_digits_and_taught(app, qtbot, tmp_path, reviews_csv):
    window, _, loop = app
    open_file(window, loop, reviews_csv)
    window.add_rule(Kind.SCORE)
    type_rule(window, qtbot, "How enthusiastic is the review?")
    settle(window, loop, qtbot)
    name = window.selected_rule()
    assert window.session.rule(name).scale == (1, 5)
    window.act_label_next.trigger()
    bar = window.label_bar
    assert bar.isVisible() and "Label next" in bar.title.text()
    assert [b.text() for b, _ in bar._answers] == [str(v) for v in range(1, 6)]  # key = text
    given = {}
    for key, value in ((Qt.Key.Key_5, 5), (Qt.Key.Key_1, 1), (Qt.Key.Key_4, 4), (Qt.Key.Key_2, 2)):
        given[window._label_row] = value
        qtbot.keyClick(bar, key)
    assert window.session.marks(name) == given
    assert "4 labels" in bar.progress.text() and "more to learn it" not in bar.progress.text()
    window.teach_now()
    settle(window, loop, qtbot)
    column = window.session.evaluator.columns[name]
    assert column.taught_from == 4
    assert sorted(answer for _, answer in column.runner.rule.examples) == ["1", "2", "4", "5"]
    header = window.model.headerData(
        window.model.rule_column_index(name), Qt.Orientation.Horizontal
    )
    assert "✦ score · taught from 4 labels · examples" in header  # no threshold to speak of
    model = window.model
    labels_col = model.rule_column_index(name) + 1
    assert model.labels_of(labels_col) == name
    shown = {model.index(r, labels_col).data() for r in range(model.rowCount())}
    assert {"5", "1", "4", "2"} <= shown
    # marked in the sheet: a right score is kept as its point on the scale, a wrong one as
    # the point chosen
    view_row = next(r for r in range(model.rowCount()) if model.row_id(r) not in given)
    window.table.setCurrentIndex(model.index(view_row, model.rule_column_index(name)))
    value = column.result.decide(column.calibration)[0][model.row_id(view_row)]
    assert window.mark_selected(right=True)
    assert window.session.marks(name)[model.row_id(view_row)] == int(np.floor(value + 0.5))
    assert window.mark_selected(right=False, label=3)
    assert window.session.marks(name)[model.row_id(view_row)] == 3
