"""Ctrl+F: a bar to find text in any column, with next and previous."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget

from ui.sheet_model import SheetModel


class Matches:
    """The cells of one search (row ids per column), walked in the view's current order."""

    def __init__(self, masks: dict[str, np.ndarray]) -> None:
        self.masks = masks
        self.count = int(sum(int(m.sum()) for m in masks.values()))

    def ordered(self, model: SheetModel) -> np.ndarray:
        """Matching cells in view order, as keys view_row * columns + column."""
        width = model.columnCount()
        keys = []
        for col in range(width):
            mask = self.masks.get(model.column_name(col))
            if mask is None:
                continue
            positions = model.view_positions(np.flatnonzero(mask))
            positions = positions[positions >= 0]
            keys.append(positions * width + col)
        return np.sort(np.concatenate(keys)) if keys else np.empty(0, dtype=np.int64)

    def step(
        self, model: SheetModel, row: int, col: int, forward: bool
    ) -> tuple[int, int, int, int] | None:
        """The next (or previous) match after cell (row, col), wrapping around:
        (view row, column, its number from 1, matches in view)."""
        keys = self.ordered(model)
        if not len(keys):
            return None
        width = model.columnCount()
        here = row * width + col
        if forward:
            i = int(np.searchsorted(keys, here, side="right")) % len(keys)
        else:
            i = (int(np.searchsorted(keys, here, side="left")) - 1) % len(keys)
        key = int(keys[i])
        return key // width, key % width, i + 1, len(keys)


class FindBar(QWidget):
    """Text box, previous/next and a count; Enter finds the next, Shift+Enter the previous."""

    searchChanged = Signal(str)
    nextRequested = Signal()
    previousRequested = Signal()
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("findBar")
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("Find in any column, results included")
        self.edit.setClearButtonEnabled(True)
        self.edit.setMinimumWidth(320)
        self.edit.returnPressed.connect(self.nextRequested)
        self.previous = QToolButton()
        self.previous.setText("▲")
        self.previous.setToolTip("Previous match (Shift+Enter, Shift+F3)")
        self.previous.clicked.connect(self.previousRequested)
        self.next = QToolButton()
        self.next.setText("▼")
        self.next.setToolTip("Next match (Enter, F3)")
        self.next.clicked.connect(self.nextRequested)
        self.count = QLabel("")
        self.count.setObjectName("findCount")
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Close (Esc)")
        close.clicked.connect(self.close_bar)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(QLabel("Find"))
        layout.addWidget(self.edit)
        layout.addWidget(self.previous)
        layout.addWidget(self.next)
        layout.addWidget(self.count)
        layout.addStretch(1)
        layout.addWidget(close)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(200)
        self._debounce.timeout.connect(lambda: self.searchChanged.emit(self.edit.text()))
        self.edit.textChanged.connect(lambda _: self._debounce.start())
        for key, signal in (
            ("Shift+Return", self.previousRequested),
            ("Shift+Enter", self.previousRequested),
            ("F3", self.nextRequested),
            ("Shift+F3", self.previousRequested),
        ):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(signal)
        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        escape.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        escape.activated.connect(self.close_bar)
        self.hide()

    def open_bar(self) -> None:
        self.show()
        self.edit.setFocus()
        self.edit.selectAll()

    def close_bar(self) -> None:
        self._debounce.stop()
        self.hide()
        self.closed.emit()

    def search_now(self) -> None:
        """Run a pending search at once (Enter right after typing)."""
        if self._debounce.isActive():
            self._debounce.stop()
            self.searchChanged.emit(self.edit.text())

    def show_count(self, current: int | None, total: int) -> None:
        if not self.edit.text():
            self.count.setText("")
        elif total == 0:
            self.count.setText("No matches")
        elif current is None:
            self.count.setText(f"{total:,} matches")
        else:
            self.count.setText(f"{current:,} of {total:,}")
