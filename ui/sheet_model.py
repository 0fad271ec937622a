"""The grid's Qt model: the polars frame plus the rule columns, only visible cells read.

Sorting and filtering are a permutation of row ids computed with numpy/polars, so a
1,000,000-row sheet never builds a Python object per cell. Engine updates are
coalesced (about 50 ms) into one dataChanged per column over the changed span.
"""

from __future__ import annotations

import math

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

from fastsheet import polarity, reasons
from fastsheet.cells import Cell, CellState
from fastsheet.engine import Event, Update
from fastsheet.kinds import kind_of
from fastsheet.learned import LEARN_FROM
from fastsheet.results import DONE, ERROR
from fastsheet.rules import Rule
from fastsheet.session import Session
from fastsheet.summary import disagreements
from fastsheet.table import column_types
from fastsheet.teach import MIN_LABELS
from ui import theme

_BLOCK = 64  # view rows materialised at a time
CELL_ROLE = Qt.ItemDataRole.UserRole + 1  # the Cell value of a rule column
RULE_ROLE = Qt.ItemDataRole.UserRole + 2  # the Rule of a rule column (header)
LABELS_SUFFIX = "_gold"  # a rule's own labels column: NAME_gold
REASONS_SUFFIX = reasons.SUFFIX  # a rule's reasons column: NAME_why

FILTERS = ("All rows", "Flagged", "Not flagged", "Disagrees with gold", "Errors", "Low confidence")
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


class SheetModel(QAbstractTableModel):
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
        why = self.reasons_of(section)
        if why is not None:
            if role == Qt.ItemDataRole.DisplayRole:
                return f"{name}\n? reasons"
            if role == Qt.ItemDataRole.ToolTipRole:
                return (
                    f"Why {why!r} decided each row, in the model's words: select its cells and "
                    "press ? (or right-click → Why?). A reason is kept for the verdict it "
                    "explains; one that argues the other way is marked. Right-click this "
                    "header to hide the column."
                )
            return None
        owner = self.labels_of(section)
        if owner is not None:
            if role == Qt.ItemDataRole.DisplayRole:
                return f"{name}\n✎ {len(self.session.marks(owner))} marked"
            if role == Qt.ItemDataRole.ToolTipRole:
                return (
                    f"The right answers you marked for {owner!r} (Y: the answer is right, "
                    "N: it is wrong). They teach the rule; the model never reads this column."
                )
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            if self.is_rule_column(section):
                column = self._ev_columns().get(name)
                kind = column.rule.kind.value if column else "rule"
                taught = column.taught_from if column else 0
                look = f" · {yes_line(column.rule)}" if column and kind == "flag" else ""
                if taught >= MIN_LABELS:
                    by = f" · {column.taught_by}" if column and column.taught_by else ""
                    return f"{name}\n✦ {kind} · taught from {taught:,} labels{by}{look}"
                return f"{name}\n✦ {kind}{look}"
            return f"{name}\n{self._types.get(name, '')}"
        if role == Qt.ItemDataRole.ToolTipRole and self.is_rule_column(section):
            rule = self.session.rule(name) if name in self._ev_columns() else None
            if rule is None:
                return name
            tip = f"Rule column {name!r} ({rule.kind.value}): {rule.text}"
            if kind_of(rule).polar:
                good = polarity.of(rule).good
                tip += (
                    f"\n{'A yes is the good outcome (green)' if good else 'A yes is a finding to look at (red)'}"
                    " — click the second line of this header to turn it over."
                )
            column = self._ev_columns().get(name)
            if column is not None and column.taught_by:
                tip += "\n" + taught_tip(column)
            return tip
        if role == RULE_ROLE and self.is_rule_column(section):
            return self.session.rule(name) if name in self._ev_columns() else None
        if role == Qt.ItemDataRole.ForegroundRole and self.is_rule_column(section):
            return theme.accent()
        return None

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
            text = _display(self._series[name][int(self._rows[view_row])])
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
                c: [_display(v) for v in part[c].to_list()] for c in part.columns
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
        keep = self._filter_mask(frame.height)
        if keep is not None:
            rows = rows[keep]
        if self._sort is not None:
            column, order = self._sort
            key = self._sort_key(column, frame)
            if key is not None:
                sub = key[rows]
                if isinstance(sub, np.ndarray) and sub.dtype.kind == "f":
                    sub = np.where(np.isnan(sub), np.inf, sub)
                idx = np.argsort(sub, kind="stable")
                if order == Qt.SortOrder.DescendingOrder:
                    idx = idx[::-1]
                rows = rows[idx]
        self._rows = rows
        self._blocks.clear()
        self._cells.clear()
        self._pos = np.full(frame.height, -1, dtype=np.int64)  # row id -> view row
        self._pos[rows] = np.arange(len(rows), dtype=np.int64)

    def _sort_key(self, column: int, frame: pl.DataFrame) -> np.ndarray | None:
        name = self.column_name(column)
        if not name:
            return None
        owner = self.labels_of(column)
        if owner is not None:
            labels = self.session.evaluator.labels(owner)
            return labels if labels is not None else None
        if not self.is_rule_column(column):
            ranks = frame[name].rank(method="ordinal", descending=False).fill_null(frame.height + 1)
            return ranks.to_numpy().astype(np.float64)
        if name not in self._ev_columns():
            return None
        col = self.session.evaluator.columns[name]
        if col.result.text is not None:
            text = pl.Series(col.result.text, dtype=pl.String)
            return (
                text.rank(method="ordinal").fill_null(len(text) + 1).to_numpy().astype(np.float64)
            )
        values, p = col.result.decide(col.calibration)
        return col.result.kind.sort_key(col.result.probs, values, p)

    def _filter_mask(self, n: int) -> np.ndarray | None:
        mode, name = self._filter, self._filter_column
        if mode == FILTERS[0] or not name or name not in self._ev_columns():
            return None
        col = self.session.evaluator.columns[name]
        values, _ = col.result.decide(col.calibration)
        done = col.result.state == DONE
        if mode == "Flagged":
            return done & (values == 1.0)
        if mode == "Not flagged":
            return done & (values == 0.0)
        if mode == "Errors":
            return col.result.state == ERROR
        if mode == "Low confidence":
            return col.result.low_confidence(col.calibration)
        if mode == "Disagrees with gold":
            gold = self.session.evaluator.gold_values(name)
            keep = np.zeros(n, dtype=bool)
            if gold is not None:
                keep[disagreements(col.result, col.calibration, gold)] = True
            return keep
        return None

    # ----- engine updates -------------------------------------------------------------------

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

    def _ev_columns(self) -> dict:
        ev = self.session.evaluator
        return ev.columns if ev is not None else {}


def _display(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:,.2f}" if abs(value) < 1e15 else f"{value:g}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def cell_of(index: QModelIndex) -> Cell | None:
    value = index.data(CELL_ROLE)
    return value if isinstance(value, Cell) else None


__all__ = ["CELL_ROLE", "FILTERS", "CellState", "SheetModel", "cell_of"]


def yes_line(rule: Rule) -> str:
    """How a flag header says what a yes means: "⚑ yes = flagged", "✓ yes = on-policy"."""
    look = polarity.of(rule)
    return f"{'✓' if look.good else '⚑'} yes = {look.noun}"


def taught_tip(column) -> str:
    """How the column's labels decide it, in words (the header's tooltip)."""
    n = column.taught_from
    learned = column.decision.learned
    if column.taught_by == "learning":
        return f"Learning from your {n} labels: waiting for the labelled rows' answers."
    if learned is not None:
        agreed, total, share = learned.agreement()
        held = f"agrees with your labels, each held out: {agreed} / {total}, est. {share:.0%}"
        if learned.learned:
            return f"Learned from your {n} labels over the model's reading of each row ({held})."
        return (
            f"Your {n} labels recalibrate the model's answer: learning from its reading of "
            f"the rows did not beat that on them yet ({held})."
        )
    later = f" With a local model it learns them from {LEARN_FROM}." if column.rule.learn else ""
    if column.taught_by == "examples":
        return f"Taught from {n} labels: examples in the prompt.{later}"
    return f"Taught from {n} labels: examples in the prompt and a threshold fitted on them.{later}"
