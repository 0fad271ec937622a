"""Open, save, export, recent files and drag and drop."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog

from fastsheet.data.errors import FastsheetError
from fastsheet.data.table import READ_SUFFIXES
from fastsheet.files.project import SUFFIX

DATA_FILTER = "Data or project (" + " ".join(f"*{s}" for s in [*READ_SUFFIXES, SUFFIX]) + ")"


class FileActions:
    """A part of MainWindow (mixed in; uses its widgets and session)."""

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open data or project", str(self.samples), DATA_FILTER
        )
        if path:
            self.open_path(Path(path))

    def save_dialog(self) -> None:
        if self.session is None or self.session.frame is None:
            return
        self.formula.flush()
        current = self.session.project.path if self.session.project else None
        start = str(current or self.session.project.data.with_suffix(SUFFIX))
        path, _ = QFileDialog.getSaveFileName(
            self, "Save project", start, f"fastsheet project (*{SUFFIX})"
        )
        if path:
            self.save_project(Path(path if path.endswith(SUFFIX) else path + SUFFIX))

    def save_project(self, path: Path) -> None:
        try:
            self.session.save(path)
        except (FastsheetError, OSError) as exc:
            self.show_error(f"Could not save {path.name}: {exc}")
            return
        self.setWindowTitle(f"fastsheet — {path.name}")
        self.remember_layout()  # now under the project's own name
        self.statusBar().showMessage(f"Saved {path}", 4000)

    def export_dialog(self) -> None:
        if self.session is None or self.session.frame is None:
            return
        start = str(
            self.session.project.data.with_name(self.session.project.data.stem + "_results.csv")
        )
        path, _ = QFileDialog.getSaveFileName(
            self, "Export results", start, "CSV (*.csv);;Excel (*.xlsx);;Parquet (*.parquet)"
        )
        if path:
            self.export(Path(path))

    def export(self, path: Path) -> asyncio.Task:
        """Write the results off the event loop (an Excel file of many rows takes a while)."""
        return self._spawn(self._export(path))

    async def _export(self, path: Path) -> None:
        try:
            write = self.session.export_writer(path)  # the snapshot, taken on the loop
            self.statusBar().showMessage(f"Exporting {path.name}…")
            await asyncio.get_running_loop().run_in_executor(None, write)
        except (FastsheetError, OSError) as exc:
            self.show_error(f"Could not export: {exc}")
            return
        self.statusBar().showMessage(f"Exported {path}", 4000)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.state.recent():
            self.recent_menu.addAction(str(path), lambda p=path: self.open_path(p))
        if not self.recent_menu.actions():
            self.recent_menu.addAction("(none)").setEnabled(False)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_path(Path(urls[0].toLocalFile()))
            event.acceptProposedAction()
