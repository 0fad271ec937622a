"""Column widths (fitted to their contents, then as the user left them), splitter and window
geometry, remembered per project."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QFontMetrics

from fastsheet.kinds import kind_of
from fastsheet.kinds.base import TEXT_STYLE
from ui.reasons_actions import REASONS_WIDTH


class LayoutMemory:
    """A part of MainWindow (mixed in; uses its widgets and session)."""

    def _size_columns(self) -> None:
        header = self.table.horizontalHeader()
        fm = self.table.fontMetrics()
        for col in range(self.model.columnCount()):
            name = self.model.column_name(col)
            if self.model.reasons_of(col):
                width = REASONS_WIDTH
            elif self.model.is_rule_column(col) or self.model.labels_of(col):
                width = self._fit_header(col)
            else:
                sample = [
                    self.model.index(r, col).data() or ""
                    for r in range(min(40, self.model.rowCount()))
                ]
                longest = max(
                    [
                        fm.horizontalAdvance(name) + 24,
                        *(fm.horizontalAdvance(s) + 18 for s in sample),
                    ]
                )
                width = max(70, min(320, longest))
            header.resizeSection(col, width)

    def _fit_header(self, col: int) -> int:
        """A rule or labels column wide enough for its header ("taught from 12 labels")."""
        header = self.model.headerData(col, Qt.Orientation.Horizontal) or ""
        font = self.table.horizontalHeader().font()
        font.setBold(True)  # the stylesheet draws headers bold
        fm = QFontMetrics(font)
        widest = max((fm.horizontalAdvance(line) for line in str(header).split("\n")), default=0)
        rule = self.model.rule_of(col)
        base = (
            320
            if rule
            and kind_of(self.session.rule(rule)).style == TEXT_STYLE
            and self.model.is_rule_column(col)
            else 90
        )
        return max(base, min(480, widest + 36))

    def _column_widths(self) -> dict[str, int]:
        if self.model is None:
            return {}
        header = self.table.horizontalHeader()
        return {
            self.model.column_name(c): header.sectionSize(c)
            for c in range(self.model.columnCount())
        }

    def _apply_widths(self, widths: dict[str, int]) -> None:
        header = self.table.horizontalHeader()
        for col in range(self.model.columnCount()):
            width = widths.get(self.model.column_name(col))
            if isinstance(width, int) and 20 <= width <= 4000:
                header.resizeSection(col, width)

    def _layout_key(self) -> Path | None:
        project = self.session.project if self.session is not None else None
        if project is None or self.model is None or not self.remember_layouts:
            return None
        return project.path or project.data

    def remember_layout(self) -> None:
        """Window geometry, splitter and column widths, kept for this project or file."""
        key = self._layout_key()
        if key is None:
            return
        self.state.set_layout(
            key,
            {
                "geometry": bytes(self.saveGeometry().toBase64()).decode("ascii"),
                "splitter": self.splitter.sizes(),
                "widths": self._column_widths(),
            },
        )

    def _restore_layout(self) -> None:
        key = self._layout_key()
        layout = self.state.layout(key) if key is not None else {}
        if isinstance(layout.get("geometry"), str):
            self.restoreGeometry(QByteArray.fromBase64(layout["geometry"].encode("ascii")))
            self.layout().activate()  # the new size reaches the splitter before its sizes
        sizes = layout.get("splitter")
        if isinstance(sizes, list) and len(sizes) == 2 and all(isinstance(v, int) for v in sizes):
            self.splitter.setSizes(sizes)
        if isinstance(layout.get("widths"), dict):
            self._apply_widths(layout["widths"])
