"""The main window: welcome view, grid, formula bar, summary and history, status bar.

Rule columns, the toolbar's actions, file, model, split, marking, layout memory, the
panels and the grid's clipboard live in their own mixins (ui/rule_columns.py,
ui/window_actions.py, ui/file_actions.py, ui/model_actions.py, ui/split_actions.py,
ui/marking.py, ui/layout_memory.py, ui/panel_updates.py, ui/grid_actions.py)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from fastsheet.data.encoding import file_note
from fastsheet.data.errors import FastsheetError
from fastsheet.files.project import AppState
from fastsheet.session import Session
from fastsheet.sheet.engine import ColumnEvent, Event
from fastsheet.sheet.summary import default_breakdown
from ui.file_actions import FileActions
from ui.find_bar import FindBar
from ui.formula_bar import FormulaBar
from ui.grid_actions import GridActions
from ui.history_panel import HistoryPanel
from ui.label_next_actions import LabelNextActions
from ui.label_next_bar import LabelNextBar
from ui.layout_memory import LayoutMemory
from ui.marking import Marking
from ui.model_actions import ModelActions
from ui.navigator import Navigator
from ui.panel_updates import REFRESH_MS, PanelUpdates
from ui.reasons_actions import ReasonsActions
from ui.rule_columns import HeaderClicks, RuleColumns
from ui.sheet_model import SheetModel
from ui.split_actions import SplitActions
from ui.summary_panel import SummaryPanel
from ui.welcome import WelcomeView
from ui.window_actions import WindowActions

log = logging.getLogger(__name__)

TEACH_DELAY_MS = 800  # marking pauses this long before the rule is taught again


class MainWindow(
    RuleColumns,
    WindowActions,
    FileActions,
    ModelActions,
    SplitActions,
    Marking,
    LabelNextActions,
    ReasonsActions,
    LayoutMemory,
    PanelUpdates,
    GridActions,
    QMainWindow,
):
    """Thin: every decision is the Session's; this maps it to widgets."""

    opened = Signal()

    def __init__(self, session: Session | None, state: AppState, samples: Path) -> None:
        super().__init__()
        self.session = session
        self.state = state
        self.samples = samples
        self.model: SheetModel | None = None
        self._breakdown_default: str | None = None
        self._unsubscribe = None
        self._selected: str | None = None
        self._last_error: str | None = None
        self._pending: list[asyncio.Task] = []
        self.remember_layouts = True  # window layout per project (off for screenshots)
        self.setWindowTitle("fastsheet")
        self.setAcceptDrops(True)
        self.resize(1360, 820)
        self._build()
        self._build_actions()
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_MS)
        self._refresh_timer.timeout.connect(self._refresh_panels)
        self._visible_timer = QTimer(self)
        self._visible_timer.setSingleShot(True)
        self._visible_timer.setInterval(30)
        self._visible_timer.timeout.connect(self._report_visible)
        self._teach_pending: set[str] = set()
        self._teach_timer = QTimer(self)
        self._teach_timer.setSingleShot(True)
        self._teach_timer.setInterval(TEACH_DELAY_MS)
        self._teach_timer.timeout.connect(self.teach_now)
        self.show_welcome()

    # ----- layout ------------------------------------------------------------------------------

    def _build(self) -> None:
        self.banner = QLabel()
        self.banner.setObjectName("errorBanner")
        self.banner.setWordWrap(True)
        self.banner.hide()
        self.banner_close = QPushButton("Dismiss")
        self.banner_close.setObjectName("bannerButton")
        self.banner_close.hide()
        self.banner_close.clicked.connect(self.clear_error)

        self.welcome = WelcomeView(self.samples, self.state)
        self.welcome.openRequested.connect(lambda p: self.open_path(Path(p)))
        self.welcome.browseRequested.connect(self.open_dialog)
        self.welcome.pasteRequested.connect(self.paste_as_sheet)

        self.formula = FormulaBar()
        self.formula.ruleChanged.connect(self._formula_changed)
        self.formula.splitRequested.connect(self.split_rule)
        self.table = QTableView()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setDefaultSectionSize(
            max(26, self.table.fontMetrics().height() + 10)  # large fonts and HiDPI
        )
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.horizontalHeader().setDefaultSectionSize(140)
        self.table.horizontalHeader().setMinimumSectionSize(60)
        self.table.horizontalHeader().setSectionsClickable(True)
        self.table.horizontalHeader().setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.horizontalHeader().customContextMenuRequested.connect(self._header_menu)
        self.table.horizontalHeader().sectionDoubleClicked.connect(self._header_double_clicked)
        self._header_clicks = HeaderClicks(self.table.horizontalHeader(), self._header_clicked)
        self.table.verticalScrollBar().valueChanged.connect(lambda *_: self._visible_timer.start())
        self.act_right_answer = self._table_action(
            "✔ The answer is right", "Y", lambda: self.mark_selected(right=True)
        )
        self.act_wrong_answer = self._table_action(
            "✘ The answer is wrong", "N", lambda: self.mark_selected(right=False)
        )
        self.act_clear_mark = self._table_action("Clear mark", "U", self.clear_marks)
        self.act_why = self._table_action("Why?", "?", self.explain_selected)
        self.act_why.setShortcuts([QKeySequence("?"), QKeySequence("Shift+?")])
        self.act_copy = self._table_action("Copy", "Ctrl+C", self.copy_selection)
        self.act_select_all = self._table_action("Select all", "Ctrl+A", self.table.selectAll)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._cell_menu)
        self.find_bar = FindBar()
        self.navigator = Navigator(self.table, self.find_bar, lambda: self.session)
        self.label_bar = LabelNextBar()
        self.label_bar.answered.connect(self._label_answered)
        self.label_bar.skipped.connect(self._label_skipped)
        self.label_bar.closed.connect(self._label_closed)
        self.label_bar.learn_toggled.connect(self._label_learning)
        self._label_skips = set()

        self.summary = SummaryPanel()
        self.summary.showDisagreements.connect(self._show_disagreements)
        self.summary.breakdownRequested.connect(lambda _: self._refresh_panels())
        self.summary.thresholdDragged.connect(self._threshold_dragged)
        self.summary.histogram.thresholdReleased.connect(self._threshold_released)
        self.summary.thresholdReset.connect(self._threshold_reset)
        self.history = HistoryPanel()
        self.history.revert.connect(self._revert)
        side = QTabWidget()
        side.addTab(self.summary, "Summary")
        side.addTab(self.history, "History")
        side.setMinimumWidth(300)
        self.side = side

        splitter = self.splitter = QSplitter()
        splitter.addWidget(self.table)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 1)
        splitter.setSizes([1020, 340])

        sheet = QWidget()
        v = QVBoxLayout(sheet)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(0)
        v.addWidget(self.formula)
        v.addWidget(self.find_bar)
        v.addWidget(self.label_bar)
        v.addWidget(splitter, 1)

        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(sheet)

        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        banner_row = QHBoxLayout()
        banner_row.setContentsMargins(0, 0, 0, 0)
        banner_row.addWidget(self.banner, 1)
        banner_row.addWidget(self.banner_close)
        outer.addLayout(banner_row)
        outer.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.model_label = QLabel("Loading model…")
        self.rate_label = QLabel("")
        self.local_button = QPushButton("Use local model")
        self.local_button.setToolTip("Stop sending rows to the server: judge them on this computer")
        self.local_button.setFlat(True)
        self.local_button.clicked.connect(self.use_local_model)
        self.local_button.hide()
        self._local_path: Path | None = None  # the local model used before a server
        self.statusBar().addPermanentWidget(self.rate_label)
        self.statusBar().addPermanentWidget(self.model_label)
        self.statusBar().addPermanentWidget(self.local_button)

    # ----- messages ------------------------------------------------------------------------------

    def show_error(self, message: str) -> None:
        """An error names the problem; the current sheet stays as it is."""
        self._last_error = message
        self.banner.setText(f"⚠  {message}")
        self.banner.show()
        self.banner_close.show()
        self.statusBar().showMessage(message, 8000)
        log.warning("%s", message)

    def clear_error(self) -> None:
        self.banner.hide()
        self.banner_close.hide()

    def last_error(self) -> str | None:
        return self._last_error if self.banner.isVisible() else None

    # ----- session ----------------------------------------------------------------------------

    def set_session(self, session: Session) -> None:
        self.session = session
        self._remember_local()
        self._show_model()

    def show_welcome(self) -> None:
        self.welcome.refresh()
        self.stack.setCurrentIndex(0)

    def open_path(self, path: Path) -> asyncio.Task | None:
        """Open a file without blocking the event loop; errors keep the current sheet."""
        if self.session is None:
            self.show_error(
                "The model is still loading (or failed to load): choose one under Model…."
            )
            return None
        return self._spawn(self._open(path))

    def _spawn(self, coro) -> asyncio.Task:
        """Run a coroutine on the loop, keeping a reference until it ends."""
        task = asyncio.ensure_future(coro)
        self._pending.append(task)
        task.add_done_callback(self._pending.remove)
        return task

    async def _open(self, path: Path) -> None:
        self.statusBar().showMessage(f"Opening {path.name}…")
        loop = asyncio.get_running_loop()
        try:
            prepared = await loop.run_in_executor(None, self.session.prepare, path)
        except FastsheetError as exc:
            self.show_error(str(exc))
            return
        except OSError as exc:
            self.show_error(f"Cannot open {path.name}: {exc.strerror or exc}")
            return
        note = await loop.run_in_executor(None, file_note, prepared[1].data)
        model_problem = await self._use_project_model(prepared[1])
        self.remember_layout()  # of the sheet being replaced
        try:
            self.session.install(*prepared)
        except FastsheetError as exc:
            self.show_error(str(exc))
            return
        self.clear_error()
        self._install_sheet()
        if model_problem:
            self.show_error(model_problem)
        if note:  # what was assumed about the file, e.g. "read as cp1252 (not UTF-8)"
            self.statusBar().showMessage(f"Opened {path.name} · {note}", 15000)
        else:
            self.statusBar().showMessage(f"Opened {path.name}", 4000)
        self.opened.emit()

    def _install_sheet(self) -> None:
        session = self.session
        if self._unsubscribe:
            self._unsubscribe()
        old = self.model
        self._breakdown_default = default_breakdown(
            session.frame, exclude=session.evaluator.excluded()
        )
        self.model = SheetModel(session, self)
        self.table.setSortingEnabled(False)
        self.table.setModel(self.model)
        if old is not None:
            old.deleteLater()  # with its timers: nothing of the old sheet fires later
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.selectionModel().currentChanged.connect(self._current_changed)
        self.navigator.attach(self.model)
        self.model.visibleRowsChanged.connect(self._visible_timer.start)
        self._unsubscribe = session.evaluator.subscribe(self._on_event)
        self.setWindowTitle(
            f"fastsheet — {session.project.path.name if session.project.path else session.project.data.name}"
        )
        self._columns_changed()
        self._size_columns()
        self.stack.setCurrentIndex(1)
        self._set_sheet_actions(True)
        self._select(session.order[0] if session.order else None)
        self._restore_layout()
        self._visible_timer.start()

    def _columns_changed(self) -> None:
        if self.model is None:
            return
        widths = self._column_widths()  # what the user sized stays so
        self.model.columns_changed()
        names = list(self.session.frame.columns) + list(self.session.order)
        self.formula.set_columns(names)
        self.summary.set_columns(names, self._breakdown_default)
        self._size_columns()
        self._apply_widths(widths)
        self._refresh_panels()

    # ----- grid actions, threshold, filter, visibility ----------------------------------------

    def _table_action(self, text: str, key: str, slot) -> QAction:
        """An action whose one-key shortcut works only while the grid has focus."""
        a = QAction(text, self.table)
        a.setShortcut(QKeySequence(key))
        a.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        a.triggered.connect(slot)
        self.table.addAction(a)
        return a

    def visible_rows(self) -> np.ndarray:
        if self.model is None or not self.model.rowCount():
            return np.empty(0, dtype=np.int64)
        first = max(0, self.table.rowAt(0))
        last = self.table.rowAt(self.table.viewport().height() - 1)
        last = self.model.rowCount() - 1 if last < 0 else last
        return self.model.view_rows()[first : last + 1]

    def _report_visible(self) -> None:
        if self.session is not None and self.session.evaluator is not None:
            self.session.evaluator.set_visible(self.visible_rows())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._visible_timer.start()

    # ----- engine events --------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if self.model is None:
            return
        self.model.on_event(event)
        self.navigator.results_changed()
        started = isinstance(event, ColumnEvent) and event.kind in ("started", "learned")
        if started and event.column == self.selected_rule():  # its implied condition may move
            self.formula.show_implied(self.session.implied(event.column))
        # the header says how the rule is taught, known once its runner is made (after
        # "started", and after a condition is computed): fitted again when it completes
        sized = isinstance(event, ColumnEvent) and event.kind in ("started", "learned", "complete")
        if sized and self.model.has_rule(event.column):
            col = self.model.rule_column_index(event.column)
            self.model.headerDataChanged.emit(Qt.Orientation.Horizontal, col, col)
            header = self.table.horizontalHeader()
            header.resizeSection(col, max(header.sectionSize(col), self._fit_header(col)))
        if isinstance(event, ColumnEvent) and event.kind == "complete":
            self._flash_flips(event.column)
        if isinstance(event, ColumnEvent) and event.kind in ("learned", "complete", "started"):
            self._label_event(event.column)
        if isinstance(event, ColumnEvent) and event.kind == "error":
            if event.column == self._selected:
                self.formula.show_error(event.message)
            else:  # e.g. the server went down under a column not on show
                self.statusBar().showMessage(f"{event.column}: {event.message}", 15000)
        if isinstance(event, ColumnEvent):  # a column started, completed or failed: show it soon
            remaining = self._refresh_timer.remainingTime()  # -1 when not waiting
            self._refresh_timer.start(REFRESH_MS if remaining < 0 else min(remaining, REFRESH_MS))
        elif not self._refresh_timer.isActive():
            self._refresh_timer.start()

    # ----- closing -------------------------------------------------------------------------------

    def closeEvent(self, event) -> None:
        self.formula.flush()
        self.remember_layout()
        self._teach_timer.stop()
        if self.session is not None:
            self.session.close()
        super().closeEvent(event)
