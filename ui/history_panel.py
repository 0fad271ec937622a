"""Rule history: each version of a column's rule with its counts, a diff, and revert."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fastsheet.sheet.history import Diff, Generation
from fastsheet.sheet.summary import FlagSummary


class HistoryPanel(QWidget):
    """Lists generations, newest first; emits the rule text to revert to."""

    revert = Signal(object)  # Rule

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("Rule history")
        title.setObjectName("panelTitle")
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.diff = QLabel("")
        self.diff.setWordWrap(True)
        self.button = QPushButton("Revert to this version")
        self.button.setEnabled(False)
        self.button.clicked.connect(self._revert)
        self.list.currentItemChanged.connect(
            lambda *_: self.button.setEnabled(self.list.currentRow() > 0)
        )
        self.list.itemDoubleClicked.connect(lambda *_: self._revert())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.addWidget(title)
        layout.addWidget(self.diff)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.button)

    def show_history(self, generations: list[Generation], diff: Diff | None) -> None:
        self.list.clear()
        previous_count: int | None = None
        items = []
        for g in generations:
            count = g.summary.flagged if isinstance(g.summary, FlagSummary) else None
            if g.summary is None:
                counts = "running…"
            elif count is not None:
                counts = (
                    f"{count:,} flagged"
                    if previous_count is None
                    else f"{previous_count:,} → {count:,}"
                )
            else:
                counts = g.summary.text()
            if count is not None:
                previous_count = count
            items.append((g, f"v{g.number} · {counts}\n{g.rule.text}"))
        for g, text in reversed(items):
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, g.rule)
            self.list.addItem(item)
        self.diff.setText(f"Since the previous version: {diff.text()}" if diff else "")

    def _revert(self) -> None:
        item = self.list.currentItem()
        if item is not None and self.list.currentRow() > 0:
            self.revert.emit(item.data(Qt.ItemDataRole.UserRole))
