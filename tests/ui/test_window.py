"""The desktop window, offscreen, with the real Fast-tier model, a real cache file and real files."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import shiboken6
from PySide6.QtCore import QItemSelectionModel, Qt

from fastsheet.files.project import Project, load_project, save_project
from fastsheet.kinds.rules import Rule
from tests.ui.helpers import open_file, run, settle, sheet_with_rule, type_rule
from ui import theme
from ui.app import SAMPLES, StallMeter, create_window


def test_model_tester_passes_on_the_sheet_model(app, reviews_csv, qtbot, qtmodeltester):
    window, _, loop = app
    sheet_with_rule(window, loop, qtbot, reviews_csv, "The review is positive.")
    qtmodeltester.check(window.model, force_py=True)
    window.model.sort(0, Qt.SortOrder.DescendingOrder)
    qtmodeltester.check(window.model, force_py=True)


def test_typing_a_rule_fills_the_column_and_updates_the_summary(app, reviews_csv, qtbot):
    window, backend, loop = app
    open_file(window, loop, reviews_csv)
    assert window.stack.currentIndex() == 1
    window.act_add.trigger()
    assert window.formula.editor.hasFocus() or window.formula.current_name() == "flag"
    type_rule(window, qtbot, "The review is positive.")
    settle(window, loop, qtbot)
    model = window.model
    col = model.rule_column_index("positive")
    texts = [model.index(r, col).data() for r in range(model.rowCount())]
    assert all(t.startswith(("✔ yes", "✘ no")) for t in texts), texts
    assert backend.rows >= 12
    summary = window.session.evaluator.summary("positive")
    assert summary.done == 12
    assert window.summary.headline.text() == summary.text()
    assert window.summary.headline.text().endswith(f"({100 * summary.flagged / 12:.1f}%)")


def test_a_second_edit_replaces_the_first_generation(app, reviews_csv, qtbot):
    window, _, loop = app
    open_file(window, loop, reviews_csv)
    window.add_rule()
    type_rule(window, qtbot, "The review is negative.")
    qtbot.wait(450)  # the first version starts evaluating
    type_rule(window, qtbot, "The review is positive.")
    settle(window, loop, qtbot)
    ev = window.session.evaluator
    column = ev.columns["positive"]
    assert column.rule.text == "The review is positive."
    assert [g.rule.text for g in ev.history("positive")][-2:] == [
        "The review is negative.",
        "The review is positive.",
    ]
    assert all(ev.cell("positive", r).generation == column.generation for r in range(12))


def test_flipped_rows_flash_then_settle_and_a_closed_sheet_leaves_no_timer(
    app, reviews_csv, qtbot, monkeypatch
):
    window, _, loop = app
    first = sheet_with_rule(window, loop, qtbot, reviews_csv, "The review is positive.")
    before = window.session.evaluator.values_of(first).head(12).to_list()
    frozen = theme.now()
    monkeypatch.setattr(theme, "now", lambda: frozen)  # no flash ends while the model works
    type_rule(window, qtbot, "The review is negative.")
    settle(window, loop, qtbot)
    model = window.model
    col = model.rule_column_index("flagged")
    flash = theme.flash_color()

    def flashing() -> list[int]:
        brushes = [model.index(r, col).data(Qt.ItemDataRole.BackgroundRole) for r in range(12)]
        return [r for r, b in enumerate(brushes) if b is not None and b.color() == flash]

    after = window.session.evaluator.values_of("flagged").head(12).to_list()
    flipped = [r for r in range(12) if after[r] != before[r]]
    assert len(flipped) >= 3  # decisions flip from "positive" to "negative"
    assert flashing() == flipped  # exactly those rows flash
    monkeypatch.undo()  # the clock runs again: the flashes end
    qtbot.waitUntil(lambda: not flashing(), timeout=4000)
    # a sheet replaced while its rows flash: the pending repaint goes with its model
    frozen = theme.now()
    monkeypatch.setattr(theme, "now", lambda: frozen)
    type_rule(window, qtbot, "The review is positive.")
    settle(window, loop, qtbot)
    assert flashing()
    monkeypatch.undo()
    old = window.model
    open_file(window, loop, reviews_csv)
    assert window.model is not old
    qtbot.wait(2500)  # past the flash: a timer left on a deleted model would crash here
    assert not shiboken6.isValid(old)  # the replaced model is freed, not kept by the window
    run(loop, window.session.evaluator.wait_idle())


def test_add_rename_and_delete_rule_columns(app, reviews_csv, qtbot):
    window, _, loop = app
    open_file(window, loop, reviews_csv)
    window.add_rule()
    window.add_rule()
    assert window.session.order == ["flag", "flag_2"]
    assert window.model.columnCount() == 2 + 3
    window.rename_rule("flag_2", "mentions_food")
    assert window.session.order == ["flag", "mentions_food"]
    assert window.model.headerData(1, Qt.Orientation.Horizontal).startswith("mentions_food")
    window.rename_rule("flag", "review")  # a data column's name
    assert "already called 'review'" in window.last_error()
    window._select("flag")
    window.delete_rule()
    assert window.session.order == ["mentions_food"]
    assert window.model.columnCount() == 1 + 3
    run(loop, window.session.evaluator.wait_idle())


def test_learn_from_labels_on_a_rule_in_error_keeps_its_text_and_says_why(app, reviews_csv, qtbot):
    window, _, loop = app
    open_file(window, loop, reviews_csv)
    window.add_rule()
    name = window.selected_rule()
    type_rule(window, qtbot, "Is {nope} positive?")
    qtbot.wait(400)  # the bar's debounce
    assert "Unknown column {nope}" in window.formula.error.text()
    window.set_learning(name, True)  # the header menu's and the Label next bar's switch
    rule = window.session.rule(name)
    assert rule.learn and rule.text == "Is {nope} positive?"
    assert "Unknown column {nope}" in window.formula.error.text()
    type_rule(window, qtbot, "Is the {review} positive?")  # fixed: it still learns
    settle(window, loop, qtbot)
    name = window.selected_rule()  # named by its noun once it is fixed
    assert window.session.rule(name).learn and not window.formula.error.isVisible()
    window.set_learning(name, False)
    assert not window.session.rule(name).learn
    run(loop, window.session.evaluator.wait_idle())


def test_open_export_save_and_reopen_restores_rules_and_results_from_the_cache(
    app, reviews_csv, qtbot, tmp_path
):
    window, backend, loop = app
    sheet_with_rule(window, loop, qtbot, reviews_csv, "The review is positive.")
    window.session.set_gold("positive", "gold")  # taught from it, and it leaves the records
    run(loop, window.session.evaluator.wait_idle())
    exported = tmp_path / "out.parquet"
    run(loop, window.export(exported))
    result = pl.read_parquet(exported)
    assert result.columns == [
        "source",
        "review",
        "gold",
        "positive",
        "positive_p",
        "positive_source",
    ]
    assert result["positive"].null_count() == 0 and result["positive_source"].null_count() == 0
    project = tmp_path / "reviews.fastsheet"
    window.save_project(project)
    saved = load_project(project)
    assert [r.text for r in saved.rules] == ["The review is positive."]
    assert saved.rules[0].gold == "gold" and saved.data == reviews_csv.resolve()

    rows_before = backend.rows
    window.session.close()
    open_file(window, loop, project)
    run(loop, window.session.evaluator.wait_idle())
    # every row's result comes from the cache; a taught rule may judge one first batch
    # (2 rows) again on reopening: a known cache miss in the taught path, not yet traced
    assert backend.rows <= rows_before + 2
    assert window.session.order == ["positive"]
    ev = window.session.evaluator
    decisions = [ev.cell("positive", r).value for r in range(12)]
    assert decisions == result["positive"].to_list()


def test_a_project_opens_with_its_saved_model_or_says_why_not(
    app, reviews_csv, qtbot, tmp_path, model_path
):
    window, backend, loop = app
    project = Project(data=reviews_csv, rules=[Rule("The review is positive.", name="flag")])
    # saved with a model that is not on this machine: it opens on the current model and says so
    project.model = str(tmp_path / "gone.gguf")
    save_project(project, tmp_path / "gone.fastsheet")
    open_file(window, loop, tmp_path / "gone.fastsheet")
    assert window.session.order == ["flag"]
    assert window.session.backend is backend
    assert "gone.gguf" in window.last_error() and "Using" in window.last_error()
    run(loop, window.session.evaluator.wait_idle())
    # saved with another model file: that model is loaded before the rules run
    other = tmp_path / "other.gguf"
    shutil.copyfile(model_path, other)
    project.model = str(other)
    save_project(project, tmp_path / "other.fastsheet")
    open_file(window, loop, tmp_path / "other.fastsheet")
    loaded = window.session.backend
    assert loaded is not backend and loaded.path == other
    assert not window.last_error()
    run(loop, window.session.evaluator.wait_idle())
    assert window.session.evaluator.summary("flag").done == 12
    assert Path(window.session.project.model).resolve() == other.resolve()
    window.session.set_backend(backend)  # back to the shared test model; closes the copy
    run(loop, window.session.evaluator.wait_idle())


def test_a_windows_csv_opens_and_the_status_bar_says_what_was_assumed(app, tmp_path):
    window, _, loop = app
    path = tmp_path / "excel.csv"
    path.write_bytes("name,city\nJosé Müller,Zürich\nFrançois,Genève\n".encode("cp1252"))
    open_file(window, loop, path)
    assert window.last_error() is None
    assert window.session.frame["city"].to_list() == ["Zürich", "Genève"]
    assert "read as cp1252 (not UTF-8)" in window.statusBar().currentMessage()


def test_a_bad_file_shows_an_error_and_keeps_the_current_sheet(app, reviews_csv, qtbot, tmp_path):
    window, _, loop = app
    open_file(window, loop, reviews_csv)
    window.add_rule()
    type_rule(window, qtbot, "The review is positive.")
    qtbot.wait(400)
    bad = tmp_path / "broken.csv"
    bad.write_text('a,b\n1,2\n3,"x\n4,5,6\n')
    open_file(window, loop, bad)
    assert "not a well-formed CSV" in window.last_error()
    assert window.session.order == ["positive"]
    assert window.session.rule("positive").text == "The review is positive."
    assert window.model.rowCount() == 12
    not_json = tmp_path / "bad.fastsheet"
    not_json.write_text("{ nope")
    open_file(window, loop, not_json)
    assert "not a fastsheet project" in window.last_error()
    assert window.session.rule("positive").text == "The review is positive."
    run(loop, window.session.evaluator.wait_idle())


def test_support_sample_writes_replies_and_counts_the_judge(app, qtbot):
    window, counting, loop = app
    open_file(window, loop, SAMPLES / "support.fastsheet")
    assert window.session.order == ["reply", "on_policy"]
    run(loop, window.session.evaluator.wait_idle(), timeout=600)
    ev = window.session.evaluator
    replies = [ev.cell("reply", r).value for r in range(30)]
    # replies read like a support bot's: no bare numbers ("12345", as the old prompt gave),
    # and most are sentences (the Fast tier still answers some with a made-up order number)
    assert all(isinstance(t, str) and t and not t.strip().isdigit() for t in replies), replies
    wordy = [t for t in replies if len(t.split()) >= 5]
    assert len(wordy) >= 18, replies
    assert ev.agreement("on_policy") is None  # no constant gold column any more
    window._select("on_policy")
    window._refresh_panels()
    flagged = ev.summary("on_policy").flagged
    assert window.summary.headline.text().startswith(f"{flagged} / 30")
    assert not window.summary.gold.isVisible()
    # Why? on 5 selected verdicts: 5 one-line reasons beside them, each about its row
    model = window.model
    col = model.rule_column_index("on_policy")
    window.table.setFocus()
    window.table.setCurrentIndex(model.index(0, col))
    for view_row in range(1, 5):
        window.table.selectionModel().select(
            model.index(view_row, col), QItemSelectionModel.SelectionFlag.Select
        )
    rows_before = counting.rows
    qtbot.keyClick(window.table, Qt.Key.Key_Question, Qt.KeyboardModifier.ShiftModifier)
    why = model.column_name(col + 1)
    assert why == "on_policy_why"
    assert model.index(0, col + 1).data() == "… writing a reason"
    run(loop, ev.wait_idle(), timeout=300)
    assert counting.rows - rows_before == 5  # five short generations, nothing else
    for view_row in range(5):
        row = model.row_id(view_row)
        reason = ev.reason("on_policy", row)
        shown = model.index(view_row, col + 1).data()
        assert reason is not None and reason.text and "\n" not in reason.text
        assert shown.endswith(reason.text)
        # (what a reason says is tested on the default tier: tests/sheet/test_reasons.py)
        assert reason.text in model.index(view_row, col).data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(5, col + 1).data() == ""  # never asked
    # an edit drops them
    window._select("on_policy")
    rule = window.session.rule("on_policy")
    window.set_rule(replace(rule, text=rule.text + " Be strict."))
    run(loop, ev.wait_idle(), timeout=300)
    assert all(ev.reason("on_policy", model.row_id(r)) is None for r in range(5))


def test_candidates_sample_works_in_steps_and_agrees_with_its_gold(default_app, qtbot):
    """The starter is split into steps: an exact formula, a short rule over {summary} only
    where the formula holds, and their combination. On the default tier."""
    window, counting, loop = default_app
    open_file(window, loop, SAMPLES / "candidates.fastsheet")
    run(loop, window.session.evaluator.wait_idle(), timeout=600)
    ev = window.session.evaluator
    assert window.session.order == ["senior_python", "led_team", "shortlist"]
    frame = pl.read_csv(SAMPLES / "candidates.csv")
    kept = (frame["years_experience"] >= 5) & frame["skills"].str.contains("Python")
    assert ev.values_of("senior_python").to_list() == kept.to_list()
    # the model judged only the rows the formula keeps (and a few content-free probes)
    led = ev.summary("led_team")
    assert led.skipped == (~kept).sum() == 287
    assert kept.sum() <= counting.rows <= kept.sum() + 3  # + the content-free probes
    assert all(ev.cell("led_team", r).state.value == "skipped" for r in np.flatnonzero(~kept))
    # the combination agrees with the sample's gold (measured: on every row; the whole
    # rule in one prompt: 0.71, docs/app.md)
    shortlist = ev.values_of("shortlist").fill_null(False).to_numpy()
    gold = frame["qualifies"].to_numpy()
    tp, tn = (shortlist & gold).sum(), (~shortlist & ~gold).sum()
    balanced = (tp / gold.sum() + tn / (~gold).sum()) / 2
    assert balanced >= 0.95
    window._select("led_team")
    window._refresh_panels()
    assert window.summary.headline.text().endswith("· 287 skipped")
    window._select("shortlist")
    window._refresh_panels()
    assert window.summary.headline.text().startswith(f"{int(shortlist.sum())} / 340 true")


def test_the_event_loop_never_stalls_while_evaluating_and_scrolling(app, qtbot):
    window, _, loop = app
    open_file(window, loop, SAMPLES / "candidates.fastsheet")
    meter = StallMeter()
    meter.start()
    for _ in range(20):
        window.table.verticalScrollBar().setValue(window.table.verticalScrollBar().value() + 120)
        qtbot.wait(50)
    meter.stop()
    window.session.evaluator.cancel()
    run(loop, window.session.evaluator.wait_idle())
    assert (
        meter.max_stall < 0.25
    )  # generous for a loaded CI machine; docs/performance.md reports the measured figure


def test_autosave_restores_unsaved_rules_after_a_crash(app, reviews_csv, qtbot, tmp_path):
    window, _, loop = app
    open_file(window, loop, reviews_csv)
    window.add_rule()
    type_rule(window, qtbot, "The review mentions the staff.")
    qtbot.wait(400)
    # a new window on the same app state, as after a crash
    state = window.state
    assert state.autosave_path.exists()
    other = create_window(state)
    qtbot.addWidget(other)
    other.show_welcome()
    assert other.welcome.restore.isVisibleTo(other)
    restored = load_project(state.autosave_path)
    assert [r.text for r in restored.rules] == ["The review mentions the staff."]
    assert restored.data == reviews_csv.resolve()
    run(loop, window.session.evaluator.wait_idle())


def test_the_app_never_opens_a_network_connection(app, qtbot, monkeypatch):
    import socket

    attempts: list[tuple] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("fastsheet is offline: no sockets in this test")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    window, backend, loop = app
    open_file(window, loop, SAMPLES / "fraud.fastsheet")
    window.add_rule()
    type_rule(window, qtbot, "The {merchant} sells {category}.")
    settle(window, loop, qtbot)
    ev = window.session.evaluator
    assert ev.summary("suspicious").done == ev.summary("flagged").done == 10_000
    assert backend.rows > 0  # the model really judged rows
    from ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(window, server={"url": "http://127.0.0.1:8080"})  # a server named
    dialog.tabs.setCurrentIndex(1)  # but not tested or chosen: still nothing sent
    dialog.reject()
    assert attempts == []


def test_the_grid_shows_pushed_cells_without_asking_the_engine_again(app, reviews_csv, qtbot):
    from dataclasses import replace

    from fastsheet.data.cells import Cell, CellState
    from fastsheet.sheet.engine import ColumnEvent, Update
    from ui.sheet_model import CELL_ROLE

    window, _, loop = app
    sheet_with_rule(window, loop, qtbot, reviews_csv, "The review is positive.")
    model, evaluator = window.model, window.session.evaluator
    col = model.rule_column_index("positive")
    index = model.index(0, col)
    row = model.row_id(0)
    shown = index.data(CELL_ROLE)
    assert shown.state is CellState.DONE
    generation = evaluator.columns["positive"].generation
    pushed = replace(shown, state=CellState.ERROR, error="pushed", value=None, p=None)
    pulls: list[int] = []
    real_cells = evaluator.cells

    def counted(name: str, rows) -> tuple[Cell, ...]:
        pulls.extend(rows)
        return real_cells(name, rows)

    evaluator.cells = counted
    try:
        model.on_event(Update("positive", generation, (row,), (pushed,), "error"))
        qtbot.wait(120)  # the coalesced repaint
        assert index.data(CELL_ROLE) == pushed  # the pushed value, as it came
        assert "pushed" in index.data(Qt.ItemDataRole.ToolTipRole)
        assert row not in pulls
        model.on_event(ColumnEvent("positive", generation, "started"))  # a whole column: re-read
        qtbot.wait(120)
        assert index.data(CELL_ROLE) == shown
        assert row in pulls
    finally:
        del evaluator.cells
