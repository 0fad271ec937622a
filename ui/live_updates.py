"""How engine updates reach the grid: coalesced (about 50 ms) into one dataChanged per
column over the changed span, cells whose decision flipped flashed for a while, and the
row order applied again after a sort or filter on a rule column (the SheetModel's half
that follows the engine)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QTimer

from fastsheet.data.cells import Cell
from fastsheet.sheet.engine import Event, Update
from ui import theme
from ui.view_order import FILTERS


class LiveUpdates:
    """Mixed into SheetModel: the engine's events, repainted in batches."""

    _cells: dict[tuple[str, int], Cell]
    _dirty: dict[str, set[int]]
    _whole: set[str]
    _flash: dict[tuple[str, int], float]
    _flush_timer: QTimer
    _unflash_timer: QTimer
    _rows: np.ndarray
    _pos: np.ndarray
    _layout: list[tuple[str, str]]
    _filter: str
    _filter_column: str | None
    _sort: tuple | None

    def on_event(self, event: Event) -> None:
        """Coalesce engine updates; repaint changed cells at most every 50 ms."""
        if not isinstance(event, Update) or not event.rows:
            self._whole.add(event.column)
        else:
            self._dirty.setdefault(event.column, set()).update(event.rows)
            self._take_cells(event)
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def _take_cells(self, update: Update) -> None:
        """The pushed values of cells already shown replace them: a repaint reads them
        here instead of asking the engine (cells never shown are read when shown)."""
        cells = self._cells
        name = update.column
        for row, cell in zip(update.rows, update.cells, strict=True):
            if (name, row) in cells:
                cells[(name, row)] = cell

    def flash(self, name: str, rows: np.ndarray, until: float) -> None:
        """Highlight rows whose decision flipped since the previous rule version."""
        for r in rows[:5000]:
            self._flash[(name, int(r))] = until
        self._whole.add(name)
        if not self._flush_timer.isActive():
            self._flush_timer.start()
        self._unflash_timer.start(max(0, int((until - theme.now()) * 1000)) + 100)

    def _unflash(self) -> None:
        now = theme.now()
        expired = {name for (name, _), until in self._flash.items() if until < now}
        self._flash = {k: u for k, u in self._flash.items() if u >= now}
        self._whole.update(expired)
        if self._flash:
            self._unflash_timer.start(int((min(self._flash.values()) - now) * 1000) + 100)
        if expired and not self._flush_timer.isActive():
            self._flush_timer.start()

    def _is_flashing(self, name: str, row: int) -> bool:
        until = self._flash.get((name, row))
        if until is None:
            return False
        if until < theme.now():
            del self._flash[(name, row)]
            return False
        return True

    def _flush(self) -> None:
        if self._whole:  # a whole column changed (calibration, a new generation): re-read it
            self._cells = {k: c for k, c in self._cells.items() if k[0] not in self._whole}
        if not len(self._rows):
            self._dirty.clear()
            self._whole.clear()
            return
        names = self.rule_names()
        refilter = self._filter != FILTERS[0] or (
            self._sort is not None and self.is_rule_column(self._sort[0])
        )
        for name in set(self._dirty) | self._whole:
            if name not in names:
                continue
            col = self.rule_column_index(name)
            if name in self._whole and ("reasons", name) in self._layout:
                why = self._layout.index(("reasons", name))
                self.dataChanged.emit(self.index(0, why), self.index(len(self._rows) - 1, why))
            if name in self._whole:
                self.dataChanged.emit(self.index(0, col), self.index(len(self._rows) - 1, col))
                continue
            rows = np.fromiter(self._dirty.get(name, set()), dtype=np.int64)
            # view positions of the changed row ids (hidden rows are -1); one emit over
            # their span: the view repaints only what is on screen, and rows judged in
            # random order would otherwise make thousands of one-row ranges per flush
            positions = self._pos[rows]
            positions = positions[positions >= 0]
            if len(positions):
                start, stop = int(positions.min()), int(positions.max())
                self.dataChanged.emit(self.index(start, col), self.index(stop, col))
        self._dirty.clear()
        self._whole.clear()
        if refilter and not self._refilter_pending():
            self._refilter_timer_start()

    def _refilter_pending(self) -> bool:
        return hasattr(self, "_refilter_timer") and self._refilter_timer.isActive()

    def _refilter_timer_start(self) -> None:
        if not hasattr(self, "_refilter_timer"):
            self._refilter_timer = QTimer(self)
            self._refilter_timer.setSingleShot(True)
            self._refilter_timer.setInterval(700)
            self._refilter_timer.timeout.connect(self._refilter)
        self._refilter_timer.start()

    def _refilter(self) -> None:
        if self._sort is not None:
            self.sort(*self._sort)
        elif self._filter != FILTERS[0]:
            self.set_filter(self._filter, self._filter_column)
