"""Column widths, splitter and window geometry, remembered per project."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray


class LayoutMemory:
    """A part of MainWindow (mixed in; uses its widgets and session)."""

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
