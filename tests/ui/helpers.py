"""Driving the window in tests: run a coroutine, open a file, type a rule, settle."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import Qt


def run(loop, coro, timeout: float = 240):
    return loop.run_until_complete(asyncio.wait_for(coro, timeout))


def open_file(window, loop, path: Path) -> None:
    task = window.open_path(path)
    assert task is not None
    run(loop, task)


def settle(window, loop, qtbot) -> None:
    """Wait for the formula bar's debounce, then for the engine to go idle."""
    qtbot.wait(400)
    run(loop, window.session.evaluator.wait_idle())
    qtbot.wait(200)  # coalesced repaints and panel refresh


def type_rule(window, qtbot, text: str) -> None:
    editor = window.formula.editor
    editor.selectAll()
    qtbot.keyClick(editor, Qt.Key.Key_Delete)
    qtbot.keyClicks(editor, text)


def sheet_with_rule(window, loop, qtbot, path: Path, text: str) -> str:
    """Open `path`, add a flag column, type `text` into it, and wait until it is judged;
    the column's name (its rule's noun, e.g. "positive")."""
    open_file(window, loop, path)
    window.add_rule()
    type_rule(window, qtbot, text)
    settle(window, loop, qtbot)
    return window.selected_rule()
