"""Split into steps in the window: propose, edit, accept; or a clear word when it cannot."""

from __future__ import annotations

import polars as pl
from PySide6.QtCore import Qt

from tests.conftest import ROOT
from tests.ui.helpers import open_file, settle, type_rule

CANDIDATES = ROOT / "resources" / "samples" / "candidates.csv"


def test_accepting_a_split_adds_the_steps_and_judges_only_where_needed(app, qtbot):
    window, _, loop = app
    open_file(window, loop, CANDIDATES)
    window.add_rule()
    type_rule(window, qtbot, "At least 5 years of experience with Python, and has led a team")
    qtbot.wait(400)
    name = window.selected_rule()
    assert name == "shortlisted"  # named by the rule's noun
    assert window.formula.split.isVisible()
    qtbot.mouseClick(window.formula.split, Qt.MouseButton.LeftButton)
    dialog = window.split_dialog
    assert dialog is not None and dialog.isVisible()
    cells = [[dialog.table.item(r, c).text() for c in range(4)] for r in range(4)]
    assert cells[0][1:3] == ["formula", "years_experience >= 5"]
    assert cells[2][1:] == ["flag", "Flag if the {summary} says: has led a team.",
                            "years_experience_at_least_5 and has_python"]  # fmt: skip
    dialog.table.item(0, 0).setText("senior")  # the user renames a step…
    dialog.table.item(2, 3).setText("senior and has_python")  # …and its uses
    dialog.table.item(3, 2).setText("senior and has_python and led_team")
    qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    assert window.split_dialog is None  # accepted and closed
    settle(window, loop, qtbot)

    session = window.session
    assert session.order[-4:] == ["senior", "has_python", "led_team", name]
    assert session.rule(name).kind.value == "formula"
    assert session.rule("led_team").where == "senior and has_python"
    frame = pl.read_csv(CANDIDATES)
    kept = (frame["years_experience"] >= 5) & frame["skills"].str.contains("Python", literal=True)
    ev = session.evaluator
    states = [ev.cell("led_team", r).state.value for r in range(frame.height)]
    assert sum(s == "skipped" for s in states) == int((~kept).sum())
    assert sum(s == "done" for s in states) == int(kept.sum())
    assert ev.summary("led_team").skipped == int((~kept).sum())  # counted apart
    shortlisted = ev.values_of(name).fill_null(False)
    assert not (shortlisted & ~kept).any()  # never true where the exact part fails


def test_a_rule_that_cannot_be_split_says_why(app, qtbot):
    window, _, loop = app
    open_file(window, loop, CANDIDATES)
    window.add_rule()
    type_rule(window, qtbot, "Flag if the {summary} sounds enthusiastic.")
    qtbot.mouseClick(window.formula.split, Qt.MouseButton.LeftButton)
    assert window.split_dialog is None
    assert "was not split: No part of this rule is exact" in window.last_error()
    assert len(window.session.order) == 1  # nothing changed


def test_cancelling_a_split_changes_nothing(app, qtbot):
    window, _, loop = app
    open_file(window, loop, CANDIDATES)
    window.add_rule()
    type_rule(window, qtbot, "At least 5 years of experience with Python, and has led a team")
    qtbot.wait(400)
    name = window.selected_rule()
    assert name == "shortlisted"  # named by the rule's noun
    qtbot.mouseClick(window.formula.split, Qt.MouseButton.LeftButton)
    before = window.session.rule(name)
    window.split_dialog.reject()
    assert window.session.order == [name]
    assert window.session.rule(name) == before
