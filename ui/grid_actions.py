"""The grid's clipboard and navigation: copy cells as a spreadsheet range, a new sheet
from a pasted range, and go to a row (the MainWindow's half for them)."""

from __future__ import annotations

import asyncio

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QInputDialog

from fastsheet.data.errors import FastsheetError
from ui.clipboard import copy_selection, save_pasted_sheet


class GridActions:
    """Mixed into MainWindow: copy, paste as a sheet, go to a row."""

    def copy_selection(self) -> None:
        if self.model is None or self.session is None or self.session.evaluator is None:
            return
        self.statusBar().showMessage(
            copy_selection(self.session, self.model, self.table.selectionModel()), 4000
        )

    def paste_as_sheet(self) -> asyncio.Task | None:
        """A new sheet from a range copied in Excel or Sheets (saved under the app's folder)."""
        text = QGuiApplication.clipboard().text()
        try:
            path = save_pasted_sheet(text, self.state.folder / "pasted")
        except FastsheetError as exc:
            self.show_error(str(exc))
            return None
        except OSError as exc:
            self.show_error(f"Could not keep the pasted sheet: {exc.strerror or exc}")
            return None
        return self.open_path(path)

    def go_to_dialog(self) -> None:
        if self.model is None or self.session.frame is None:
            return
        total = self.session.frame.height
        number, ok = QInputDialog.getInt(self, "Go to row", f"Row (1–{total:,}):", 1, 1, total)
        if ok:
            self.go_to_row(number)

    def go_to_row(self, number: int) -> bool:
        problem = self.navigator.go_to_row(number)
        if problem:
            self.statusBar().showMessage(problem, 6000)
        return problem is None
