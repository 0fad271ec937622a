"""The Model dialog's System One tab, and a sheet judged on laya-serve (a real
third-party Jev server on loopback, weight-free)."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt

from fastsheet.backends.server import SYSTEM_ONE, ServerSettings
from tests.ui.helpers import open_file, run, settle, type_rule
from ui.settings_dialog import SettingsDialog


def test_the_system_one_tab_tests_the_connection(qtbot, laya_serve):
    dialog = SettingsDialog(None, systemone={"url": laya_serve, "concurrency": 4})
    qtbot.addWidget(dialog)
    dialog.tabs.setCurrentIndex(2)
    assert dialog.tabs.tabText(2) == "System One"
    tab = dialog.server_tabs[SYSTEM_ONE]
    qtbot.mouseClick(tab.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.last_test is not None, timeout=60_000)
    assert dialog.last_test.ok, dialog.last_test.text
    text = tab.result.text()
    assert text.startswith("✓ Connected to 127.0.0.1:")
    assert "jev-latest" in text and "Sample: “The review is positive.”" in text
    assert "laya-english" in [tab.model.itemText(i) for i in range(tab.model.count())]
    choice = dialog.server_choice()
    assert choice is not None and choice.protocol == SYSTEM_ONE and choice.url == laya_serve
    dialog.tabs.setCurrentIndex(1)
    assert dialog.server_choice() is None  # the Server tab has no URL: nothing to use


def test_a_wrong_model_in_the_system_one_tab_names_the_field(qtbot, laya_serve):
    dialog = SettingsDialog(None, systemone={"url": laya_serve, "model": "gpt-9"})
    qtbot.addWidget(dialog)
    dialog.test(dialog.server_tabs[SYSTEM_ONE])
    qtbot.waitUntil(lambda: dialog.last_test is not None, timeout=60_000)
    assert not dialog.last_test.ok
    assert "field: model" in dialog.server_tabs[SYSTEM_ONE].result.text()


def test_a_sheet_judged_on_system_one_then_back_to_local_in_one_click(
    app, reviews_csv, qtbot, laya_serve
):
    window, counting, loop = app
    open_file(window, loop, reviews_csv)
    window.add_rule()
    type_rule(window, qtbot, "The review is positive.")
    settle(window, loop, qtbot)

    run(loop, window.use_server(ServerSettings(laya_serve, protocol=SYSTEM_ONE)))
    backend = window.session.backend
    assert window.model_label.text().startswith("Rows go to System One at 127.0.0.1:")
    assert "sent to the inference server" in window.model_label.toolTip()
    assert window.local_button.isVisible()
    settle(window, loop, qtbot)
    ev = window.session.evaluator
    name = window.selected_rule()
    assert all(ev.cell(name, r).state.value == "done" for r in range(ev.frame.height))
    assert backend.responses >= ev.frame.height  # judged there, not from the local cache
    assert window.session.state.last_server(SYSTEM_ONE)["url"] == laya_serve
    assert window.session.state.last_server() == {} or (
        window.session.state.last_server()["url"] != laya_serve
    )

    qtbot.mouseClick(window.local_button, Qt.MouseButton.LeftButton)
    run(loop, asyncio.gather(*window._pending))
    settle(window, loop, qtbot)
    assert window.session.backend.path == counting.path
    assert "System One" not in window.model_label.text()
    assert not window.local_button.isVisible()
