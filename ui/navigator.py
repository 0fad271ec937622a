"""Find and go to row: moves the grid's current cell and keeps it in view across sorts."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QObject
from PySide6.QtWidgets import QAbstractItemView, QTableView

from fastsheet.data.find import find_cells
from fastsheet.session import Session
from ui.find_bar import FindBar, Matches
from ui.sheet_model import SheetModel


class Navigator(QObject):
    """Owns the search matches and the row to keep in view (the current cell's row id)."""

    def __init__(
        self, table: QTableView, bar: FindBar, session: Callable[[], Session | None]
    ) -> None:
        super().__init__(table)
        self.table = table
        self.bar = bar
        self._session = session
        self.matches: Matches | None = None
        self._stale = False
        self._anchor: tuple[int, str] | None = None  # (row id, column name) to keep in view
        self._anchor_shown = False  # on screen just before a sort or filter
        bar.searchChanged.connect(self.search)
        bar.nextRequested.connect(lambda: self.find(forward=True))
        bar.previousRequested.connect(lambda: self.find(forward=False))
        bar.closed.connect(self.clear)

    def model(self) -> SheetModel | None:
        model = self.table.model()
        return model if isinstance(model, SheetModel) else None

    def attach(self, model: SheetModel) -> None:
        """A new sheet: forget the old matches; follow this model's sorts and filters."""
        self.matches = None
        self._anchor = None
        model.layoutAboutToBeChanged.connect(self._note_visible)
        model.modelAboutToBeReset.connect(self._note_visible)
        model.layoutChanged.connect(self.keep_in_view)
        model.modelReset.connect(self.keep_in_view)
        self.table.selectionModel().currentChanged.connect(self._remember)
        if self.bar.isVisible() and self.bar.edit.text():
            self.search(self.bar.edit.text())

    def results_changed(self) -> None:
        """Answers changed: the next find searches again."""
        self._stale = self.matches is not None

    # ----- find ---------------------------------------------------------------------------

    def search(self, text: str) -> int:
        """Highlight every cell containing `text`; the number found."""
        model, session = self.model(), self._session()
        if model is None or session is None or session.evaluator is None:
            return 0
        names = [model.column_name(c) for c in range(model.columnCount())]
        ev = session.evaluator
        answers = [ev.answers_text(n) for n in session.order if n in ev.columns]
        frame = session.results_frame().with_columns(answers)  # answers as the grid words them
        masks = find_cells(frame.select(names), text)
        self.matches = Matches(masks) if text else None
        self._stale = False
        model.set_found(masks)
        self.bar.show_count(None, self.matches.count if self.matches else 0)
        return self.matches.count if self.matches else 0

    def find(self, forward: bool = True) -> bool:
        """Move to the next (or previous) match after the current cell."""
        self.bar.search_now()
        if self._stale or self.matches is None:
            self.search(self.bar.edit.text())
        model = self.model()
        if model is None or self.matches is None:
            return False
        current = self.table.currentIndex()
        row, col = (current.row(), current.column()) if current.isValid() else (-1, -1)
        if not current.isValid() and not forward:
            row, col = model.rowCount(), 0
        step = self.matches.step(model, row, col, forward)
        if step is None:
            self.bar.show_count(None, 0)
            return False
        view_row, column, number, total = step
        self._go(model.index(view_row, column))
        self.bar.show_count(number, total)
        return True

    def clear(self) -> None:
        self.matches = None
        model = self.model()
        if model is not None:
            model.set_found({})
        self.table.setFocus()

    # ----- go to ----------------------------------------------------------------------------

    def go_to_row(self, number: int) -> str | None:
        """Make row `number` (as the row header shows it) current; a message if it cannot."""
        model = self.model()
        if model is None:
            return "Open a sheet first."
        total = len(model.session.frame) if model.session.frame is not None else 0
        if not 1 <= number <= total:
            return f"There is no row {number:,}: the sheet has rows 1 to {total:,}."
        position = int(model.view_positions([number - 1])[0])
        if position < 0:
            return f"Row {number:,} is hidden by the filter “{model.filter_mode()}”."
        column = max(0, self.table.currentIndex().column())
        self._go(model.index(position, column))
        return None

    # ----- keeping the current row in view ----------------------------------------------------

    def _go(self, index: QModelIndex) -> None:
        self.table.setCurrentIndex(index)
        self.table.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)

    def _remember(self, current: QModelIndex, _previous: QModelIndex) -> None:
        model = self.model()
        if model is not None and current.isValid():
            self._anchor = (model.row_id(current.row()), model.column_name(current.column()))

    def _position(self, model: SheetModel) -> int:
        """The anchor's view row now; -1 if hidden or gone."""
        frame = model.session.frame
        if self._anchor is None or frame is None or self._anchor[0] >= frame.height:
            return -1
        return int(model.view_positions([self._anchor[0]])[0])

    def _note_visible(self) -> None:
        model = self.model()
        position = self._position(model) if model is not None else -1
        first = self.table.rowAt(0)
        last = self.table.rowAt(self.table.viewport().height() - 1)
        last = model.rowCount() - 1 if last < 0 and model is not None else last
        self._anchor_shown = position >= 0 and first <= position <= last

    def keep_in_view(self) -> None:
        """After a sort or filter, bring the current cell back on screen, if it was on
        screen before (a user who scrolled away is not pulled back)."""
        model = self.model()
        if model is None or not self._anchor_shown or not model.rowCount():
            return
        position = self._position(model)
        if position < 0:
            return
        name = self._anchor[1]
        columns = [model.column_name(c) for c in range(model.columnCount())]
        column = columns.index(name) if name in columns else 0
        self._go(model.index(position, column))
