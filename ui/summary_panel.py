"""The summary panel: count and share, running estimate, label bars, breakdown, gold agreement."""

from __future__ import annotations

import numpy as np
import polars as pl
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fastsheet.sheet.summary import FlagSummary, GoldAgreement, LabelSummary, ScoreSummary, Summary
from fastsheet.stats.calibrate import Calibration, Mode
from ui.threshold_histogram import ThresholdHistogram

THRESHOLD_SOURCES = {
    Mode.GOLD: "fitted on your labels",
    Mode.LEARNED: "p learned from your labels",
    Mode.MANUAL: "set by hand",
    Mode.MIXTURE: "fitted to this column's scores",
    Mode.CONTENT_FREE: "from empty records",
    Mode.DISTRIBUTION: "split of this column's scores",
    Mode.NONE: "default",
}


class Bars(QWidget):
    """A small horizontal bar chart: one labelled bar per label."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QFormLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._bars: dict[str, QProgressBar] = {}

    def set_counts(self, counts: dict[str, int]) -> None:
        if list(counts) != list(self._bars):
            while self._layout.rowCount():
                self._layout.removeRow(0)
            self._bars = {}
            for label in counts:
                bar = QProgressBar()
                bar.setTextVisible(True)
                bar.setMaximumHeight(16)
                self._layout.addRow(label, bar)
                self._bars[label] = bar
        total = max(1, sum(counts.values()))
        for label, count in counts.items():
            bar = self._bars[label]
            bar.setMaximum(total)
            bar.setValue(count)
            bar.setFormat(f"{count:,} ({100 * count / total:.0f}%)")


class SummaryPanel(QWidget):
    """Shows the selected rule column's summary; emits when the user asks for disagreements."""

    showDisagreements = Signal()
    breakdownRequested = Signal(str)
    thresholdDragged = Signal(float)
    thresholdReset = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Summary")
        self.title.setObjectName("panelTitle")
        self.headline = QLabel("—")
        self.headline.setObjectName("headline")
        self.headline.setWordWrap(True)
        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setMaximumHeight(14)
        self.progress.setTextVisible(False)
        self.bars = Bars()
        self.gold = QPushButton("")
        self.gold.setObjectName("goldButton")
        self.gold.setFlat(True)
        self.gold.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.gold.setToolTip("Show only the rows that disagree with the gold column")
        self.gold.clicked.connect(self.showDisagreements)
        self.gold.hide()
        self.histogram = ThresholdHistogram()
        self.histogram.thresholdChanged.connect(self.thresholdDragged)
        self.threshold_text = QLabel("")
        self.threshold_text.setObjectName("thresholdText")
        self.threshold_text.setWordWrap(True)
        self.threshold_reset = QPushButton("Reset")
        self.threshold_reset.setToolTip("Go back to the threshold fitted for this column")
        self.threshold_reset.setFlat(True)
        self.threshold_reset.clicked.connect(self.thresholdReset)
        self.by = QComboBox()
        self.by.setToolTip("Break the result down by a column")
        self.by.currentTextChanged.connect(self._by_changed)
        self.breakdown = QTableWidget(0, 3)
        self.breakdown.setHorizontalHeaderLabels(["group", "rows", "result"])
        self.breakdown.verticalHeader().hide()
        self.breakdown.horizontalHeader().setStretchLastSection(True)
        self.breakdown.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.addWidget(self.title)
        layout.addWidget(self.headline)
        layout.addWidget(self.progress)
        layout.addWidget(self.detail)
        layout.addWidget(self.bars)
        layout.addWidget(self.histogram)
        threshold_row = QHBoxLayout()
        threshold_row.addWidget(self.threshold_text, 1)
        threshold_row.addWidget(self.threshold_reset)
        layout.addLayout(threshold_row)
        layout.addWidget(self.gold)
        by_row = QHBoxLayout()
        by_row.addWidget(QLabel("Breakdown by"))
        by_row.addWidget(self.by, 1)
        layout.addLayout(by_row)
        layout.addWidget(self.breakdown, 1)

    def set_columns(self, names: list[str], preferred: str | None = None) -> None:
        current = (
            self.by.currentText() if self.by.currentText() not in ("", "(none)") else preferred
        )
        self.by.blockSignals(True)
        self.by.clear()
        self.by.addItem("(none)")
        self.by.addItems(names)
        if current in names:
            self.by.setCurrentText(current)
        self.by.blockSignals(False)

    def _by_changed(self, name: str) -> None:
        self.breakdownRequested.emit("" if name == "(none)" else name)

    def show_summary(self, name: str | None, summary: Summary | None, rows_per_s: float) -> None:
        if name is None or summary is None:
            self.title.setText("Summary")
            self.headline.setText("Add a rule column to see how many rows it flags.")
            self.detail.setText("")
            self.progress.hide()
            self.bars.hide()
            return
        self.title.setText(f"Summary · {name}")
        self.headline.setText(
            summary.text()
            if not isinstance(summary, LabelSummary)
            else f"{summary.done:,} / {summary.total:,} labelled"
        )
        running = summary.done < summary.total
        self.progress.setVisible(running)
        self.progress.setMaximum(max(1, summary.total))
        self.progress.setValue(summary.done)
        detail = []
        if running:
            detail.append(f"{summary.done:,} of {summary.total:,} rows · {rows_per_s:.1f} rows/s")
        if isinstance(summary, FlagSummary) and running and summary.done:
            detail.append(f"95% interval {100 * summary.low:.1f}%–{100 * summary.high:.1f}%")
        if isinstance(summary, ScoreSummary) and summary.done:
            detail.append(f"range of the mean {summary.low:.2f}–{summary.high:.2f}")
        self.detail.setText("\n".join(detail))
        if isinstance(summary, LabelSummary):
            self.bars.set_counts(summary.counts)
            self.bars.show()
        else:
            self.bars.hide()

    def show_threshold(
        self,
        p: np.ndarray | None,
        calibration: Calibration | None,
        labels: np.ndarray | None = None,
        taught_from: int = 0,
        good: bool = False,
    ) -> None:
        """The flag column's score histogram and threshold; hidden for other kinds
        (`good`: a yes is the good outcome, drawn green)."""
        visible = p is not None and calibration is not None
        for widget in (self.histogram, self.threshold_text):
            widget.setVisible(visible)
        self.threshold_reset.setVisible(visible and calibration.mode is Mode.MANUAL)
        if not visible:
            return
        self.histogram.set_scores(p, calibration.threshold, labels, good)
        source = THRESHOLD_SOURCES.get(calibration.mode, calibration.mode.value)
        if calibration.mode is Mode.GOLD and taught_from:
            source = f"fitted on {taught_from:,} labels"
        elif calibration.mode is Mode.LEARNED and taught_from:
            source = f"p learned from {taught_from:,} labels"
        known = labels is not None and bool((~np.isnan(labels)).any())
        self.threshold_text.setText(
            f"Flag when p(yes) ≥ {calibration.threshold:.3g} ({source}). Drag the line to "
            "change it."
            + (
                f" Circles: rows you labeled yes ({'green' if good else 'red'}) or no "
                f"({'red' if good else 'green'})."
                if known
                else ""
            )
        )

    def show_gold(
        self, agreement: GoldAgreement | None, held_out: tuple[int, int, float] | None = None
    ) -> None:
        """Agreement with the known answers; `held_out` (agreed, of, share): the rule learned
        them, so each one predicted with it held out is the honest figure, shown first."""
        if agreement is None or agreement.n == 0:
            self.gold.hide()
            return
        text = (
            f"Gold: {agreement.matches:,}/{agreement.n:,} match ({100 * agreement.accuracy:.0f}%)"
        )
        if held_out is not None:
            agreed, n, share = held_out
            text = (
                f"Held out: {agreed:,}/{n:,} match ({share:.0%})\n"
                f"learned from: {agreement.matches:,}/{agreement.n:,} match"
            )
        if agreement.binary is not None and held_out is None:
            b = agreement.binary
            text += f"\nprecision {_ratio(b.precision)} · recall {_ratio(b.recall)}"
        self.gold.setText(text)
        self.gold.show()

    def show_breakdown(self, table: pl.DataFrame | None) -> None:
        if table is None or table.is_empty():
            self.breakdown.setRowCount(0)
            return
        table = table.head(50)
        self.breakdown.setRowCount(table.height)
        by = table.columns[0]
        for i, row in enumerate(table.iter_rows(named=True)):
            result = (
                f"{row['flagged']:,} ({100 * row['share']:.0f}%)"
                if "flagged" in row
                else f"{row['mean']:.2f}"
            )
            for j, value in enumerate((str(row[by]), f"{row['rows']:,}", result)):
                item = QTableWidgetItem(value)
                if j:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.breakdown.setItem(i, j, item)
        self.breakdown.resizeColumnsToContents()


def _ratio(value: float) -> str:
    """A ratio for display; undefined (nothing flagged yet) shows as a dash."""
    return "—" if value != value else f"{value:.2f}"
