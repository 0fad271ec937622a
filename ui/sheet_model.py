"""The grid's Qt model: the polars frame plus the rule columns, only visible cells read.

Sorting and filtering are a permutation of row ids computed with numpy/polars, so a
1,000,000-row sheet never builds a Python object per cell. Engine updates are
coalesced (about 50 ms) into one dataChanged per column over the changed span.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)

from fastsheet.data.cells import Cell, CellState
from fastsheet.data.table import column_types
from fastsheet.session import Session
from fastsheet.sheet import reasons
from ui import headers, theme, view_order
from ui.live_updates import LiveUpdates
from ui.view_order import FILTERS

_BLOCK = 64  # view rows materialised at a time
CELL_ROLE = Qt.ItemDataRole.UserRole + 1  # the Cell value of a rule column
RULE_ROLE = Qt.ItemDataRole.UserRole + 2  # the Rule of a rule column (header)
LABELS_SUFFIX = "_gold"  # a rule's own labels column: NAME_gold
REASONS_SUFFIX = reasons.SUFFIX  # a rule's reasons column: NAME_why

_Index = QModelIndex | QPersistentModelIndex


_MEMO_LIMIT = 20_000  # rule cells remembered for repaints
_CELL_BLOCK = 64  # view rows whose rule cells are read at once
_CELL_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
_DISPLAY = Qt.ItemDataRole.DisplayRole
_ALIGN = Qt.ItemDataRole.TextAlignmentRole
_BACKGROUND = Qt.ItemDataRole.BackgroundRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
#: the roles the grid answers; a view asks others (decoration, check state) per cell too
_SERVED = frozenset(
    int(r)
    for r in (
        _DISPLAY,
        _ALIGN,
        _BACKGROUND,
        _TOOLTIP,
        Qt.ItemDataRole.ForegroundRole,
        Qt.ItemDataRole.FontRole,
        CELL_ROLE,
    )
)


class SheetModel(LiveUpdates, QAbstractTableModel):
    """Rows of the session's frame (in sort/filter order) × data columns + rule columns."""

    visibleRowsChanged = Signal()

    def __init__(self, session: Session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self._rows = np.empty(0, dtype=np.int64)  # view row -> row id
        self._pos = np.empty(0, dtype=np.int64)  # row id -> view row, -1 when filtered out
        self._data_cols: list[str] = []
        #: ("rule" | "labels" | "reasons" | "data", name) per column
        self._layout: list[tuple[str, str]] = []
        self.reasons_shown: set[str] = set()  # rules whose reasons column is on show
        self._series: dict[str, pl.Series] = {}
        self._types: dict[str, str] = {}
        self._sort: tuple[int, Qt.SortOrder] | None = None
        self._filter = FILTERS[0]
        self._filter_column: str | None = None
        self._dirty: dict[str, set[int]] = {}
        self._whole: set[str] = set()
        self._flash: dict[tuple[str, int], float] = {}
        self._found: dict[str, np.ndarray] = {}  # search matches: column -> mask over row ids
        self._blocks: dict[int, dict[str, list[str]]] = {}  # view block -> column -> text
        # the rule cells on screen; pushed updates replace them (see on_event)
        self._cells: dict[tuple[str, int], Cell] = {}
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(50)
        self._flush_timer.timeout.connect(self._flush)
        # repaints flashed columns once their highlight has expired; parented, so it can
        # never fire after the model is gone
        self._unflash_timer = QTimer(self)
        self._unflash_timer.setSingleShot(True)
        self._unflash_timer.timeout.connect(self._unflash)
        self.reload()

    # ----- structure --------------------------------------------------------------------

    def reload(self) -> None:
        """Rebuild after opening a file or changing the rule columns."""
        self.beginResetModel()
        frame = self.session.frame
        if frame is None:
            self._data_cols, self._series, self._types = [], {}, {}
            self._rows = np.empty(0, dtype=np.int64)
        else:
            self._data_cols = list(frame.columns)
            self._series = {c: frame[c] for c in frame.columns}
            self._types = column_types(frame)
            self._rows = np.arange(frame.height, dtype=np.int64)
        self._apply_layout()
        self._apply_order()
        self.endResetModel()

    def columns_changed(self) -> None:
        """Rule columns were added, removed, renamed or moved, or got their first labels."""
        self.beginResetModel()
        self._apply_layout()
        self._apply_order()
        self.endResetModel()

    def labels_changed(self, name: str) -> bool:
        """The user marked rows of rule `name`: show its labels column, or repaint it.

        True when the columns changed (the labels column appeared or went)."""
        shown = ("labels", name) in self._layout
        if shown != bool(self.session.marks(name)):
            self.columns_changed()
            return True
        self._cells.clear()
        if shown:
            col = self._layout.index(("labels", name))
            self.dataChanged.emit(self.index(0, col), self.index(len(self._rows) - 1, col))
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, col, col)
        return False

    def _apply_layout(self) -> None:
        """Rule columns first (what the sheet is about), each followed by its labels if any."""
        layout: list[tuple[str, str]] = []
        has_marks = self.session.evaluator is not None
        for name in self.rule_names():
            layout.append(("rule", name))
            if has_marks and self.session.marks(name):
                layout.append(("labels", name))
            if name in self.reasons_shown:
                layout.append(("reasons", name))
        self._layout = layout + [("data", c) for c in self._data_cols]

    def rule_names(self) -> list[str]:
        return list(self.session.order)

    def column_name(self, col: int) -> str:
        if not 0 <= col < len(self._layout):
            return ""
        kind, name = self._layout[col]
        return name + {"labels": LABELS_SUFFIX, "reasons": REASONS_SUFFIX}.get(kind, "")

    def is_rule_column(self, col: int) -> bool:
        return 0 <= col < len(self._layout) and self._layout[col][0] == "rule"

    def labels_of(self, col: int) -> str | None:
        """The rule whose labels column `col` is, if it is one."""
        if 0 <= col < len(self._layout) and self._layout[col][0] == "labels":
            return self._layout[col][1]
        return None

    def rule_of(self, col: int) -> str | None:
        """The rule a rule, labels or reasons column belongs to."""
        if 0 <= col < len(self._layout) and self._layout[col][0] != "data":
            return self._layout[col][1]
        return None

    def reasons_of(self, col: int) -> str | None:
        """The rule whose reasons column `col` is, if it is one."""
        if 0 <= col < len(self._layout) and self._layout[col][0] == "reasons":
            return self._layout[col][1]
        return None

    def show_reasons(self, name: str, shown: bool = True) -> None:
        """Show (or hide) rule `name`'s reasons column, NAME_why, beside it."""
        if (name in self.reasons_shown) != shown:
            (self.reasons_shown.add if shown else self.reasons_shown.discard)(name)
            self.columns_changed()

    def has_rule(self, name: str) -> bool:
        return ("rule", name) in self._layout

    def rule_column_index(self, name: str) -> int:
        return self._layout.index(("rule", name))

    def row_id(self, view_row: int) -> int:
        return int(self._rows[view_row])

    def view_rows(self) -> np.ndarray:
        return self._rows

    def view_positions(self, row_ids: np.ndarray) -> np.ndarray:
        """The view row of each row id; -1 where the filter hides it."""
        return self._pos[row_ids]

    def set_found(self, masks: dict[str, np.ndarray]) -> None:
        """Highlight the cells a search found (per column name, a mask over row ids)."""
        self._found = masks
        if self._layout and len(self._rows):
            self.dataChanged.emit(
                self.index(0, 0),
                self.index(len(self._rows) - 1, len(self._layout) - 1),
                [Qt.ItemDataRole.BackgroundRole],
            )

    def _is_found(self, name: str, row: int) -> bool:
        mask = self._found.get(name)
        return mask is not None and row < len(mask) and bool(mask[row])

    # ----- Qt model API ------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._layout)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ):
        if orientation == Qt.Orientation.Vertical:
            if role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(self._rows):
                return str(int(self._rows[section]) + 1)
            return None
        name = self.column_name(section)
        if not name:
            return None
        if (why := self.reasons_of(section)) is not None:
            return headers.reasons_header(name, why, role)
        if (owner := self.labels_of(section)) is not None:
            return headers.labels_header(name, owner, len(self.session.marks(owner)), role)
        if not self.is_rule_column(section):
            return f"{name}\n{self._types.get(name, '')}" if role == _DISPLAY else None
        column = self._ev_columns().get(name)
        if role == RULE_ROLE:
            return column.rule if column is not None else None
        return headers.rule_header(name, column, role)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        # called for every role of every painted cell: the cheapest tests come first
        if role not in _SERVED or not index.isValid():
            return None
        view_row, col = index.row(), index.column()
        if view_row >= len(self._rows) or col >= len(self._layout):
            return None
        kind, name = self._layout[col]
        if kind == "data":
            return self._data_cell(view_row, name, role)
        row = int(self._rows[view_row])
        if kind == "labels":
            return self._label_data(name, row, role)
        if kind == "reasons":
            return self._reason_data(name, row, role)
        if name not in self._ev_columns():
            return None
        cell = self._cells.get((name, row))
        if cell is None:
            cell = self._read_cells(name, view_row, row)
        if role == CELL_ROLE:
            return cell
        rule = self.session.rule(name)
        if role == Qt.ItemDataRole.DisplayRole:
            return theme.cell_text(cell, rule)
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = theme.cell_tooltip(cell, rule, self.session.implied(name))
            reason = self.session.evaluator.reason(name, row)
            if reason is None:
                return tip
            return (tip + "\n\n" if tip else "") + theme.reason_tooltip(reason)
        if role == Qt.ItemDataRole.BackgroundRole:
            if self._is_found(name, row):
                return theme.found_brush()
            return theme.cell_background(cell, rule, flashing=self._is_flashing(name, row))
        if role == Qt.ItemDataRole.ForegroundRole:
            return theme.cell_foreground(cell)
        if role == Qt.ItemDataRole.FontRole:
            return theme.cell_font(cell)
        return None

    def _read_cells(self, name: str, view_row: int, row: int) -> Cell:
        """Read the rule cells of a block of view rows around `view_row` in one engine call
        (a scroll shows a screenful of rows never shown before)."""
        if len(self._cells) >= _MEMO_LIMIT:  # scrolled far: forget what left the screen
            self._cells.clear()
        start = view_row - view_row % _CELL_BLOCK
        ids = self._rows[start : start + _CELL_BLOCK].tolist()
        for r, cell in zip(ids, self.session.evaluator.cells(name, ids), strict=True):
            self._cells[(name, r)] = cell
        return self._cells[(name, row)]

    def _data_cell(self, view_row: int, name: str, role: int):
        if role == _DISPLAY:
            return self._text(view_row, name)
        if role == _ALIGN:
            return _RIGHT if self._types.get(name) in ("int", "float") else None
        if role == _BACKGROUND:
            found = self._is_found(name, int(self._rows[view_row]))
            return theme.found_brush() if found else None
        if role == _TOOLTIP:
            text = theme.data_text(self._series[name][int(self._rows[view_row])])
            return text if len(text) > 40 else None
        return None

    def _reason_data(self, name: str, row: int, role: int):
        ev = self.session.evaluator
        if ev is None or name not in ev.columns:
            return None
        reason = ev.reason(name, row)
        if role == Qt.ItemDataRole.DisplayRole:
            if reason is not None:
                return theme.reason_text(reason)
            return "… writing a reason" if ev.explaining(name, row) else ""
        if role == Qt.ItemDataRole.ToolTipRole and reason is not None:
            return theme.reason_tooltip(reason)
        if role == Qt.ItemDataRole.ForegroundRole:
            if reason is not None and reason.disagrees:
                return theme.error_brush()
            return theme.muted_brush() if reason is None else None
        if role == Qt.ItemDataRole.FontRole and reason is None:
            return theme.italic_font()
        return None

    def _label_data(self, name: str, row: int, role: int):
        column = self._ev_columns().get(name)
        if column is None:
            return None
        marks = self.session.marks(name)
        if role == Qt.ItemDataRole.DisplayRole:
            return theme.label_text(marks.get(row), column.rule) if row in marks else ""
        if role == Qt.ItemDataRole.BackgroundRole and self._is_found(name + LABELS_SUFFIX, row):
            return theme.found_brush()
        if role == Qt.ItemDataRole.ForegroundRole:
            return theme.accent()
        return None

    def _text(self, view_row: int, name: str) -> str:
        """Display text of a data cell, read 256 view rows at a time."""
        block = view_row // _BLOCK
        columns = self._blocks.get(block)
        if columns is None:
            if len(self._blocks) >= 8:
                self._blocks.pop(next(iter(self._blocks)))
            ids = self._rows[block * _BLOCK : (block + 1) * _BLOCK]
            part = self.session.frame[ids]
            columns = self._blocks[block] = {
                c: [theme.data_text(v) for v in part[c].to_list()] for c in part.columns
            }
        return columns[name][view_row - block * _BLOCK]

    def flags(self, index: _Index) -> Qt.ItemFlag:
        return _CELL_FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags

    # ----- sort and filter -----------------------------------------------------------------

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.layoutAboutToBeChanged.emit()
        old = self._rows.copy()
        persistent = self.persistentIndexList()
        self._sort = (column, order)
        self._apply_order()
        self._remap_persistent(persistent, old)
        self.layoutChanged.emit()
        self.visibleRowsChanged.emit()

    def set_filter(self, mode: str, column: str | None) -> None:
        self.beginResetModel()
        self._filter = mode
        self._filter_column = column
        self._apply_order()
        self.endResetModel()
        self.visibleRowsChanged.emit()

    def filter_mode(self) -> str:
        return self._filter

    def _remap_persistent(self, persistent: list, old: np.ndarray) -> None:
        for index in persistent:
            row_id = int(old[index.row()]) if index.row() < len(old) else -1
            new_row = int(self._pos[row_id]) if row_id >= 0 else -1
            self.changePersistentIndex(
                index, self.index(new_row, index.column()) if new_row >= 0 else QModelIndex()
            )

    def _apply_order(self) -> None:
        frame = self.session.frame
        if frame is None:
            return
        rows = np.arange(frame.height, dtype=np.int64)
        keep = self._filter_mask()
        if keep is not None:
            rows = rows[keep]
        if self._sort is not None:
            column, order = self._sort
            key = self._sort_key(column, frame)
            rows = view_order.sorted_rows(rows, key, order == Qt.SortOrder.DescendingOrder)
        self._rows = rows
        self._blocks.clear()
        self._cells.clear()
        self._pos = np.full(frame.height, -1, dtype=np.int64)  # row id -> view row
        self._pos[rows] = np.arange(len(rows), dtype=np.int64)

    def _sort_key(self, column: int, frame: pl.DataFrame) -> np.ndarray | None:
        name = self.column_name(column)
        if not name:
            return None
        if (owner := self.labels_of(column)) is not None:
            return self.session.evaluator.labels(owner)
        if not self.is_rule_column(column):
            return view_order.data_key(frame[name])
        if name not in self._ev_columns():
            return None
        return view_order.rule_key(self.session.evaluator.columns[name])

    def _filter_mask(self) -> np.ndarray | None:
        mode, name = self._filter, self._filter_column
        if mode == FILTERS[0] or not name or name not in self._ev_columns():
            return None
        ev = self.session.evaluator
        return view_order.filter_mask(mode, ev.columns[name], ev.gold_values(name))

    def _ev_columns(self) -> dict:
        ev = self.session.evaluator
        return ev.columns if ev is not None else {}


def cell_of(index: QModelIndex) -> Cell | None:
    value = index.data(CELL_ROLE)
    return value if isinstance(value, Cell) else None


__all__ = ["CELL_ROLE", "FILTERS", "CellState", "SheetModel", "cell_of"]
