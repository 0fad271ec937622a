"""Formula columns and conditions in the real window (offscreen): typed, shown, exported."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from PySide6.QtCore import Qt

from fastsheet.kinds.rules import Kind
from tests.ui.helpers import open_file, run, settle, type_rule


def column_texts(window, name: str) -> list[str]:
    col = window.model.rule_column_index(name)
    return [window.model.index(r, col).data() for r in range(window.model.rowCount())]


def test_writing_a_formula_computes_it_without_the_model(app, reviews_csv, qtbot, tmp_path):
    window, counting, loop = app
    open_file(window, loop, reviews_csv)
    window.add_rule(Kind.FORMULA)
    assert window.formula.kind.currentText() == "formula"
    assert not window.formula.where.isVisible()  # a formula has no condition
    type_rule(window, qtbot, 'len(review) > 25 or contains(review, "great")')
    settle(window, loop, qtbot)
    reviews = pl.read_csv(reviews_csv)["review"]
    expected = (reviews.str.len_chars() > 25) | reviews.str.to_lowercase().str.contains("great")
    name = window.selected_rule()
    assert column_texts(window, name) == ["✔ true" if e else "✘ false" for e in expected]
    assert counting.rows == 0  # never the model
    window._refresh_panels()
    assert window.summary.headline.text().startswith(f"{expected.sum()} / {len(expected)} true")
    out = tmp_path / "formula.csv"
    window.session.export(out)  # typed values; no probability or source for a formula
    exported = pl.read_csv(out)
    assert exported[name].to_list() == expected.to_list()
    assert f"{name}_p" not in exported.columns and f"{name}_source" not in exported.columns
    # a mistake says where, keeps the text, and the column shows the error
    type_rule(window, qtbot, "len(review) > ")
    qtbot.wait(400)
    assert "Expected a value" in window.formula.error.text() and window.formula.error.isVisible()
    assert window.session.rule(name).text == "len(review) > "
    type_rule(window, qtbot, "len(review)")
    settle(window, loop, qtbot)
    assert not window.formula.error.isVisible()
    assert column_texts(window, name)[0] == str(reviews.str.len_chars()[0])


def test_adding_a_condition_skips_rows_without_a_model_call(app, reviews_csv, qtbot, tmp_path):
    window, counting, loop = app
    open_file(window, loop, reviews_csv)
    window.add_rule()
    type_rule(window, qtbot, "The review is positive.")
    settle(window, loop, qtbot)
    name = window.selected_rule()
    assert window.formula.where.isVisible() and window.formula.where.placeholderText() == "all rows"
    counting.rows = 0
    window.formula.where.setFocus()
    qtbot.keyClicks(window.formula.where, "len(review) > 25")
    settle(window, loop, qtbot)
    reviews = pl.read_csv(reviews_csv)["review"]
    kept = (reviews.str.len_chars() > 25).to_list()
    texts = column_texts(window, name)
    assert [t == "–" for t in texts] == [not k for k in kept]
    assert counting.rows == 0  # the kept rows were judged before: the cache answers
    window._refresh_panels()
    assert window.summary.headline.text().endswith(f"· {kept.count(False)} skipped")
    col = window.model.rule_column_index(name)
    skipped_row = kept.index(False)
    tip = window.model.index(skipped_row, col).data(Qt.ItemDataRole.ToolTipRole)
    assert "only where len(review) > 25" in tip
    # export says where each answer came from
    out = tmp_path / "out.csv"
    window.session.export(out)
    exported = pl.read_csv(out)
    assert exported[f"{name}_source"].to_list() == ["cache" if k else "skipped" for k in kept]
    assert exported.filter(pl.col(f"{name}_source") == "skipped")[name].is_null().all()
    # saved and opened again: the condition is kept
    project = tmp_path / "p.fastsheet"
    window.session.save(project)
    window.session.open(project)
    assert window.session.rule(name).where == "len(review) > 25"
    # a condition that is not true/false is an error shown in the bar
    window._select(name)
    window.formula.where.selectAll()
    qtbot.keyClicks(window.formula.where, "len(review)")
    qtbot.wait(400)
    run(loop, window.session.evaluator.wait_idle())
    assert "must be true or false" in window.formula.error.text()
    assert isinstance(Path(out), Path)


def test_a_formula_and_asks_its_rule_only_where_the_exact_part_holds(app, reviews_csv, qtbot):
    """`long and positive`: the rule is judged only on long reviews, and the window says why."""
    window, counting, loop = app
    open_file(window, loop, reviews_csv)
    window.add_rule(Kind.FORMULA)
    long_name = window.selected_rule()
    type_rule(window, qtbot, "len(review) > 25")
    settle(window, loop, qtbot)
    window.add_rule()
    type_rule(window, qtbot, "The review is positive.")
    settle(window, loop, qtbot)
    rule_name = window.selected_rule()  # named by its noun once typed
    assert rule_name == "positive"
    window.add_rule(Kind.FORMULA)
    type_rule(window, qtbot, f"{long_name} and {rule_name}")
    both_name = window.selected_rule()
    counting.rows = 0
    settle(window, loop, qtbot)
    reviews = pl.read_csv(reviews_csv)["review"]
    long = (reviews.str.len_chars() > 25).to_list()
    assert counting.rows == 0  # every row it needs was judged before (the cache)
    ev = window.session.evaluator
    states = [ev.cell(rule_name, r).state.value for r in range(len(long))]
    assert states == ["done" if keep else "skipped" for keep in long]
    assert not any(b and not keep for b, keep in zip(ev.values_of(both_name), long, strict=True))
    col = window.model.rule_column_index(rule_name)
    short = long.index(False)
    tip = window.model.index(short, col).data(Qt.ItemDataRole.ToolTipRole)
    assert tip == (f"Skipped: {both_name} needs this rule only where {long_name}; no model call")
    assert window.session.rule(rule_name).where == ""  # nothing written into the rule
    window._select(rule_name)
    assert window.formula.where.text() == ""
    assert window.formula.where.placeholderText().startswith(f"{long_name}   (what {both_name}")
    window._select(both_name)
    window.delete_rule()  # nothing reads the rule now: every row is judged again (cached)
    settle(window, loop, qtbot)
    assert all(ev.cell(rule_name, r).state.value == "done" for r in range(len(long)))
    assert counting.rows == 0
