"""The Model dialog's Server tab and judging a sheet on a real llama_cpp.server."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt

from fastsheet.backends.server import ServerSettings
from tests.ui.helpers import open_file, run, settle, type_rule
from ui.settings_dialog import SettingsDialog


def test_the_server_tab_tests_the_connection_with_a_sample_answer(qtbot, llama_server):
    dialog = SettingsDialog(None, server={"url": llama_server, "concurrency": 4})
    qtbot.addWidget(dialog)
    dialog.tabs.setCurrentIndex(1)
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.last_test is not None, timeout=120_000)
    assert dialog.last_test.ok, dialog.last_test.text
    text = dialog.test_result.text()
    assert text.startswith("✓ Connected to 127.0.0.1:")
    assert "Sample: “The review is positive.”" in text and "→ Yes" in text
    assert dialog.server_model.count() >= 1 and "qwen2.5" in dialog.server_model.itemText(0)
    choice = dialog.server_choice()
    assert choice == ServerSettings(llama_server, dialog.server_model.currentText(), 4)
    dialog.tabs.setCurrentIndex(0)
    assert dialog.server_choice() is None  # the local tab: no server


def test_a_dead_server_in_the_dialog_says_so(qtbot):
    dialog = SettingsDialog(None, server={"url": "http://127.0.0.1:9"})
    qtbot.addWidget(dialog)
    dialog.test()
    qtbot.waitUntil(lambda: dialog.last_test is not None, timeout=60_000)
    assert not dialog.last_test.ok
    assert "could not be reached" in dialog.test_result.text()
    assert dialog.test_button.isEnabled()


def test_a_sheet_judged_on_the_server_then_back_to_local_in_one_click(
    app, reviews_csv, qtbot, llama_server
):
    window, counting, loop = app
    open_file(window, loop, reviews_csv)
    window.add_rule()
    type_rule(window, qtbot, "The review is positive.")
    settle(window, loop, qtbot)
    assert "Server" not in window.model_label.text()
    assert not window.local_button.isVisible()

    run(loop, window.use_server(ServerSettings(llama_server, concurrency=4)))
    backend = window.session.backend
    assert window.model_label.text().startswith("Server 127.0.0.1:")
    assert "sent to the inference server" in window.model_label.toolTip()
    assert window.local_button.isVisible()
    settle(window, loop, qtbot)
    ev = window.session.evaluator
    name = window.selected_rule()
    cells = [ev.cell(name, r) for r in range(ev.frame.height)]
    assert all(c.state.value == "done" for c in cells)
    assert backend.responses >= ev.frame.height  # judged there, not from the local cache
    assert window.session.state.last_server()["url"] == llama_server

    qtbot.mouseClick(window.local_button, Qt.MouseButton.LeftButton)
    run(loop, asyncio.gather(*window._pending))  # the switch the click started
    settle(window, loop, qtbot)
    assert window.session.backend.path == counting.path
    assert "Server" not in window.model_label.text()
    assert not window.local_button.isVisible()
    assert window.session.project.model != llama_server  # a project never names the server


def test_an_unreachable_server_keeps_the_current_model(app, reviews_csv, qtbot):
    window, _, loop = app
    open_file(window, loop, reviews_csv)
    before = window.session.backend
    run(loop, window.use_server(ServerSettings("http://127.0.0.1:9")))
    assert "could not be reached" in window.last_error()
    assert "current model is still in use" in window.last_error()
    assert window.session.backend is before
    assert not window.local_button.isVisible()
